import { strict as assert } from "node:assert";
import { once } from "node:events";
import { describe, it } from "node:test";
import { WorkerPool, type PoolSlot } from "../../src/core/worker-pool.js";

const SCRIPT = new URL("./pool-worker.js", import.meta.url);

function pool(stopInTurn: boolean, exited: number[]): WorkerPool<{ seq: number }, null> {
  return new WorkerPool<{ seq: number }, null>({
    name: "test worker",
    script: SCRIPT,
    workerData: null,
    size: 3,
    depth: 1,
    initialState: () => null,
    replyError: () => undefined,
    onExit: (threadId) => exited.push(threadId),
    stopInTurn,
  });
}

/** Starts all three threads (one request each, answered). */
async function fill(workers: WorkerPool<{ seq: number }, null>): Promise<PoolSlot<null>[]> {
  const slots = [await workers.slot(), await workers.slot(), await workers.slot()];
  // The pool unrefs its threads; this test's process has nothing else to wait on.
  for (const slot of slots) slot.worker.ref();
  await Promise.all(
    slots.map((slot) => {
      const seq = workers.nextSeq();
      return workers.send(slot, seq, { seq });
    }),
  );
  return slots;
}

/** Asks a thread to end and resolves at its exit; records which threads were still running when it was asked. */
function askToEnd(slot: PoolSlot<null>, running: Set<number>, seenRunning: number[][]): Promise<void> {
  seenRunning.push([...running]);
  slot.worker.postMessage({ type: "close" });
  return once(slot.worker, "exit").then(() => undefined);
}

/** Closes a pool of three running threads, asking each to end; says which threads were running at each ask, and which exits the pool reported. */
async function closeThree(stopInTurn: boolean): Promise<{ ids: number[]; seenRunning: number[][]; exited: number[] }> {
  const exited: number[] = [];
  const workers = pool(stopInTurn, exited);
  const slots = await fill(workers);
  const ids = slots.map((slot) => slot.worker.threadId);
  const running = new Set(ids);
  for (const [i, slot] of slots.entries()) slot.worker.once("exit", () => running.delete(ids[i] as number));
  const seenRunning: number[][] = [];
  await workers.close((slot) => askToEnd(slot, running, seenRunning));
  return { ids, seenRunning, exited };
}

describe("WorkerPool", () => {
  it("with stopInTurn, asks each thread to end only once the one before it has exited, and reports every exit's thread id", async () => {
    const { ids, seenRunning, exited } = await closeThree(true);
    // Each was asked while it and only the threads after it ran.
    assert.deepEqual(seenRunning, [ids, ids.slice(1), ids.slice(2)]);
    assert.deepEqual([...exited].sort(), [...ids].sort());
  });

  it("without it, asks every thread at once", async () => {
    const { ids, seenRunning, exited } = await closeThree(false);
    assert.deepEqual(seenRunning, [ids, ids, ids]);
    assert.deepEqual([...exited].sort(), [...ids].sort());
  });
});
