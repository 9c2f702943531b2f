import { z } from "zod";
import { inScope, type Engine, type KeyScope } from "../engine.js";
import type { StoreStats } from "../engine-stats.js";
import { namespaceNotFound } from "./scope.js";

/** Most memories the "ratio over time" panel reads per request (insertion order; beyond it the panel says it is capped). */
export const DAILY_SCAN_CAP = 10_000;
/** Most namespaces given a row of their own (a "*" key over a store with more sees the first ones, sorted). */
export const NAMESPACE_ROWS_CAP = 100;
/** Import jobs looked at, newest first, and shown. */
const JOBS_READ = 200;
const JOBS_SHOWN = 10;

const sizes = z.object({
  memories: z.number().int(),
  /** Bytes of the exact texts (UTF-8). */
  originalBytes: z.number().int(),
  envelopeBytes: z.number().int(),
  /** Dictionaries, snapshots and priming texts the memories need. */
  assetBytes: z.number().int(),
  /** envelopeBytes + assetBytes: everything needed to rebuild the memories. */
  storedBytes: z.number().int(),
  /** originalBytes / storedBytes (0 when nothing is stored). */
  ratio: z.number(),
  bitsPerByte: z.number(),
});

export const DashboardQuery = z.object({
  namespace: z.string().min(1).max(128).optional().describe("one namespace of the key; all of the key's namespaces when absent"),
});

export const DashboardData = z.object({
  role: z.enum(["read", "write", "admin"]),
  /** The namespaces the key sees that hold memories (a "*" key: every one), sorted. */
  namespaces: z.array(z.string()),
  /** The namespace asked for, or null for all of the key's. */
  namespace: z.string().nullable(),
  /** "store": the whole store's own figures ("*" key, no namespace); otherwise namespaces' figures added up. */
  totalsOf: z.enum(["store", "namespace", "sum"]),
  totals: sizes,
  perNamespace: z.array(sizes.extend({ namespace: z.string() })),
  /** True when there were more namespaces than rows (NAMESPACE_ROWS_CAP). */
  namespacesCapped: z.boolean(),
  /** Whole store on disk: only for a key over every namespace ("*"), null otherwise. */
  disk: z.object({ fileBytes: z.number().int(), indexBytes: z.number().int(), derivedBytes: z.number().int(), unusedAssetBytes: z.number().int() }).nullable(),
  /** Per codec: memories, text bytes and envelope bytes (assets are not split by codec). */
  codecs: z.array(z.object({ codec: z.string(), memories: z.number().int(), originalBytes: z.number().int(), envelopeBytes: z.number().int() })),
  daily: z.object({
    days: z.array(z.object({ day: z.string(), memories: z.number().int(), originalBytes: z.number().int(), envelopeBytes: z.number().int() })),
    scanned: z.number().int(),
    capped: z.boolean(),
    cap: z.number().int(),
  }),
  imports: z.array(
    z.object({
      id: z.string(),
      namespace: z.string(),
      status: z.string(),
      records: z.number().int(),
      seconds: z.number(),
      recordsPerSecond: z.number(),
      startedAt: z.number(),
    }),
  ),
  /**
   * Whether the process-wide panels (cache, semantic cost) are filled: only for a key of every namespace (*). They count
   * every tenant's reads and writes (a read key of one namespace saw another's recalls and the size of its new memories).
   */
  processWide: z.boolean(),
  /** null: not this key's to see (`processWide` false). */
  cache: z.object({ hits: z.number().int(), misses: z.number().int(), hitRate: z.number().nullable(), entries: z.number().int(), bytes: z.number().int() }).nullable(),
  semantic: z
    .object({
      described: z.number().int(),
      skipped: z.number().int(),
      fallbacks: z.number().int(),
      total: z.number(),
      localCost: z.number(),
      cloudEquivalent: z.number(),
      savings: z.number(),
      backends: z.array(z.object({ backend: z.string(), model: z.string(), local: z.boolean(), calls: z.number().int(), cost: z.number() })),
    })
    .nullable(),
});
export type DashboardData = z.infer<typeof DashboardData>;

