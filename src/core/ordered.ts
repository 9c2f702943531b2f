/**
 * Runs `work` over a (possibly endless) async source with at most `concurrency` calls at once and
 * yields the results in input order. At most `window` items are held at any moment — running, or
 * finished and waiting for an earlier one — so memory stays bounded whatever the source's size.
 * Stops reading the source once `signal` aborts; what was already started still finishes and is
 * yielded. The first failure of `work` is thrown after the calls in flight settle. When the consumer
 * stops early (breaks, or throws out of its loop), nothing queued is started and the generator's
 * return waits for the calls in flight: once it has returned, no `work` runs any more (they may use
 * what the consumer closes next).
 */
export async function* mapOrdered<T, R>(
  source: AsyncIterable<T>,
  options: { concurrency: number; window?: number; signal?: AbortSignal | undefined },
  work: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const concurrency = Math.max(1, options.concurrency);
  const window = Math.max(concurrency, options.window ?? concurrency * 4);
  const iterator = source[Symbol.asyncIterator]();
  const held: { settled: boolean; value?: R; error?: unknown; promise: Promise<void> }[] = [];
  const queued: T[] = [];
  let running = 0;
  let exhausted = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };

  const start = (item: T, slot: (typeof held)[number]) => {
    running++;
    slot.promise = work(item).then(
      (value) => {
        slot.value = value;
      },
      (error: unknown) => {
        slot.error = error ?? new Error("work failed");
      },
    ).finally(() => {
      slot.settled = true;
      running--;
      const next = stopped ? undefined : queued.shift();
      if (next !== undefined) start(next, pendingSlots.shift() as (typeof held)[number]);
      notify();
    });
  };
  const pendingSlots: (typeof held)[number][] = [];

  try {
    for (;;) {
      while (!exhausted && held.length < window && !options.signal?.aborted) {
        const step = await iterator.next();
        if (step.done) {
          exhausted = true;
          break;
        }
        const slot: (typeof held)[number] = { settled: false, promise: Promise.resolve() };
        held.push(slot);
        if (running < concurrency) start(step.value, slot);
        else {
          queued.push(step.value);
          pendingSlots.push(slot);
        }
      }
      if (options.signal?.aborted) {
        exhausted = true;
      }
      const head = held[0];
      if (!head) return;
      if (!head.settled) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (head.settled) notify();
        });
        continue;
      }
      held.shift();
      if ("error" in head && head.error !== undefined) {
        queued.length = 0;
        pendingSlots.length = 0;
        await Promise.allSettled(held.map((slot) => slot.promise));
        throw head.error;
      }
      yield head.value as R;
    }
  } finally {
    stopped = true;
    queued.length = 0;
    pendingSlots.length = 0;
    await Promise.allSettled(held.map((slot) => slot.promise));
    if (!exhausted) await iterator.return?.();
  }
}
