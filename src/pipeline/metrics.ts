/** Counters the engine keeps while it works; progress lines, events and a later `/metrics` read the same numbers. */
export const COUNTER_NAMES = [
  "memoriesStored",
  "memoriesUpdated",
  "memoriesUnchanged",
  /** Writes whose exact text another memory already held: stored as a reference, no envelope of their own. */
  "deduplicated",
  /** Memories rewritten against a dictionary shared with similar memories of their batch. */
  "grouped",
  /** Shared group dictionaries saved (each counted in the store's asset bytes). */
  "groupDictionaries",
  "originalBytes",
  "storedBytes",
  "verifyFailures",
  /** Memories a model was asked to code, and those where its envelope won. */
  "llmAttempts",
  "llmWins",
  /** Memories the model did not finish within `itemTimeoutMs` (they fell to a classical codec). */
  "llmTimeouts",
  /** Memories the model was not asked to code because it kept losing in their namespace and text class (the skip rule, docs/LLM.md). */
  "llmSkipped",
  /** Memories of an import into a namespace not trained yet whose model attempt waits for the recode that ends the import. */
  "llmDeferred",
  /** Memories coded on the classical worker pool. */
  "workerTasks",
  /** Memories given a summary and entities, and memories whose semantic features were skipped because every backend failed. */
  "semanticOn",
  "semanticSkipped",
  /** Memories coded again at commit: another writer had pruned the asset they were coded with (it trained a newer one). */
  "replanned",
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Record<CounterName, number>;

export class Metrics {
  private readonly values: Counters = Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0])) as Counters;

  add(name: CounterName, amount = 1): void {
    this.values[name] += amount;
  }

  snapshot(): Counters {
    return { ...this.values };
  }
}

/** Counters in the Prometheus text format (`memzip_<name>_total`). */
export function prometheusText(counters: Readonly<Record<string, number>>, prefix = "memzip"): string {
  return Object.entries(counters)
    .map(([name, value]) => {
      const metric = `${prefix}_${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`;
      return `# TYPE ${metric} counter\n${metric} ${value}`;
    })
    .join("\n")
    .concat("\n");
}