type Sizes = z.infer<typeof sizes>;

function sizesOf(stats: StoreStats): Sizes {
  return {
    memories: stats.memories,
    originalBytes: stats.originalBytes,
    envelopeBytes: stats.envelopeBytes,
    assetBytes: stats.assetBytes,
    storedBytes: stats.storedBytes,
    ratio: stats.ratio,
    bitsPerByte: stats.bitsPerByte,
  };
}

function addSizes(parts: readonly Sizes[]): Sizes {
  const sum = (pick: (s: Sizes) => number) => parts.reduce((total, s) => total + pick(s), 0);
  const originalBytes = sum((s) => s.originalBytes);
  const storedBytes = sum((s) => s.storedBytes);
  return {
    memories: sum((s) => s.memories),
    originalBytes,
    envelopeBytes: sum((s) => s.envelopeBytes),
    assetBytes: sum((s) => s.assetBytes),
    storedBytes,
    ratio: storedBytes === 0 ? 0 : originalBytes / storedBytes,
    bitsPerByte: originalBytes === 0 ? 0 : (storedBytes * 8) / originalBytes,
  };
}

/**
 * The namespaces a request looks at: the one asked for (404 outside the key's scope, as for a
 * missing one), else every namespace of the key (a "*" key: those that hold memories).
 */
async function namespacesFor(engine: Engine, scope: KeyScope, asked: string | undefined): Promise<{ visible: string[]; selected: string[] }> {
  const visible = scope.namespaces === "*" ? await engine.namespaces() : [...scope.namespaces];
  visible.sort();
  if (asked === undefined) return { visible, selected: visible };
  if (!inScope(scope, asked)) throw namespaceNotFound(asked);
  return { visible, selected: [asked] };
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Text vs envelope bytes per creation day, over the first DAILY_SCAN_CAP memories (insertion order):
 * one page of summaries, whose rows carry their envelopes' lengths (a per-namespace scan costs far
 * more in SQLite: each of its batches sorts the namespace again). Reading each envelope instead held
 * the event loop 0.5–0.8 s per request for 10,000 memories.
 */
async function daily(engine: Engine, namespaces: readonly string[] | undefined, signal: AbortSignal): Promise<DashboardData["daily"]> {
  const days = new Map<string, { memories: number; originalBytes: number; envelopeBytes: number }>();
  const page = await engine.page({ ...(namespaces === undefined ? {} : { namespaces }), limit: DAILY_SCAN_CAP }, { skipDamaged: true });
  signal.throwIfAborted();
  for (const memory of page.items) {
    const day = utcDay(memory.createdAt);
    const entry = days.get(day) ?? { memories: 0, originalBytes: 0, envelopeBytes: 0 };
    entry.memories++;
    entry.originalBytes += memory.originalLength;
    // A memory whose text another holds keeps no envelope (length 0): its bytes count once, on the holder's day.
    entry.envelopeBytes += memory.storedLength ?? 0;
    days.set(day, entry);
  }
  const sorted = [...days.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([day, entry]) => ({ day, ...entry }));
  return { days: sorted, scanned: page.items.length, capped: page.next !== null, cap: DAILY_SCAN_CAP };
}

/** The cache panel's figures. */
function cacheFigures(cache: { hits: number; misses: number; entries: number; bytes: number }): NonNullable<DashboardData["cache"]> {
  const lookups = cache.hits + cache.misses;
  return { hits: cache.hits, misses: cache.misses, hitRate: lookups === 0 ? null : cache.hits / lookups, entries: cache.entries, bytes: cache.bytes };
}

