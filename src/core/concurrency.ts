/**
 * Runs `work` over `items` with at most `limit` calls in flight and returns the results in input
 * order. The first failure rejects once the calls already started have settled.
 */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return results;
}

/** Like `mapConcurrent` over a (possibly huge) iterable, holding at most `limit` items at once; no results. */
export async function forEachConcurrent<T>(items: Iterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: { reason: unknown } | undefined;
  const worker = async () => {
    for (let step = iterator.next(); !step.done && !failure; step = iterator.next()) {
      try {
        await work(step.value);
      } catch (reason) {
        failure ??= { reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failure) throw failure.reason;
}

/** `forEachConcurrent` over an async iterable (a store scan): workers pull the next item in turn. */
export async function forEachConcurrentAsync<T>(items: AsyncIterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  let failure: { reason: unknown } | undefined;
  const worker = async () => {
    while (!failure) {
      let step: IteratorResult<T>;
      try {
        step = await iterator.next();
      } catch (reason) {
        failure ??= { reason };
        break;
      }
      if (step.done) break;
      try {
        await work(step.value);
      } catch (reason) {
        failure ??= { reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failure) {
    await iterator.return?.();
    throw failure.reason;
  }
}

/**
 * Runs the tasks given for one key one after another, in the order given; tasks of different keys run side by side.
 * A task's failure is its caller's alone: the next task of the key runs all the same.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
