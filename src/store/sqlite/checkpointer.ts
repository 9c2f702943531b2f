/**
 * Checkpoints of a SQLite store on a worker thread (`checkpoint-worker.ts`). SQLite's automatic
 * checkpoint runs inside the commit that fills the log past 1000 pages, on the writer's thread: at
 * 1 KiB pages that is every ~200 single-memory writes, each one stalling the event loop for tens
 * of milliseconds (the copy and an fsync of the store file) — the recalls queued behind it make a
 * server's p99. With the checkpointer the writer's connection checkpoints nothing
 * (`wal_autocheckpoint = 0`) and the thread copies the log back every CHECKPOINT_INTERVAL_MS.
 * Durability is unchanged: a commit is durable once in the log (WAL, synchronous = NORMAL), whoever
 * copies it back later. If the thread dies, the writer's connection checkpoints itself again.
 */
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import { MemzipError, ErrorCode } from "../../errors.js";
import type { CheckpointReply, CheckpointRequest } from "./checkpoint-worker.js";

/** How often the thread copies the log back (a few hundred writes' worth at most in between). */
const CHECKPOINT_INTERVAL_MS = 200;
/** SQLite's default `wal_autocheckpoint`, put back when the thread is gone. */
const AUTO_CHECKPOINT_PAGES = 1000;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (reply: { busy: number; log: number; checkpointed: number }) => void; reject: (error: Error) => void }>();
  private sequence = 0;
  private running = true;
  private readonly exited: Promise<void>;

  constructor(
    path: string,
    private readonly db: Database.Database,
  ) {
    this.worker = new Worker(new URL("./checkpoint-worker.js", import.meta.url), { workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS } });
    this.worker.unref();
    db.pragma("wal_autocheckpoint = 0");
    this.worker.on("message", (reply: CheckpointReply) => {
      const entry = this.pending.get(reply.seq);
      if (!entry) return;
      this.pending.delete(reply.seq);
      if (this.pending.size === 0 && this.running) this.worker.unref();
      if ("error" in reply) entry.reject(new MemzipError(ErrorCode.STORE, `checkpoint failed: ${reply.error}`, { hint: "Run `memzip compact` to checkpoint the store file." }));
      else entry.resolve(reply);
    });
    this.worker.on("error", () => undefined);
    this.exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    void this.exited.then(() => this.gone());
  }

  /** Runs a checkpoint on the thread now and answers how much of the log it copied back. */
  now(): Promise<{ busy: number; log: number; checkpointed: number }> {
    if (!this.running) return Promise.reject(new MemzipError(ErrorCode.USAGE, "the checkpoint thread is stopped", { hint: "Open the store again." }));
    const seq = this.sequence++;
    // Held while an answer is awaited (else the process may end before it comes).
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ type: "now", seq } satisfies CheckpointRequest);
    });
  }

  /** Whether the thread is running (the writer's connection leaves checkpoints to it). */
  get active(): boolean {
    return this.running;
  }

  /** Stops the thread (after the checkpoint it may be running) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.running) {
      // Held until it exits: an awaited stop must resolve (an unreferenced thread would let the process end first).
      this.worker.ref();
      this.worker.postMessage({ type: "stop" } satisfies CheckpointRequest);
    }
    await this.exited;
  }

  /** The thread exited (stopped or crashed): its requests fail and the writer's connection checkpoints itself again. */
  private gone(): void {
    this.running = false;
    for (const { reject } of this.pending.values()) reject(new MemzipError(ErrorCode.STORE, "the checkpoint thread exited", { hint: "Open the store again." }));
    this.pending.clear();
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
  }
}
