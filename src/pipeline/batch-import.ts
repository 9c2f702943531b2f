import { MemzipError, ErrorCode } from "../errors.js";
import { mapOrdered } from "../core/ordered.js";
import type { MemoryInput } from "./records.js";

/** What a write reports; the import tallies these. */
export interface WriteOutcome {
  status: "stored" | "updated" | "unchanged";
  codec: string;
  originalBytes: number;
  storedBytes: number;
  verifyFailures: string[];
  deduplicated?: boolean;
  grouped?: boolean;
  /** The same text was stored but no longer read back (a damaged envelope): coded again (status "updated"). */
  repaired?: boolean;
}

/** What the import loop needs from the engine: plan one memory (encode + verify), commit many in one transaction. */
export interface BatchWriter<P> {
  /** Memories planned at once. */
  concurrency: number;
  plan(input: MemoryInput): Promise<P>;
  commit(plans: readonly P[]): Promise<WriteOutcome[]>;
  /** Called after each committed batch with where the source stands, so an import can resume there. */
  checkpoint?(position: number, line: number): void | Promise<void>;
}

/** One input item; `position` and `line` are where the source stands just after it. */
export type SourceItem =
  | { ok: true; record: MemoryInput; where: string; position: number; line: number }
  | { ok: false; error: MemzipError; where: string; position: number; line: number; namespace?: string };

/**
 * The pin of an import that writes to one namespace only (`memzip import -n`, a server job and the
 * chunks either puts on a queue): undefined when `record` may be written to `namespace`, else the
 * reason it is refused (a record naming another namespace is never written there, nor to its own).
 * The message and hint name no transport's flags (a server's client reads them too); `details`
 * carry both namespaces for a transport to give its own advice (the CLI's: `-n`, jq).
 */
export function pinRejection(record: MemoryInput, namespace: string, where: string): MemzipError | undefined {
  if (record.namespace === undefined || record.namespace === namespace) return undefined;
  return new MemzipError(ErrorCode.INVALID_INPUT, `${where}: names namespace "${record.namespace}", and this import writes to "${namespace}" only`, {
    hint: "Drop the records' namespace fields to write them here, or import them with no fixed namespace (each record then goes to the one it names).",
    details: { named: record.namespace, pinned: namespace },
  });
}

/** Rejections an import report lists in full (and namespaces it counts them for); the rest are counted only. */
export const MAX_REJECTIONS_LISTED = 1000;

export interface ImportProgress {
  /** Records read so far (accepted and rejected). */
  done: number;
  /** Position in the input (bytes for files) and its end, for rate and ETA. */
  position: number;
  end: number | undefined;
  originalBytes: number;
  storedBytes: number;
  /** Engine counters and cache hits so far (filled in by the engine). */
  metrics?: Readonly<Record<string, number>>;
}

export interface ImportOptions {
  /** Records per transaction. Defaults to the engine's `batchSize`. */
  batchSize?: number;
  onProgress?: (progress: ImportProgress) => void;
  /** Stops after the batch in flight commits; finished batches stay stored. */
  signal?: AbortSignal;
  /** Size of the input, for ETA. */
  end?: number;
  /** Lines (`SourceItem.line`) read but not written: a later line replaces them (`linesReplacedLater`). */
  skipLines?: ReadonlySet<number>;
}

export interface ImportReport {
  read: number;
  stored: number;
  updated: number;
  unchanged: number;
  /** Of `updated`: memories whose stored text no longer read back (damaged), written again with the same text. */
  repaired: number;
  /** Lines not written because a later line of the input has the same id in the same namespace (the last wins). */
  superseded: number;
  /**
   * The first `MAX_REJECTIONS_LISTED` records refused, in input order (`namespace`: the one the record named, when it
   * named one and was read far enough to tell); `rejectedCount` counts them all.
   */
  rejected: { where: string; code: string; message: string; namespace?: string }[];
  /** Every record refused: a file of millions of bad lines is counted, not listed (its list held ~450 bytes a line). */
  rejectedCount: number;
  /** Refused records per namespace they named (of the first `MAX_REJECTIONS_LISTED` namespaces so named). */
  rejectedByNamespace: Record<string, number>;
  originalBytes: number;
  storedBytes: number;
  byCodec: Record<string, number>;
  verifyFailures: number;
  /** Memories whose text was already stored (kept once, referenced). */
  deduplicated: number;
  /** Memories coded against a dictionary shared with similar memories. */
  grouped: number;
  /** Time to code one memory (encode + verify), from a uniform sample of at most 4096. */
  latencyMs: { p50: number; p95: number; max: number };
  aborted: boolean;
}

/** The report of an import that read nothing. */
export function emptyImportReport(): ImportReport {
  return {
    read: 0,
    stored: 0,
    updated: 0,
    unchanged: 0,
    repaired: 0,
    superseded: 0,
    rejected: [],
    rejectedCount: 0,
    rejectedByNamespace: {},
    originalBytes: 0,
    storedBytes: 0,
    byCodec: {},
    verifyFailures: 0,
    deduplicated: 0,
    grouped: 0,
    latencyMs: { p50: 0, p95: 0, max: 0 },
    aborted: false,
  };
}

/**
 * Streams records through the writer: up to `concurrency` memories are planned at once, across
 * batch boundaries, and committed in input order in transactions of `batchSize`. Memory stays
 * bounded by the window of planned memories (max(2·batchSize, 4·concurrency)) whatever the
 * input's size. On abort, reading stops; memories already being planned finish and are committed.
 */
