/**
 * Imports spread over worker processes: records are cut into chunks, each chunk one BullMQ job on
 * a queue named per store. A chunk's job id is the import's id and the chunk's index, so enqueueing
 * the same import again adds nothing that is already there: completed chunks are skipped (resume),
 * failed ones are retried. Workers (`worker.ts`) code and commit each chunk in one transaction.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { ConnectionOptions, Job, Queue as BullQueue } from "bullmq";
import type { WriteCodecName } from "../core/vocabulary.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { FirstBy } from "../core/first-by.js";
import { storeFileMark } from "../core/store-identity.js";
import type { MemoryInput } from "../pipeline/records.js";
import { Queue, UnrecoverableError } from "./bullmq.js";
import { Redis } from "ioredis";

/**
 * Records per chunk unless the caller says otherwise: the profile's batch size, so a worker groups
 * similar memories in the same batches as a local import does (a chunk is one batch: its size
 * changes the grouping, hence the work and the result). Bigger chunks also leave workers idle at the
 * end of an import (BENCHMARKS.md, "Worker fleet").
 */
export const DEFAULT_CHUNK_RECORDS = 32;

/** What one job carries: the records themselves (machine-independent; no shared file needed). */
export interface ChunkPayload {
  importId: string;
  index: number;
  namespace?: string;
  codec?: WriteCodecName;
  records: MemoryInput[];
  /** The enqueuer's store file (`storeFileMark`), where its store is a file: a worker of another file refuses the chunk. */
  storeFile?: string;
}

/** What a worker reports for a chunk (the job's return value). */
export interface ChunkResult {
  /** stored + updated. */
  written: number;
  /** Records new to the store, and records that replaced a stored one (absent from workers of an older build). */
  stored?: number;
  updated?: number;
  /** Of `updated`: records whose stored text no longer read back (damaged), written again (absent from older workers and where none). */
  repaired?: number;
  unchanged: number;
  originalBytes: number;
  storedBytes: number;
  worker: string;
  /**
   * Records the worker refused as a local import refuses them (E_INVALID_INPUT: too large for this worker's
   * `maxTextBytes`, a tag its store cannot keep, …), by their index in the chunk; the chunk's other records are
   * written. Absent from workers of an older build (they failed the whole chunk).
   */
  rejected?: ChunkRejection[];
}

/**
 * What a worker fails a chunk with: BullMQ keeps only an error's message (`failedReason`), so a memzip
 * error's code goes in front of it, and the import that waits reads it back (`failedChunkCode`).
 */
