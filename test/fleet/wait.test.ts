import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { UnrecoverableError, type Job } from "bullmq";
import { ErrorCode, MemzipError } from "../../src/errors.js";
import { Worker } from "../../src/fleet/bullmq.js";
import { chunkFailure, connectionFor, enqueueImport, openImportQueue, queueNameFor, type ChunkPayload, type ChunkResult, type ImportProgressEvent } from "../../src/fleet/queue.js";
import { tempDir } from "../helpers.js";
import { redisSkip, startRedis, type RedisService } from "../services/redis.js";

const skip = redisSkip();

/**
 * An import's wait looks at its first pending chunk at each poll (and the next ones while they are
 * complete), and at every pending chunk only every few seconds: these chunks are coded by a BullMQ
 * worker of the test's own, on a real Redis, that finishes them out of order or fails one.
 */
describe("waiting for a queued import", { skip }, () => {
  const records = [{ text: "first chunk's record" }, { text: "second chunk's record" }, { text: "third chunk's record" }];
  const result = (job: Job<ChunkPayload, ChunkResult>): ChunkResult => ({ written: 1, stored: 1, updated: 0, unchanged: 0, originalBytes: 10 + job.data.index, storedBytes: 5, worker: `t${job.data.index}` });

  it("counts every chunk when a later one completes before the first", { timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const location = join(dir.path, "store.db");
    let releaseFirst: () => void = () => undefined;
    const firstHeld = new Promise<void>((done) => (releaseFirst = done));
    const completed: number[] = [];
    const worker = new Worker<ChunkPayload, ChunkResult>(
      queueNameFor(location),
      async (job) => {
        if (job.data.index === 0) await firstHeld;
        return result(job);
      },
      { connection: connectionFor(redis.url), concurrency: 3 },
    );
    worker.on("completed", (job) => {
      completed.push(job.data.index);
      // Chunk 0 finishes only after the two behind it.
      if (completed.length === 2) releaseFirst();
    });
    const handle = await enqueueImport(records, { queue: redis.url, location, importId: "out-of-order", chunkRecords: 1 });
    try {
      const events: ImportProgressEvent[] = [];
      const report = await handle.wait({ onProgress: (event) => events.push(event) });
      assert.equal(completed.length, 3);
      assert.equal(completed.at(-1), 0, "chunk 0 completed last");
      assert.deepEqual(
        { chunks: report.chunks, records: report.records, written: report.written, stored: report.stored, originalBytes: report.originalBytes, byWorker: report.byWorker },
        { chunks: 3, records: 3, written: 3, stored: 3, originalBytes: 33, byWorker: { t0: 1, t1: 1, t2: 1 } },
      );
      assert.deepEqual(events.at(-1), { chunks: 3, chunksDone: 3, records: 3, recordsDone: 3, originalBytes: 33, storedBytes: 15 });
    } finally {
      await handle.close();
      await worker.close();
    }
  });

  it("rejects, naming the chunk, when a later chunk fails for good while the first is still running", { timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const location = join(dir.path, "store.db");
    let releaseFirst: () => void = () => undefined;
    const firstHeld = new Promise<void>((done) => (releaseFirst = done));
    const worker = new Worker<ChunkPayload, ChunkResult>(
      queueNameFor(location),
      async (job) => {
        if (job.data.index === 0) await firstHeld;
        if (job.data.index === 1) throw new Error("this chunk cannot be coded");
        return result(job);
      },
      { connection: connectionFor(redis.url), concurrency: 3 },
    );
    const handle = await enqueueImport(records, { queue: redis.url, location, importId: "later-fails", chunkRecords: 1, attempts: 1 });
    try {
      // Chunk 0 stays active until the wait has ended: only the sweep of every pending chunk sees chunk 1.
      // Bounded: were chunk 1 never looked at, the wait would end here as E_ABORTED instead.
      await assert.rejects(handle.wait({ signal: AbortSignal.timeout(30_000) }), (error: unknown) => {
        assert.ok(error instanceof MemzipError);
        assert.equal(error.code, ErrorCode.BACKEND_REJECTED);
        assert.match(error.message, /chunk 1 failed after 1 attempts: this chunk cannot be coded/);
        return true;
      });
    } finally {
      releaseFirst();
      await handle.close();
      await worker.close();
    }
  });
  it("rejects when a chunk failed for good with attempts left (BullMQ's failed is final: an unrecoverable error)", { timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const location = join(dir.path, "store.db");
    const worker = new Worker<ChunkPayload, ChunkResult>(
      queueNameFor(location),
      async (job) => {
        if (job.data.index === 0) throw new UnrecoverableError("a poison chunk");
        return result(job);
      },
      { connection: connectionFor(redis.url), concurrency: 2 },
    );
    const handle = await enqueueImport(records.slice(0, 2), { queue: redis.url, location, importId: "poison", chunkRecords: 1, attempts: 5 });
    try {
      // Bounded: were a failed chunk with attempts left waited on, the wait would end here as E_ABORTED instead.
      await assert.rejects(handle.wait({ signal: AbortSignal.timeout(30_000) }), (error: unknown) => {
        assert.ok(error instanceof MemzipError);
        assert.equal(error.code, ErrorCode.BACKEND_REJECTED);
        assert.match(error.message, /chunk 0 failed after 1 attempts: a poison chunk/);
        return true;
      });
    } finally {
      await handle.close();
      await worker.close();
    }
  });

  it("rejects with the worker's own error code when its store failed the chunk, not as a rejected backend", { timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const location = join(dir.path, "store.db");
    const worker = new Worker<ChunkPayload, ChunkResult>(
      queueNameFor(location),
      async () => {
        throw chunkFailure(new MemzipError(ErrorCode.STORE, "the store's server closed the connection"));
      },
      { connection: connectionFor(redis.url), concurrency: 1 },
    );
    const handle = await enqueueImport(records.slice(0, 1), { queue: redis.url, location, importId: "store-down", chunkRecords: 1, attempts: 1 });
    try {
      await assert.rejects(handle.wait({ signal: AbortSignal.timeout(30_000) }), (error: unknown) => {
        assert.ok(error instanceof MemzipError);
        assert.equal(error.code, ErrorCode.STORE);
        assert.match(error.message, /chunk 0 failed after 1 attempts: E_STORE: the store's server closed the connection/);
        return true;
      });
    } finally {
      await handle.close();
      await worker.close();
    }
  });

  it("counts the chunks that ran more than once, whose counts are their last run's (trial: 3 new memories reported as 0 written, 3 unchanged)", { timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const location = join(dir.path, "store.db");
    let tries = 0;
    const worker = new Worker<ChunkPayload, ChunkResult>(
      queueNameFor(location),
      async (job) => {
        if (job.data.index === 1 && ++tries === 1) throw new Error("a first attempt that fails");
        return result(job);
      },
      { connection: connectionFor(redis.url), concurrency: 1 },
    );
    const handle = await enqueueImport(records.slice(0, 3), { queue: redis.url, location, importId: "rerun", chunkRecords: 1, attempts: 2 });
    try {
      const report = await handle.wait({ signal: AbortSignal.timeout(45_000) });
      assert.equal(report.chunks, 3);
      assert.equal(report.rerunChunks, 1);
      assert.equal(tries, 2);
    } finally {
      await handle.close();
      await worker.close();
    }
  });

  it("fails a chunk whose worker refused it as a usage error at once, with the fix, not after its retries (trial: 63 chunks × 5 attempts, ~30 s, for a missing --model)", { timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const location = join(dir.path, "store.db");
    let attempts = 0;
    const worker = new Worker<ChunkPayload, ChunkResult>(
      queueNameFor(location),
      async () => {
        attempts++;
        throw chunkFailure(new MemzipError(ErrorCode.USAGE, "the llm codec needs a model", { hint: "Pass --model NAME|PATH." }));
      },
      { connection: connectionFor(redis.url), concurrency: 1 },
    );
    const handle = await enqueueImport(records.slice(0, 1), { queue: redis.url, location, importId: "usage", chunkRecords: 1, attempts: 5 });
    try {
      await assert.rejects(handle.wait({ signal: AbortSignal.timeout(30_000) }), (error: unknown) => {
        assert.ok(error instanceof MemzipError);
        assert.equal(error.code, ErrorCode.USAGE);
        assert.match(error.message, /chunk 0 failed after 1 attempts: E_USAGE: the llm codec needs a model \(fix: Pass --model NAME\|PATH\.\)/);
        return true;
      });
      assert.equal(attempts, 1, "not retried");
    } finally {
      await handle.close();
      await worker.close();
    }
  });

  it("leaves the chunk being filled out of the queue when the reading is stopped, so the run that resumes enqueues it whole", { timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const location = join(dir.path, "store.db");
    const lines = Array.from({ length: 6 }, (_, i) => ({ text: `line ${i + 1}` }));
    // A reader as readJsonlRecords is: stopped by the signal, it ends as if the file ended (here after five lines).
    const controller = new AbortController();
    const stoppedAfterFive = async function* () {
      for (const [i, record] of lines.entries()) {
        if (controller.signal.aborted) return;
        yield record;
        if (i === 4) controller.abort();
      }
    };
    const queue = openImportQueue(redis.url, location);
    try {
      // A handle (the old behaviour: the partial chunk enqueued) is closed, so that the failure is reported rather than hanging on its connection.
      const stopped = enqueueImport(stoppedAfterFive(), { queue: redis.url, location, importId: "stopped", chunkRecords: 2, signal: controller.signal }).then(async (handle) => {
        await handle.close();
        return handle;
      });
      await assert.rejects(stopped, (error: unknown) => {
        assert.ok(error instanceof MemzipError);
        assert.equal(error.code, ErrorCode.ABORTED);
        assert.match(error.hint ?? "", /run the same import again/);
        assert.deepEqual(error.details, { chunks: 2, records: 4 });
        return true;
      });
      assert.deepEqual(
        await Promise.all([0, 1, 2].map(async (index) => (await queue.getJob(`stopped-${index}`))?.data.records.length)),
        [2, 2, undefined],
        "the two whole chunks are queued, the half-filled third is not",
      );
      // The same import again, read to its end: the queued chunks are left as they are, the third holds lines 5 and 6.
      const handle = await enqueueImport(lines, { queue: redis.url, location, importId: "stopped", chunkRecords: 2 });
      await handle.close();
      assert.equal(handle.records, 6);
      assert.deepEqual((await queue.getJob("stopped-2"))?.data.records, lines.slice(4));
    } finally {
      await queue.close();
    }
  });
});

/**
 * Redis gone while an import is enqueued or waited for: BullMQ's commands wait through reconnections,
 * for ever on a worker's connection. An import's own connection fails after PRODUCER_RETRIES (~10 s of
 * Redis refusing) with E_BACKEND_UNAVAILABLE naming what was queued, and its signal stops any command at once.
 */
describe("a queued import whose Redis goes away", { skip }, () => {
  const lines = Array.from({ length: 4 }, (_, i) => ({ text: `line ${i + 1}` }));
  /** Yields the first chunk's records with Redis up, stops Redis, then yields the second chunk's (`then` runs before its last record). */
  const stopsRedisAfterTwo = (redis: RedisService, then: () => void = () => undefined) =>
    async function* () {
      yield* lines.slice(0, 2);
      await redis.stop();
      yield lines[2] as { text: string };
      then();
      yield lines[3] as { text: string };
    };
  const isUnavailable = (redis: RedisService, stage: RegExp) => (error: unknown) => {
    assert.ok(error instanceof MemzipError, String(error));
    assert.equal(error.code, ErrorCode.BACKEND_UNAVAILABLE, error.message);
    assert.match(error.message, stage);
    assert.match(error.message, new RegExp(`Redis at ${redis.url} stopped answering .*ECONNREFUSED`));
    assert.match(error.hint ?? "", /when Redis answers again, run the same import again/i);
    return true;
  };

  it("a signal stops the enqueueing while a chunk waits for the absent Redis: E_ABORTED with the chunks Redis confirmed", { timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const controller = new AbortController();
    // The abort comes while the second chunk's first command waits (it would wait ~10 s before failing on its own).
    const records = stopsRedisAfterTwo(redis, () => setTimeout(() => controller.abort(), 100));
    const enqueued = enqueueImport(records(), { queue: redis.url, location: join(dir.path, "store.db"), importId: "signal", chunkRecords: 2, signal: controller.signal });
    await assert.rejects(enqueued, (error: unknown) => {
      assert.ok(error instanceof MemzipError, String(error));
      assert.equal(error.code, ErrorCode.ABORTED, error.message);
      assert.match(error.message, /stopped while enqueueing, after 1 whole chunks/);
      assert.deepEqual(error.details, { chunks: 1, records: 2 });
      return true;
    });
  });

  it("Redis refusing for good while enqueueing: E_BACKEND_UNAVAILABLE naming the address, the cause and the chunks queued", { timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const enqueued = enqueueImport(stopsRedisAfterTwo(redis)(), { queue: redis.url, location: join(dir.path, "store.db"), importId: "gone", chunkRecords: 2 });
    await assert.rejects(enqueued, (error: unknown) => {
      isUnavailable(redis, /import gone: .* while enqueueing/)(error);
      assert.deepEqual((error as MemzipError).details, { queue: redis.url, chunks: 1, records: 2 });
      return true;
    });
  });

  it("Redis gone while the import is waited for: E_BACKEND_UNAVAILABLE after the retries, E_ABORTED at once on the signal", { timeout: 60_000 }, async () => {
    using dir = tempDir();
    await using redis = await startRedis({ evictionPolicy: "noeviction" });
    const location = join(dir.path, "store.db");
    // No worker: the chunks stay queued, so the wait polls until Redis goes away.
    const handle = await enqueueImport(lines, { queue: redis.url, location, importId: "waited", chunkRecords: 2 });
    try {
      await redis.stop();
      await assert.rejects(handle.wait(), isUnavailable(redis, /import waited: .* while the import was waited for/));
      const controller = new AbortController();
      const waited = handle.wait({ signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      await assert.rejects(waited, (error: unknown) => error instanceof MemzipError && error.code === ErrorCode.ABORTED && /stopped waiting/.test(error.message));
    } finally {
      await handle.close();
    }
  });
});