export async function importRecords<P>(writer: BatchWriter<P>, source: AsyncIterable<SourceItem>, batchSize: number, options: ImportOptions = {}): Promise<ImportReport> {
  const report = emptyImportReport();
  // A Map, made an object at the end (Object.fromEntries defines a key named __proto__ as a key).
  const rejectedIn = new Map<string, number>();
  const latencies = new Reservoir(4096);
  let batch: P[] = [];
  let position = 0;
  let line = 0;
  const commit = async (): Promise<void> => {
    if (batch.length > 0) tally(await writer.commit(batch), report);
    batch = [];
    if (line > 0) await writer.checkpoint?.(position, line);
    options.onProgress?.({ done: report.read, position, end: options.end, originalBytes: report.originalBytes, storedBytes: report.storedBytes });
  };
  const planned = mapOrdered(
    source,
    { concurrency: writer.concurrency, window: Math.max(2 * batchSize, 4 * writer.concurrency), signal: options.signal },
    async (item): Promise<{ item: SourceItem; plan?: P; error?: MemzipError; skipped?: true }> => {
      if (!item.ok) return { item, error: item.error };
      if (options.skipLines?.has(item.line)) return { item, skipped: true };
      try {
        const started = performance.now();
        const plan = await writer.plan(item.record);
        latencies.add(performance.now() - started);
        return { item, plan };
      } catch (error) {
        // A text refused at the boundary (invalid UTF-8, too large) is reported; the rest go on.
        if (error instanceof MemzipError && error.code === ErrorCode.INVALID_INPUT) return { item, error };
        throw error;
      }
    },
  );
  for await (const { item, plan, error, skipped } of planned) {
    report.read++;
    position = item.position;
    line = item.line;
    if (skipped) report.superseded++;
    else if (error) {
      const named = item.ok ? item.record.namespace : item.namespace;
      report.rejectedCount++;
      if (report.rejected.length < MAX_REJECTIONS_LISTED) report.rejected.push({ where: item.where, code: error.code, message: error.message, ...(named === undefined ? {} : { namespace: named }) });
      if (named !== undefined && (rejectedIn.has(named) || rejectedIn.size < MAX_REJECTIONS_LISTED)) rejectedIn.set(named, (rejectedIn.get(named) ?? 0) + 1);
    }
    else batch.push(plan as P);
    if (batch.length >= batchSize) await commit();
  }
  await commit();
  report.rejectedByNamespace = Object.fromEntries(rejectedIn);
  report.aborted = options.signal?.aborted === true;
  report.latencyMs = latencies.summary();
  return report;
}

/** A uniform sample of a stream of numbers in bounded memory (Algorithm R), for percentiles. */
export class Reservoir {
  private readonly values: number[] = [];
  private seen = 0;
  private max = 0;

  constructor(private readonly capacity: number) {}

  add(value: number): void {
    this.seen++;
    this.max = Math.max(this.max, value);
    if (this.values.length < this.capacity) this.values.push(value);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < this.capacity) this.values[slot] = value;
    }
  }

  summary(): { p50: number; p95: number; max: number } {
    const sorted = [...this.values].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) : 0);
    return { p50: at(0.5), p95: at(0.95), max: this.max };
  }
}

function tally(results: readonly WriteOutcome[], report: ImportReport): void {
  for (const result of results) {
    report[result.status]++;
    report.originalBytes += result.originalBytes;
    report.storedBytes += result.storedBytes;
    report.verifyFailures += result.verifyFailures.length;
    if (result.deduplicated) report.deduplicated++;
    if (result.grouped) report.grouped++;
    if (result.repaired) report.repaired++;
    // What this import coded: a memory found unchanged keeps the codec it had.
    if (result.codec && result.status !== "unchanged") report.byCodec[result.codec] = (report.byCodec[result.codec] ?? 0) + 1;
  }
}

/**
 * The lines of an input whose record a later line replaces: the same id in the same namespace, as
 * `keyOf` names it (undefined: a record no later one replaces, e.g. one without its own id, whose id
 * comes from its text). "The last wins": importing only the last line of each id makes a re-import of
 * the same file change nothing. `read` gives the input afresh each time: it is read once more, with
 * 8 bytes a record (a hash of each key), and a second time, for exact keys, only when hashes repeat.
 */
export async function linesReplacedLater(
  read: () => AsyncIterable<{ ok: true; record: MemoryInput; line: number } | { ok: false; line: number }>,
  keyOf: (record: MemoryInput) => string | undefined,
  /** Whether the import takes the record (a refused line replaces nothing); asked only of records whose key repeats. */
  takes: (record: MemoryInput) => boolean = () => true,
): Promise<Set<number>> {
  let hashes = new Float64Array(1024);
  let count = 0;
  for await (const item of read()) {
    const key = item.ok ? keyOf(item.record) : undefined;
    if (key === undefined) continue;
    if (count === hashes.length) {
      const grown = new Float64Array(hashes.length * 2);
      grown.set(hashes);
      hashes = grown;
    }
    hashes[count++] = hash53(key);
  }
  const sorted = hashes.subarray(0, count).sort();
  const repeated = new Set<number>();
  for (let i = 1; i < count; i++) if (sorted[i] === sorted[i - 1]) repeated.add(sorted[i] as number);
  const replaced = new Set<number>();
  if (repeated.size === 0) return replaced;
  // Only the keys whose hash repeats, compared exactly (a collision of two keys replaces nothing).
  const lastLine = new Map<string, number>();
  for await (const item of read()) {
    const key = item.ok ? keyOf(item.record) : undefined;
    if (key === undefined || !repeated.has(hash53(key)) || !(item.ok && takes(item.record))) continue;
    const earlier = lastLine.get(key);
    if (earlier !== undefined) replaced.add(earlier);
    lastLine.set(key, item.line);
  }
  return replaced;
}

/** A 53-bit hash of a string (cyrb53): exact as a float, cheap; equal keys, equal hashes. */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
