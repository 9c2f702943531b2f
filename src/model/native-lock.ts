import { threadId } from "node:worker_threads";

/**
 * One lock for the whole process, held by whichever thread is creating or freeing node-llama-cpp
 * objects (the runtime, a model, a context). node-llama-cpp 3.21.1's addon keeps process-wide
 * state that every thread's runtime writes without a lock of its own: the log callback is one
 * global thread-safe function that each `getLlama` releases, replaces and unreferences
 * (`setLogger`, llama/addon/globals/addonLog.cpp), and the backend's init and dispose flags are
 * shared. Two model threads starting or stopping together race on them; the llm import was killed
 * by SIGSEGV once in CI, a few seconds in, while its two model threads loaded. Evaluation itself
 * runs unlocked: each thread has its own model and contexts.
 *
 * The cell holds the holder's thread id + 1 (0: free). A thread that ends while holding it (a
 * worker terminated mid-load) is released by its pool with `releaseNativeLockOf`.
 */
let cells = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));

const FREE = 0;
/** Waits are re-checked this often, so a release that was missed cannot hold a thread for long. */
const RECHECK_MS = 1_000;

/** The lock's memory, to hand to a worker thread in its `workerData`. */
export function nativeLockBuffer(): SharedArrayBuffer {
  return cells.buffer as SharedArrayBuffer;
}

/** A worker thread takes its parent's lock before it loads anything. */
export function adoptNativeLock(buffer: SharedArrayBuffer): void {
  cells = new Int32Array(buffer);
}

/** Runs `work` (a node-llama-cpp create or dispose) while no other thread, nor other work of this one, runs one. Not re-entrant. */
export async function withNativeLock<T>(work: () => Promise<T>): Promise<T> {
  const me = threadId + 1;
  for (;;) {
    const holder = Atomics.compareExchange(cells, 0, FREE, me);
    if (holder === FREE) break;
    const waited = Atomics.waitAsync(cells, 0, holder, RECHECK_MS);
    if (!waited.async) continue;
    // A pending waitAsync does not keep the event loop alive (a process with nothing else to do would
    // end in the middle of the wait); this timer does, for as long as it lasts.
    const alive = setTimeout(() => undefined, RECHECK_MS * 2);
    try {
      await waited.value;
    } finally {
      clearTimeout(alive);
    }
  }
  try {
    return await work();
  } finally {
    Atomics.store(cells, 0, FREE);
    Atomics.notify(cells, 0);
  }
}

/** The thread id of the lock's holder, or undefined when it is free. */
export function nativeLockHolder(): number | undefined {
  const holder = Atomics.load(cells, 0);
  return holder === FREE ? undefined : holder - 1;
}

/** Frees the lock if the thread `id` (ended) still holds it. */
export function releaseNativeLockOf(id: number): void {
  if (Atomics.compareExchange(cells, 0, id + 1, FREE) === id + 1) Atomics.notify(cells, 0);
}