/** Everything the dashboard shows for a key (and optionally one of its namespaces). */
export async function dashboardData(engine: Engine, scope: KeyScope, asked: string | undefined, signal: AbortSignal): Promise<DashboardData> {
  const { visible, selected } = await namespacesFor(engine, scope, asked);
  const whole = scope.namespaces === "*" && asked === undefined;
  const rows = selected.slice(0, NAMESPACE_ROWS_CAP);
  const perNamespace: DashboardData["perNamespace"] = [];
  const codecs = new Map<string, { memories: number; originalBytes: number; envelopeBytes: number }>();
  const addCodecs = (stats: StoreStats) => {
    for (const [codec, usage] of Object.entries(stats.byCodec)) {
      const entry = codecs.get(codec) ?? { memories: 0, originalBytes: 0, envelopeBytes: 0 };
      entry.memories += usage.memories;
      entry.originalBytes += usage.originalBytes;
      // A codec's "storedBytes" in the stats are its envelopes (assets are counted apart).
      entry.envelopeBytes += usage.storedBytes;
      codecs.set(codec, entry);
    }
  };
  for (const namespace of rows) {
    const stats = await engine.stats(namespace);
    perNamespace.push({ namespace, ...sizesOf(stats) });
    if (!whole) addCodecs(stats);
  }
  let totals: Sizes;
  let disk: DashboardData["disk"] = null;
  if (whole) {
    const stats = await engine.stats();
    totals = sizesOf(stats);
    addCodecs(stats);
    disk = { fileBytes: stats.fileBytes, indexBytes: stats.indexBytes, derivedBytes: stats.derivedBytes, unusedAssetBytes: stats.unusedAssetBytes };
  } else {
    // Namespaces beyond the row cap still count in the totals.
    for (const namespace of selected.slice(NAMESPACE_ROWS_CAP)) {
      const stats = await engine.stats(namespace);
      perNamespace.push({ namespace, ...sizesOf(stats) });
      addCodecs(stats);
    }
    totals = addSizes(perNamespace);
    perNamespace.length = Math.min(perNamespace.length, NAMESPACE_ROWS_CAP);
  }

  const jobs = (await engine.jobs(JOBS_READ))
    .filter((job) => selected.includes(job.namespace) && inScope(scope, job.namespace))
    .slice(0, JOBS_SHOWN)
    .map((job) => {
      const seconds = Math.max(0, (job.updatedAt - job.startedAt) / 1000);
      return { id: job.id, namespace: job.namespace, status: job.status, records: job.line, seconds, recordsPerSecond: seconds > 0 ? job.line / seconds : 0, startedAt: job.startedAt };
    });

  // The cache and the semantic counters are the whole process's: shown to a key of every namespace only.
  const processWide = scope.namespaces === "*";
  const [costs, semanticStats] = processWide ? await Promise.all([engine.semanticCosts(), engine.semanticStats()]) : [undefined, undefined];

  return {
    role: scope.role,
    namespaces: visible,
    namespace: asked ?? null,
    totalsOf: whole ? "store" : asked !== undefined ? "namespace" : "sum",
    totals,
    perNamespace,
    namespacesCapped: selected.length > NAMESPACE_ROWS_CAP,
    disk,
    codecs: [...codecs.entries()].map(([codec, entry]) => ({ codec, ...entry })).sort((a, b) => b.envelopeBytes - a.envelopeBytes || (a.codec < b.codec ? -1 : 1)),
    daily: await daily(engine, whole ? undefined : selected, signal),
    imports: jobs,
    processWide,
    cache: processWide ? cacheFigures(engine.cacheStats()) : null,
    semantic:
      costs === undefined && semanticStats === undefined
        ? null
        : {
            described: semanticStats?.described ?? 0,
            skipped: semanticStats?.skipped ?? 0,
            fallbacks: semanticStats?.fallbacks ?? 0,
            total: costs?.total ?? 0,
            localCost: costs?.local.cost ?? 0,
            cloudEquivalent: costs?.local.cloudEquivalent ?? 0,
            savings: costs?.local.savings ?? 0,
            backends: (costs?.lines ?? []).map((line) => ({ backend: line.backend, model: line.model, local: line.local, calls: line.calls, cost: line.cost })),
          },
  };
}