export function chunkFailure(error: unknown): unknown {
  if (!(error instanceof MemzipError)) return error;
  const reason = `${error.code}: ${error.message}${error.hint ? ` (fix: ${error.hint})` : ""}`;
  // A usage error (a setting the chunk was queued with) fails every attempt alike: not retried.
  return error.code === ErrorCode.USAGE ? new UnrecoverableError(reason) : new Error(reason, { cause: error });
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** The memzip error code a failed chunk's reason starts with; E_BACKEND_REJECTED for any other failure. */
export function failedChunkCode(reason: string | undefined): ErrorCode {
  const code = /^(E_[A-Z_]+): /.exec(reason ?? "")?.[1];
  return code !== undefined && KNOWN_CODES.has(code) ? (code as ErrorCode) : ErrorCode.BACKEND_REJECTED;
}

/** A record of a chunk that a worker refused. */
export interface ChunkRejection {
  /** Its index in the chunk. */
  record: number;
  code: string;
  message: string;
}

/** BullMQ connection settings for a `redis://` URL (workers need `maxRetriesPerRequest: null`). */
export function connectionFor(url: string): ConnectionOptions {
  if (!/^rediss?:\/\/./.test(url)) {
    throw new MemzipError(ErrorCode.USAGE, `--queue must be a redis:// URL, got ${JSON.stringify(url)}`, { hint: "Pass the Redis server that holds the queue, e.g. --queue redis://127.0.0.1:6379." });
  }
  return { url, maxRetriesPerRequest: null };
}

/** How long a command waits for the queue's Redis to answer at start before it says it cannot reach it. */
export const QUEUE_CONNECT_TIMEOUT_MS = 5_000;

/**
 * Checks at start that the queue's Redis answers (one connection, one PING, no retries): BullMQ's
 * clients retry forever, so without it an import, a worker or a server pointed at no Redis waits
 * without a word. Throws `E_BACKEND_UNAVAILABLE` naming the address (never its password) and the fix.
 */
export async function checkQueueReachable(url: string, timeoutMs = QUEUE_CONNECT_TIMEOUT_MS): Promise<void> {
  connectionFor(url);
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, …) says more than the "Connection is closed" connect() rejects with.
  let socketError: Error | undefined;
  client.on("error", (error: Error) => (socketError ??= error));
  try {
    await client.connect();
    await client.ping();
  } catch (thrown) {
    const where = redisAddress(url);
    const cause = socketError ?? thrown;
    throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `cannot reach the queue's Redis at ${where}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      hint: "Start Redis there (e.g. `redis-server --port 6379`), or pass the right --queue URL; without --queue an import runs in this process.",
      details: { queue: where },
      cause,
    });
  } finally {
    client.disconnect();
  }
}

/** A redis:// URL for messages: scheme, host and port, never a user or password. */
function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "(an unparsable URL)";
  }
}

/**
 * The queue of one store: a hash of its location (a path resolved to an absolute one, or a connection string), so
 * every process on that store meets on the same queue. Two machines with the same path (or `localhost`) on one Redis
 * share a queue: a chunk of a file store carries the file's mark (`storeFileMark`), and a worker of another file
 * refuses it. Chunks that need a model go to `<queue>-model-<fingerprint>` (`modelQueueName`).
 */
export function queueNameFor(location: string): string {
  const identity = location.includes("://") ? location : resolve(location);
  return `memzip-import-${createHash("sha256").update(identity).digest("hex").slice(0, 16)}`;
}

/**
 * The queue a worker that has model `model` (a fingerprint or name) also takes work from: a worker
 * advertises a model by subscribing to that queue, so `llm` chunks go only to workers that hold it.
 */
export function modelQueueName(location: string, model: string): string {
  return `${queueNameFor(location)}-model-${createHash("sha256").update(model).digest("hex").slice(0, 12)}`;
}

export interface EnqueueOptions {
  /** The queue's Redis (`redis://…`). */
  queue: string;
  /** The store's location (`engine.location`, or the `--db` value): names the queue. */
  location: string;
  /** Names the import; the same id again resumes it. Derive it from the source (`importIdFor`). */
  importId: string;
  chunkRecords?: number;
  namespace?: string;
  codec?: WriteCodecName;
  /** Chunks go to the workers that advertise this model (`modelQueueName`). */
  model?: string;
  /**
   * An open queue of this store (`openImportQueue`) to enqueue on, kept open by its owner (a server
   * keeps one for every import); without it a connection is opened here and closed by `close()`.
   */
  producer?: ImportQueue;
  /** Retries of a chunk that fails (a worker's error; a killed worker's chunk is moved back by the stalled check, not counted here). Defaults to 5. */
  attempts?: number;
  /**
   * The signal that stops the reading of `records` (give the reader the same one). A reader stopped
   * early ends as if the records ended, so once it is aborted the chunk being filled is not enqueued:
   * under its id it would stand for its whole part of the import, and a resumed import skips a
   * completed chunk. The enqueueing then rejects with E_ABORTED (details: the whole `chunks` queued and
   * their `records`); the chunks already queued are coded. It also stops a command that waits for an
   * absent Redis. Without `producer`, a Redis that stops answering for ~10 s (`PRODUCER_RETRIES`) rejects
   * with E_BACKEND_UNAVAILABLE, the same details (and so does `wait`).
   */
  signal?: AbortSignal;
}

export interface ImportProgressEvent {
  chunks: number;
  chunksDone: number;
  records: number;
  recordsDone: number;
  /** Bytes of the completed chunks' texts, and what they were stored in. */
  originalBytes: number;
  storedBytes: number;
  /**
   * Workers connected to the queue, as Redis last told (looked at every sweep); absent before the first look or where
   * Redis does not say (CLIENT LIST refused). 0 while chunks wait: nothing will take them (no `memzip worker` on this
   * store's queue, or one started with the store spelled otherwise).
   */
  workers?: number;
}

export interface FleetImportReport {
  importId: string;
  chunks: number;
  records: number;
  /** Chunks that were already complete when this run enqueued (a resumed import). */
  skippedChunks: number;
  /** The counts below are of every chunk of the import, those an earlier run completed too. */
  written: number;
  stored: number;
  updated: number;
  /** Of `updated`: records whose stored text no longer read back (a damaged envelope), coded again. */
  repaired: number;
  unchanged: number;
  originalBytes: number;
  storedBytes: number;
  /** Records per worker name, for the report and the bench. */
  byWorker: Record<string, number>;
  /**
   * Chunks that were started more than once (a worker stalled or died and another ran the chunk, or a failed attempt
   * was retried): their counts are their last run's, which finds the records an earlier run committed unchanged.
   */
  rerunChunks: number;
  /**
   * The first `MAX_QUEUED_REJECTIONS` records the workers refused, in order, `record` their 0-based position in the
   * import (the order they were enqueued); `rejectedCount` counts them all.
   */
  rejected: ChunkRejection[];
  rejectedCount: number;
}

/** Rejections an import's report lists (the pipeline's MAX_REJECTIONS_LISTED): the rest are counted. */
export const MAX_QUEUED_REJECTIONS = 1000;

/** A stable id for an import of `source` (a path with size and mtime, say) with these settings. */
export function importIdFor(...parts: readonly (string | number | undefined)[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
}

/** An enqueued import: wait for it, or close the queue connection. */
export interface ImportHandle {
  importId: string;
  chunks: number;
  records: number;
  skippedChunks: number;
  /**
   * Resolves when every chunk is complete; rejects naming the chunk when one failed for good, with the
   * code of the worker's memzip error (E_STORE when its store failed, say), else E_BACKEND_REJECTED.
   * `pollMs`: the longest wait between two looks at the pending chunks (default 200; shorter when few
   * are pending).
   */
  wait(options?: { onProgress?: (event: ImportProgressEvent) => void; signal?: AbortSignal; pollMs?: number }): Promise<FleetImportReport>;
  close(): Promise<void>;
}

/** A producer's connection to the import queue of one store. */
export type ImportQueue = BullQueue<ChunkPayload, ChunkResult>;

/**
 * The import queue of the store at `location` on Redis `queue` (`redis://…`); the caller closes it.
 * Its commands wait while Redis is away, for ever (a server's queue: Redis may come back).
 */
export function openImportQueue(queue: string, location: string, model?: string): ImportQueue {
  return new Queue<ChunkPayload, ChunkResult>(importQueueName(location, model), { connection: connectionFor(queue) });
}

export function importQueueName(location: string, model?: string): string {
  return model ? modelQueueName(location, model) : queueNameFor(location);
}

/**
 * An import's own connection tries Redis again once a second, and a command waits through
 * PRODUCER_RETRIES tries (~10 s of Redis refusing) before it fails: an import a person waits for
 * says that Redis is gone instead of waiting for ever, as a worker's and a server's connections do.
 */
export const PRODUCER_RETRIES = 10;
const PRODUCER_RETRY_MS = 1_000;

/**
 * A queue on a connection of its own, which `close()` quits when Redis answers and drops at once when
 * it does not: BullMQ's own `disconnect()` waits for an end that a connection between two retries never reports.
 */
function openOwnImportQueue(queue: string, location: string, model?: string): { queue: ImportQueue; close(): Promise<void> } {
  connectionFor(queue);
  const client = new Redis(queue, { maxRetriesPerRequest: PRODUCER_RETRIES, retryStrategy: () => PRODUCER_RETRY_MS });
  // A client passed in is shared: BullMQ's close leaves it open, for this function's close to end.
  const own = new Queue<ChunkPayload, ChunkResult>(importQueueName(location, model), { connection: client });
  return {
    queue: own,
    async close() {
      await own.close();
      if (client.status === "ready") await client.quit();
      else client.disconnect();
    },
  };
}

/** ioredis's ways of saying a command will not be answered: the connection is gone, or was retried past its bound. */
function isConnectionLoss(error: unknown): error is Error {
  return error instanceof Error && (error.name === "MaxRetriesPerRequestError" || /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE/.test(error.message));
}

/**
 * A command to the queue's Redis, awaited until it is answered, or until the signal stops the wait
 * (`stopped()`: the error to reject with; the command is left to fail on its own when its
 * connection closes). A lost connection rejects with `unreachable(the last socket error)`.
 */
function answered<T>(command: Promise<T>, signal: AbortSignal | undefined, stopped: () => MemzipError, unreachable: (cause: Error) => MemzipError, lastError: () => Error | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(stopped());
    if (signal?.aborted) abort();
    signal?.addEventListener("abort", abort, { once: true });
    command
      .then(resolve, (error: unknown) => reject(isConnectionLoss(error) ? unreachable(lastError() ?? error) : error))
      .finally(() => signal?.removeEventListener("abort", abort));
  });
}

