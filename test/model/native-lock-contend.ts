import { setTimeout as sleep } from "node:timers/promises";
import { withNativeLock } from "../../src/model/native-lock.js";

/** Slots of the shared counters: threads inside the lock now, times two were inside at once, entries. */
export const INSIDE = 0;
export const OVERLAPS = 1;
export const ENTRIES = 2;

/**
 * Enters the lock `rounds` times; inside, it yields to the event loop and waits a millisecond, long
 * enough for any other thread or task that got in too to be counted.
 */
export async function contend(counters: Int32Array, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await withNativeLock(async () => {
      if (Atomics.add(counters, INSIDE, 1) + 1 > 1) Atomics.add(counters, OVERLAPS, 1);
      await sleep(1);
      Atomics.sub(counters, INSIDE, 1);
      Atomics.add(counters, ENTRIES, 1);
    });
  }
}
