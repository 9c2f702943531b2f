/**
 * A fleet worker: takes import chunks from the store's queue and codes and commits each with the
 * engine, one transaction per chunk. A chunk may run twice (a worker killed mid-chunk has it
 * moved back by BullMQ's stalled check, and another worker runs it): ids are the records' own or
 * derived from their text, and the engine skips a record whose stored text and metadata are
 * unchanged, so a retried chunk has exactly the effect of one run. A worker that stalled past its
 * lock (a paused process) commits nothing: the chunk is another worker's by then.
 */
import { hostname } from "node:os";
import type { Job } from "bullmq";
import type { Engine } from "../engine.js";
import { loadLanguageDetector } from "../semantic/language.js";
import { Worker } from "./bullmq.js";
import { mapConcurrent } from "../core/concurrency.js";
import { storeFileMark } from "../core/store-identity.js";
import { ErrorCode, MemzipError } from "../errors.js";
import { chunkFailure, connectionFor, modelQueueName, queueNameFor, type ChunkPayload, type ChunkRejection, type ChunkResult } from "./queue.js";

export interface FleetWorkerOptions {
  /** The queue's Redis (`redis://…`). */
  queue: string;
  /** Chunks this process codes at once. Defaults to 1 (a chunk already uses the engine's worker threads). */
  concurrency?: number;
  /** Shown in reports and kept on each job (`processedBy`). Defaults to `host:pid`. */
  name?: string;
  /**
   * How long a chunk's lock lasts without renewal: a killed worker's chunk goes back to the queue
   * at most this long (plus `stalledIntervalMs`) later. Defaults to 30 s.
   */
  lockDurationMs?: number;
  /** How often workers look for stalled chunks. Defaults to 30 s. */
  stalledIntervalMs?: number;
  /**
   * Models this worker holds (names or fingerprints): it also takes chunks from each model's queue,
   * which is how a worker advertises a model. Defaults to the engine's configured model, if any.
   */
  models?: readonly string[];
  /** Called when a chunk starts and ends (logging). */
  onChunk?: (event: { state: "active" | "completed" | "failed"; queue: string; importId: string; index: number; records: number; error?: string; rejected?: number }) => void;
}

export interface FleetWorker {
  name: string;
  queues: string[];
  /** Resolves when every queue's worker is connected and taking jobs. */
  ready(): Promise<void>;
  /** Stops taking chunks and waits for the ones in progress (the engine stays open: the caller's). */
  close(): Promise<void>;
}

