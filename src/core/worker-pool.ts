import { Worker } from "node:worker_threads";
import { MemzipError, ErrorCode } from "../errors.js";

/** One worker thread, the requests it has in flight, and what the owner tracks per worker (assets sent, say). */
export interface PoolSlot<S> {
  worker: Worker;
  inFlight: number;
  state: S;
}

export interface WorkerPoolOptions<Reply, S> {
  /** Names the pool in errors ("codec worker", "model worker"). */
  name: string;
  script: URL;
  workerData: unknown;
  /** Threads at most. */
  size: number;
  /** Requests in flight per thread before callers wait. */
  depth: number;
  initialState: () => S;
  /** The error a reply carries, or undefined when it succeeded. */
  replyError: (reply: Reply) => Error | undefined;
  /** Called with a thread's id when it has ended, whatever the reason. */
  onExit?: (threadId: number) => void;
  /** `close` stops the threads one after another instead of all at once. */
  stopInTurn?: boolean;
}

/**
 * The bookkeeping every worker-thread pool here needs: threads started on demand up to `size`,
 * each request to the least busy one (callers wait once all are `depth` deep), replies matched
 * to requests by sequence number, and a crashed thread failing only its own requests (it is
 * replaced on the next request).
 */
export class WorkerPool<Reply extends { seq: number }, S> {
  readonly slots: PoolSlot<S>[] = [];
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void; slot: PoolSlot<S> }>();
  private readonly waiting: (() => void)[] = [];
  private sequence = 0;
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions<Reply, S>) {}

  /** A thread with room for one more request (started if the pool has fewer than `size`). */
  async slot(): Promise<PoolSlot<S>> {
    for (;;) {
      // Checked again after every wait: a thread started after close would outlive it.
      if (this.closed) throw new MemzipError(ErrorCode.USAGE, `the ${this.options.name} pool is closed`);
      if (this.slots.length < this.options.size) return this.spawn();
      const idlest = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      if (idlest.inFlight < this.options.depth) return idlest;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  nextSeq(): number {
    return this.sequence++;
  }

  /**
   * Posts `message` (which carries `seq`) to the slot's thread and resolves with its reply. A message
   * that cannot be posted (it does not clone) rejects, after `unsent`, and leaves nothing pending.
   */
  send(slot: PoolSlot<S>, seq: number, message: unknown, unsent?: () => void): Promise<Reply> {
    // A thread with work keeps the process alive until its reply; an idle one does not (see `spawn`).
    if (slot.inFlight++ === 0) slot.worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, slot });
      try {
        slot.worker.postMessage(message);
      } catch (error) {
        this.pending.delete(seq);
        this.settled(slot);
        this.waiting.shift()?.();
        unsent?.();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Stops the threads (`stop` may ask each to finish; the default terminates it) and fails what is still pending. */
  async close(stop: (slot: PoolSlot<S>) => Promise<unknown> = (slot) => slot.worker.terminate()): Promise<void> {
    this.closed = true;
    // Held until each thread has stopped: an idle (unref'd) one would let the process end inside `close`, its await
    // never settled.
    for (const slot of this.slots) slot.worker.ref();
    // Callers waiting for room wake up to the closed pool's error.
    for (const wake of this.waiting.splice(0)) wake();
    if (this.options.stopInTurn) for (const slot of [...this.slots]) await stop(slot);
    else await Promise.all(this.slots.map(stop));
    for (const { reject } of this.pending.values()) reject(new MemzipError(ErrorCode.USAGE, `the ${this.options.name} pool was closed with work in flight`));
    this.pending.clear();
    this.slots.length = 0;
  }

  private spawn(): PoolSlot<S> {
    const worker = new Worker(this.options.script, { workerData: this.options.workerData });
    const slot: PoolSlot<S> = { worker, inFlight: 0, state: this.options.initialState() };
    worker.on("message", (reply: Reply) => {
      const entry = this.pending.get(reply.seq);
      if (!entry) return;
      this.pending.delete(reply.seq);
      this.settled(slot);
      this.waiting.shift()?.();
      const error = this.options.replyError(reply);
      if (error) entry.reject(error);
      else entry.resolve(reply);
    });
    worker.on("error", (error) => this.fail(slot, error));
    const threadId = worker.threadId;
    worker.on("exit", (code) => {
      this.options.onExit?.(threadId);
      if (!this.closed && code !== 0) this.fail(slot, new Error(`${this.options.name} exited with code ${code}`));
    });
    // Unref'd once its listeners are on (a "message" listener refs the thread's port again): an idle pool never keeps
    // the process alive, and `send` refs a thread while it has work. Unref'd before them, a library script that never
    // closed its engine ran forever after its first off-thread decode.
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  /** A request of `slot` answered or abandoned: an idle thread no longer keeps the process alive. */
  private settled(slot: PoolSlot<S>): void {
    if (--slot.inFlight === 0 && !this.closed) slot.worker.unref();
  }

  private fail(slot: PoolSlot<S>, error: Error): void {
    const index = this.slots.indexOf(slot);
    if (index !== -1) this.slots.splice(index, 1);
    for (const [seq, entry] of this.pending) {
      if (entry.slot !== slot) continue;
      this.pending.delete(seq);
      entry.reject(new MemzipError(ErrorCode.FORMAT, `${this.options.name} failed: ${error.message}`, { cause: error }));
    }
    this.waiting.shift()?.();
  }
}