/**
 * Cuts `records` into chunks and puts them on the store's queue (the function `memzip import
 * --queue` calls, and the one a server calls for a queued import). Records are streamed: at most
 * one chunk is held at a time.
 */
export async function enqueueImport(records: AsyncIterable<MemoryInput> | Iterable<MemoryInput>, options: EnqueueOptions): Promise<ImportHandle> {
  const chunkRecords = options.chunkRecords ?? DEFAULT_CHUNK_RECORDS;
  const storeFile = storeFileMark(options.location);
  // The caller's producer stays open; a connection of the import's own is ended by `close`.
  const { queue, close: closeQueue } = options.producer ? { queue: options.producer, close: async () => undefined } : openOwnImportQueue(options.queue, options.location, options.model);
  // The connection's errors (refused, reset) are kept, not printed: the last one names why a command failed.
  let lastError: Error | undefined;
  const onError = (error: Error) => void (lastError = error);
  queue.on("error", onError);
  const close = async () => {
    queue.off("error", onError);
    await closeQueue();
  };
  const where = redisAddress(options.queue);
  const unreachable = (stage: string, hint: string) => (cause: Error) =>
    new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `import ${options.importId}: the queue's Redis at ${where} stopped answering ${stage}: ${cause.message}`, {
      hint,
      details: { queue: where, ...queuedSoFar() },
      cause,
    });
  const sizes: number[] = [];
  /** The chunks whose enqueueing Redis confirmed (a chunk in flight when the enqueueing stopped may be there too). */
  let queuedChunks = 0;
  const queuedSoFar = () => ({ chunks: queuedChunks, records: sizes.slice(0, queuedChunks).reduce((a, b) => a + b, 0) });
  const stoppedEnqueueing = () =>
    new MemzipError(ErrorCode.ABORTED, `import ${options.importId}: stopped while enqueueing, after ${queuedChunks} whole chunks`, {
      hint: "The chunks already queued are coded by the workers; run the same import again to enqueue the rest (completed chunks are skipped).",
      details: queuedSoFar(),
    });
  const lostWhileEnqueueing = unreachable("while enqueueing", "The chunks already queued stay queued; when Redis answers again, run the same import again: it enqueues the rest (completed chunks are skipped).");
  const ask = <T>(command: Promise<T>) => answered(command, options.signal, stoppedEnqueueing, lostWhileEnqueueing, () => lastError);
  let skippedChunks = 0;
  const push = async (chunk: MemoryInput[]) => {
    const index = sizes.length;
    sizes.push(chunk.length);
    const jobId = `${options.importId}-${index}`;
    // Every chunk is looked up: a resumed import skips the completed ones and retries the failed ones
    // (completed chunks leave the queue after a week, failed ones stay, so chunk 0 alone cannot tell).
    const existing = await ask(queue.getJob(jobId));
    if (existing) {
      const state = await ask(existing.getState());
      if (state === "completed") skippedChunks++;
      else if (state === "failed") await ask(existing.retry("failed"));
      queuedChunks++;
      return;
    }
    const payload: ChunkPayload = {
      importId: options.importId,
      index,
      records: chunk,
      ...(storeFile === undefined ? {} : { storeFile }),
      ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(options.codec ? { codec: options.codec } : {}),
    };
    await ask(
      queue.add("chunk", payload, {
        jobId,
        attempts: options.attempts ?? 5,
        // 2, 4, 8, 16 s between the 5 attempts: a chunk outlives a store's routine restart (~30 s; trial41: at 0.5 s
        // the 5 attempts were spent in under 8 s and a 25 s PostgreSQL restart failed the import).
        backoff: { type: "exponential", delay: 2000 },
        // Completed chunks stay a week (resume skips them; the records are dropped from Redis with them).
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: false,
      }),
    );
    queuedChunks++;
  };
  try {
    let chunk: MemoryInput[] = [];
    for await (const record of records) {
      chunk.push(record);
      if (chunk.length >= chunkRecords) {
        await push(chunk);
        chunk = [];
      }
    }
    if (options.signal?.aborted) throw stoppedEnqueueing();
    if (chunk.length) await push(chunk);
  } catch (error) {
    await close();
    throw error;
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  return {
    importId: options.importId,
    chunks: sizes.length,
    records: total,
    skippedChunks,
    wait: (waitOptions = {}) => {
      const stoppedWaiting = () =>
        new MemzipError(ErrorCode.ABORTED, `import ${options.importId}: stopped waiting; the workers go on with the queued chunks`, { hint: "Run the same import again to wait for it (completed chunks are skipped)." });
      const lostWhileWaiting = unreachable("while the import was waited for", "When Redis answers again, run the same import again: it waits for the chunks still queued and enqueues again any Redis lost (completed chunks are skipped).");
      const ask = <T>(command: Promise<T>) => answered(command, waitOptions.signal, stoppedWaiting, lostWhileWaiting, () => lastError);
      return waitForChunks(queue, options.importId, sizes, skippedChunks, waitOptions, ask, stoppedWaiting);
    },
    close,
  };
}