/** Starts workers on the store's queue (and its models' queues) over `engine`. */
export function startFleetWorker(engine: Engine, options: FleetWorkerOptions): FleetWorker {
  // The language detector (tinyld) is loaded at its first use: its module and n-gram tables cost
  // about 0.2–0.35 s of CPU, which the first chunk with a non-English record would pay (in every worker
  // process). A worker loads it before it takes work. (An English sentence no longer loads it: the
  // English shortcut answers without tinyld.)
  loadLanguageDetector();
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const connection = connectionFor(options.queue);
  const queues = [queueNameFor(engine.location), ...(options.models ?? []).map((model) => modelQueueName(engine.location, model))];
  const lockDuration = options.lockDurationMs ?? 30_000;
  // The file this worker's engine opened (not whatever the path names later: a store replaced under a running worker
  // is another file, and its chunks are refused rather than written into the unlinked one).
  const ownFile = storeFileMark(engine.location);
  const process_ = async (job: Job<ChunkPayload, ChunkResult>, token?: string): Promise<ChunkResult> => {
    try {
      return await codeChunk(job, token);
    } catch (error) {
      throw chunkFailure(error);
    }
  };
  const codeChunk = async (job: Job<ChunkPayload, ChunkResult>, token: string | undefined): Promise<ChunkResult> => {
    const { records, namespace, codec, storeFile } = job.data;
    if (storeFile !== undefined && ownFile !== undefined && ownFile !== storeFile) {
      // A usage error: not retried (every try would meet this worker's file again), and the import says why.
      throw new MemzipError(ErrorCode.USAGE, `chunk ${job.data.index} of import ${job.data.importId} was queued for another store file than this worker's ${engine.location} (the same path on a host of the same name, or a file replaced since)`, {
        hint: "Give each machine's workers their own Redis (or database number), or name each store's file by a path no other host uses.",
      });
    }
    // As engine.rememberMany, but a record refused at the boundary is reported and the chunk's others written, as a
    // local import does: failing the chunk for it failed it on every retry and then the whole import.
    const writer = await engine.writer({ ...(namespace ? { namespace } : {}), ...(codec ? { codec } : {}) }, records.length);
    const rejected: ChunkRejection[] = [];
    const plans = await mapConcurrent(records, writer.concurrency, async (record, index) => {
      try {
        return await writer.plan(record);
      } catch (error) {
        if (!(error instanceof MemzipError && error.code === ErrorCode.INVALID_INPUT)) throw error;
        rejected.push({ record: index, code: error.code, message: error.message });
        return undefined;
      }
    });
    // Still this worker's chunk? One that stalled past its lock (a paused process, a long encode holding its event loop)
    // has lost it to another worker, which may have finished it and the import with it: a commit now wrote the chunk's
    // texts over whatever came after (trial: a user's update, made after the import said it was done, was replaced by
    // the import's text seconds later). The lock is renewed as it is checked, so the commit runs inside it.
    if (token !== undefined && (await job.extendLock(token, lockDuration)) !== 1) {
      const lost = new MemzipError(ErrorCode.ABORTED, `chunk ${job.data.index} of import ${job.data.importId}: this worker lost its lock (it stalled for more than ${lockDuration} ms) and committed nothing; another worker runs the chunk`, {
        hint: "Nothing to do: the chunk is retried elsewhere. If workers stall often, raise --lock-ms.",
      });
      options.onChunk?.({ state: "failed", queue: job.queueName, importId: job.data.importId, index: job.data.index, records: records.length, error: lost.message });
      throw lost;
    }
    const results = await writer.commit(plans.filter((plan) => plan !== undefined));
    const result: ChunkResult = { written: 0, stored: 0, updated: 0, unchanged: 0, originalBytes: 0, storedBytes: 0, worker: name, ...(rejected.length ? { rejected: rejected.sort((a, b) => a.record - b.record) } : {}) };
    for (const r of results) {
      if (r.status === "unchanged") result.unchanged++;
      else {
        result.written++;
        if (r.status === "updated") result.updated = (result.updated ?? 0) + 1;
        else result.stored = (result.stored ?? 0) + 1;
        if (r.repaired) result.repaired = (result.repaired ?? 0) + 1;
      }
      result.originalBytes += r.originalBytes;
      result.storedBytes += r.storedBytes;
    }
    // No job.updateProgress: nothing reads it (the producer waits on the chunks' states), and it cost a
    // Lua script and an event in Redis per chunk, a round trip between a chunk's commit and its completion.
    return result;
  };
  const workers = queues.map((queue) => {
    const worker = new Worker<ChunkPayload, ChunkResult>(queue, process_, {
      connection,
      name,
      concurrency: options.concurrency ?? 1,
      lockDuration,
      stalledInterval: options.stalledIntervalMs ?? 30_000,
      // A chunk whose worker died is moved back this many times before it counts as failed.
      maxStalledCount: 5,
    });
    const report = (state: "active" | "completed" | "failed", job: Job<ChunkPayload, ChunkResult> | undefined, error?: Error) => {
      const rejected = state === "completed" ? (job?.returnvalue?.rejected?.length ?? 0) : 0;
      if (job) options.onChunk?.({ state, queue, importId: job.data.importId, index: job.data.index, records: job.data.records.length, ...(error ? { error: error.message } : {}), ...(rejected ? { rejected } : {}) });
    };
    worker.on("active", (job) => report("active", job));
    worker.on("completed", (job) => report("completed", job));
    worker.on("failed", (job, error) => report("failed", job, error));
    // Connection trouble is retried by the client; the event must not crash the process.
    worker.on("error", () => undefined);
    return worker;
  });
  return {
    name,
    queues,
    ready: async () => {
      await Promise.all(workers.map((worker) => worker.waitUntilReady()));
    },
    close: async () => {
      await Promise.all(workers.map((worker) => worker.close()));
    },
  };
}
