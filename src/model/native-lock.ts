import { AsyncLocalStorage } from "node:async_hooks";
import { threadId } from "node:worker_threads";

/**
 * One lock for the whole process, held by whichever thread is creating, freeing or describing
 * node-llama-cpp objects (the runtime, a model, a context, the engine's description). The addon
 * and llama.cpp keep process-wide state that some of these calls write without a lock of their
 * own: `llama_print_system_info` (`llama.systemInfo`) builds its answer in one static string, and
 * two threads reading it at once corrupt the heap (reproduced); the log callback is one global
 * thread-safe function that each `getLlama` releases, replaces and unreferences (`setLogger`,
 * llama/addon/globals/addonLog.cpp); `getLlama` also fills ggml's backend registry. The llm import
 * was killed by SIGSEGV once in CI, a few seconds in, while its two model threads loaded the same
 * small model and described its engine together. Evaluation runs unlocked: each thread has its
 * own model and contexts. What runs when a thread ends (the addon's cleanup hooks) is outside the
 * lock; model threads therefore end one after another (llm-pool.ts).
 *
 * Cell 0 holds the holder's thread id + 1 (0: free); cell 1 counts the waiters (for tests and
 * diagnosis). A thread that ends while holding it (a worker terminated mid-load) is released by
 * its pool with `releaseNativeLockOf`.
 */
let cells = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));

const HOLDER = 0;
const WAITERS = 1;
const FREE = 0;
/** Waits are re-checked this often, so a release that was missed cannot hold a thread for long. */
const RECHECK_MS = 1_000;
/** Set inside `withNativeLock`'s work: a nested call would wait for itself for ever, so it throws instead. */
const holding = new AsyncLocalStorage<true>();

/** The lock's memory, to hand to a worker thread in its `workerData`. */
export function nativeLockBuffer(): SharedArrayBuffer {
  return cells.buffer as SharedArrayBuffer;
}

/** A worker thread takes its parent's lock before it loads anything. */
export function adoptNativeLock(buffer: SharedArrayBuffer): void {
  cells = new Int32Array(buffer);
}

/**
 * Runs `work` (a node-llama-cpp create, dispose or process-wide read) while no other thread, nor
 * other work of this one, runs one. Not re-entrant: called from inside `work`, it throws.
 */
export async function withNativeLock<T>(work: () => Promise<T>): Promise<T> {
  if (holding.getStore()) throw new Error("withNativeLock called inside its own work: it is not re-entrant (the call would wait for itself)");
  const me = threadId + 1;
  for (;;) {
    const holder = Atomics.compareExchange(cells, HOLDER, FREE, me);
    if (holder === FREE) break;
    const waited = Atomics.waitAsync(cells, HOLDER, holder, RECHECK_MS);
    if (!waited.async) continue;
    // A pending waitAsync does not keep the event loop alive (a process with nothing else to do would
    // end in the middle of the wait); this timer does, for as long as it lasts.
    const alive = setTimeout(() => undefined, RECHECK_MS * 2);
    Atomics.add(cells, WAITERS, 1);
    try {
      await waited.value;
    } finally {
      Atomics.sub(cells, WAITERS, 1);
      clearTimeout(alive);
    }
  }
  try {
    return await holding.run(true, work);
  } finally {
    Atomics.store(cells, HOLDER, FREE);
    Atomics.notify(cells, HOLDER);
  }
}

/** The thread id of the lock's holder, or undefined when it is free. */
export function nativeLockHolder(): number | undefined {
  const holder = Atomics.load(cells, HOLDER);
  return holder === FREE ? undefined : holder - 1;
}

/** How many waits for the lock are in progress, in every thread. */
export function nativeLockWaiters(): number {
  return Atomics.load(cells, WAITERS);
}

/** Frees the lock if the thread `id` (ended) still holds it. */
export function releaseNativeLockOf(id: number): void {
  if (Atomics.compareExchange(cells, HOLDER, id + 1, FREE) === id + 1) Atomics.notify(cells, HOLDER);
}