/** The shortest wait between two polls of an import's chunks, and the wait per pending chunk. */
const MIN_POLL_MS = 20;
const POLL_MS_PER_CHUNK = 8;
/** How often every pending chunk is looked at, not only the first (a later chunk that failed for good, progress out of order). */
const SWEEP_MS = 5_000;

async function waitForChunks(
  queue: BullQueue<ChunkPayload, ChunkResult>,
  importId: string,
  sizes: readonly number[],
  skippedChunks: number,
  options: { onProgress?: (event: ImportProgressEvent) => void; signal?: AbortSignal; pollMs?: number },
  ask: <T>(command: Promise<T>) => Promise<T>,
  stopped: () => MemzipError,
): Promise<FleetImportReport> {
  const report: FleetImportReport = { importId, chunks: sizes.length, records: sizes.reduce((a, b) => a + b, 0), skippedChunks, written: 0, stored: 0, updated: 0, repaired: 0, unchanged: 0, originalBytes: 0, storedBytes: 0, byWorker: {}, rerunChunks: 0, rejected: [], rejectedCount: 0 };
  const rejected = new FirstBy<ChunkRejection>(MAX_QUEUED_REJECTIONS, (r) => r.record);
  const offsets: number[] = [];
  sizes.reduce((offset, size, index) => ((offsets[index] = offset), offset + size), 0);
  // In index order: the queue hands out chunks first in, first out, so they complete roughly in order.
  const pending = new Set(sizes.map((_, index) => index));
  let recordsDone = 0;
  const pollMs = options.pollMs ?? 200;
  let reportedPending = -1;
  let reportedAt = 0;
  let sweptAt = Date.now();
  let workers: number | undefined;
  /** How many workers Redis says are connected to the queue; undefined where it does not say. */
  const countWorkers = async (): Promise<number | undefined> => {
    try {
      return await ask(queue.getWorkersCount());
    } catch (error) {
      if (error instanceof MemzipError && error.code === ErrorCode.ABORTED) throw error;
      return undefined;
    }
  };
  /** Looks at one chunk in state `state`: true when it is complete (and counted), false while it is not; throws when it failed for good. */
  const settle = async (index: number, state: string): Promise<boolean> => {
    if (state !== "completed" && state !== "failed" && state !== "unknown") return false;
    const job: Job<ChunkPayload, ChunkResult> | undefined = await ask(queue.getJob(`${importId}-${index}`));
    if (!job) throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `import ${importId}: chunk ${index} is gone from the queue`, { hint: "Run the same import again: completed chunks are skipped, the rest enqueued again." });
    // A state that was unknown is read again from the job. "failed" is final in BullMQ whatever attempts
    // are left (a retry goes back to waiting or delayed, never through "failed"): an unrecoverable error, or
    // a chunk whose workers died more often than the stalled limit, stays there with attempts to spare.
    const now = state === "unknown" ? await ask(job.getState()) : state;
    if (now === "failed") {
      throw new MemzipError(failedChunkCode(job.failedReason), `import ${importId}: chunk ${index} failed after ${job.attemptsMade} attempts: ${job.failedReason}`, {
        hint: "Fix the cause (the worker's log names it), then run the same import again: completed chunks are skipped.",
        details: { chunk: index },
      });
    }
    if (now !== "completed") return false;
    pending.delete(index);
    recordsDone += sizes[index] ?? 0;
    const result = job.returnvalue;
    if (job.attemptsStarted > 1) report.rerunChunks++;
    if (result) {
      report.written += result.written;
      report.stored += result.stored ?? result.written;
      report.updated += result.updated ?? 0;
      report.repaired += result.repaired ?? 0;
      report.unchanged += result.unchanged;
      report.originalBytes += result.originalBytes;
      report.storedBytes += result.storedBytes;
      report.byWorker[result.worker] = (report.byWorker[result.worker] ?? 0) + (sizes[index] ?? 0);
      for (const { record, code, message } of result.rejected ?? []) rejected.add({ record: (offsets[index] ?? 0) + record, code, message });
    }
    return true;
  };
  for (;;) {
    if (Date.now() - sweptAt >= SWEEP_MS) {
      // Every pending chunk, one cheap state query each, all sent at once; a chunk's job (with its
      // records) is read only once, when it has completed or failed.
      sweptAt = Date.now();
      workers = await countWorkers();
      const pendingNow = [...pending];
      const states = await ask(Promise.all(pendingNow.map((index) => queue.getJobState(`${importId}-${index}`))));
      for (const [i, index] of pendingNow.entries()) await settle(index, states[i] ?? "unknown");
    } else {
      // Else only the first pending chunk, and the next ones while they are complete: the import is
      // done when all are, so the first one not done is the one to wait for. One state query per
      // poll and one per completed chunk: looking at every pending chunk at every poll cost ~770–1,700
      // queries (Lua scripts) for the 63 chunks of the dev corpus, ~90–110 now, and was ~17 % of
      // the server's CPU in the import (BENCHMARKS.md, bench:fleet, stop 18).
      for (const index of pending) {
        if (!(await settle(index, await ask(queue.getJobState(`${importId}-${index}`))))) break;
      }
    }
    // Reported at every change, else at least every pollMs (the polls themselves may come faster).
    if (pending.size !== reportedPending || Date.now() - reportedAt >= pollMs) {
      options.onProgress?.({ chunks: sizes.length, chunksDone: sizes.length - pending.size, records: report.records, recordsDone, originalBytes: report.originalBytes, storedBytes: report.storedBytes, ...(workers === undefined ? {} : { workers }) });
      reportedPending = pending.size;
      reportedAt = Date.now();
    }
    if (pending.size === 0) {
      // Chunks complete out of order: the first rejections by record.
      return { ...report, rejected: rejected.list(), rejectedCount: rejected.count };
    }
    if (options.signal?.aborted) throw stopped();
    // A poll looks at the first pending chunk (every pending one at a sweep); with few chunks pending the
    // interval shrinks with them (8 ms a chunk, at least 20 ms), so the last chunks' completion is seen
    // within ~20 ms instead of up to pollMs.
    await new Promise((done) => setTimeout(done, Math.min(pollMs, Math.max(MIN_POLL_MS, pending.size * POLL_MS_PER_CHUNK))));
  }
}
