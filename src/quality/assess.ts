/**
 * The quality report: every memory of a store (or the first N) read back exactly and, where it has
 * semantic features, through its lossy form (the summary, or the text a model rebuilds from it),
 * scored against the exact original. Nothing here writes to the store.
 */
import { checksum32 } from "../codec/checksum.js";
import type { LossyRecallMode, RecallMode } from "../core/vocabulary.js";
import type { EntityExtractor } from "../semantic/entities.js";
import type { Embedder } from "../search/similarity.js";
import { cosine } from "../search/similarity.js";
import type { MemoryFilter, StoredMemory, StoredSemantic } from "../core/store.js";
import { quantile } from "../core/stats.js";
import { bleu, f1Of, rougeL } from "./text-metrics.js";

/** Thresholds of the original system: below either, a memory is flagged. */
export const QUALITY_THRESHOLDS = { similarity: 0.85, entityRecall: 0.95 } as const;

/** What the report reads; the engine offers all of it. */
export interface QualitySource {
  /** Every memory (of one namespace, admitted by the filter) in insertion order; expired ones are left out. */
  scanMemories(namespace?: string, signal?: AbortSignal, filter?: Omit<MemoryFilter, "namespaces">): AsyncIterable<StoredMemory>;
  recall(id: string, options?: { mode?: RecallMode; namespace?: string }): Promise<string>;
  semanticOf(id: string, namespace?: string): Promise<StoredSemantic | undefined>;
  /** The namespace's (or store's) original bytes and the bytes of the assets its memories need. */
  stats(namespace?: string): Promise<{ originalBytes: number; assetBytes: number }>;
}

export interface QualityOptions {
  namespace?: string;
  /** Only the memories this filter admits (kind, tags, times, meta). */
  filter?: Omit<MemoryFilter, "namespaces">;
  /** Memories to assess at most (insertion order). */
  limit?: number;
  /** The lossy form compared with the original. Defaults to `summary`. */
  mode?: LossyRecallMode;
  embedder: Embedder;
  extractor: EntityExtractor;
  onProgress?: (done: number, total: number) => void;
}

export interface SemanticScores {
  /** Bytes of the summary and entities (UTF-8 JSON) over the original's. */
  ratio: number;
  rougeL: number;
  bleu: number;
  /** Cosine of the embeddings of the lossy text and the original, by the report's embedder. */
  similarity: number;
  /** Entities of the original (rule-based) kept by the stored entities or the lossy text. */
  entityPrecision: number;
  entityRecall: number;
  /** Milliseconds to produce the lossy text (a model call in `rebuilt` mode). */
  ms: number;
}

export interface MemoryQuality {
  id: string;
  codec: string;
  originalBytes: number;
  /** Envelope bytes this memory adds (0 for a reference to another memory's text). */
  storedBytes: number;
  exactMatch: boolean;
  exactMs: number;
  semantic?: SemanticScores;
  /** Why it is flagged; empty when it is not. */
  flags: string[];
  /** Kept for flagged memories only, for inspection. */
  original?: string;
  candidate?: string;
}

export interface QualityReport {
  embedder: string;
  mode: LossyRecallMode;
  thresholds: typeof QUALITY_THRESHOLDS;
  memories: number;
  exactMatches: number;
  /** Original bytes over envelope bytes, all memories assessed (the direction of `stats`' ratio: higher is smaller). */
  exactRatio: number;
  /**
   * The assessed memories' share of the assets (dictionaries, snapshots, priming texts) the whole
   * namespace needs: those assets' bytes times the assessed original bytes over the namespace's.
   */
  assetBytes: number;
  /** Original bytes over (envelopes + that asset share): everything needed to rebuild the texts. */
  exactRatioWithAssets: number;
  exactMs: { p50: number; p95: number };
  /** Means over the memories with semantic features; absent when none has them. */
  semantic?: Omit<SemanticScores, "ms"> & { memories: number; ms: { p50: number; p95: number } };
  flagged: number;
  rows: MemoryQuality[];
}

export async function assessQuality(source: QualitySource, options: QualityOptions): Promise<QualityReport> {
  const mode = options.mode ?? "summary";
  const selected: StoredMemory[] = [];
  for await (const memory of source.scanMemories(options.namespace, undefined, options.filter)) {
    if (options.limit !== undefined && selected.length >= options.limit) break;
    selected.push(memory);
  }
  const rows: MemoryQuality[] = [];
  for (const memory of selected) {
    rows.push(await assessMemory(source, memory, mode, options));
    options.onProgress?.(rows.length, selected.length);
  }
  // Assets serve the whole namespace: the sample is charged its share by original bytes, not every asset it touches in full.
  const whole = await source.stats(options.namespace);
  const assessed = selected.reduce((sum, m) => sum + m.originalLength, 0);
  const assetBytes = whole.originalBytes === 0 ? 0 : (whole.assetBytes * assessed) / whole.originalBytes;
  return summarize(rows, mode, options.embedder.name, assetBytes);
}

async function assessMemory(source: QualitySource, memory: StoredMemory, mode: LossyRecallMode, options: QualityOptions): Promise<MemoryQuality> {
  let started = performance.now();
  let original: string | undefined;
  let failure = "";
  try {
    original = await source.recall(memory.id, { namespace: memory.namespace });
  } catch (error) {
    failure = `unreadable: ${(error as Error).message}`;
  }
  const exactMs = performance.now() - started;
  const bytes = Buffer.from(original ?? "", "utf8");
  const exactMatch = original !== undefined && bytes.length === memory.originalLength && checksum32(bytes) === memory.checksum;
  const row: MemoryQuality = {
    id: memory.id,
    codec: memory.codec,
    originalBytes: memory.originalLength,
    storedBytes: memory.contentOf ? 0 : memory.envelope.length,
    exactMatch,
    exactMs,
    flags: exactMatch ? [] : [failure || "not exact"],
  };
  const semantic = await source.semanticOf(memory.id, memory.namespace);
  if (!semantic || original === undefined) return row;
  started = performance.now();
  const candidate = mode === "summary" ? semantic.summary : await source.recall(memory.id, { mode: "rebuilt", namespace: memory.namespace });
  const ms = performance.now() - started;
  const [a, b] = await options.embedder.embed([candidate, original]);
  const entities = entityScores(options.extractor.extract(original), [...semantic.entities, ...options.extractor.extract(candidate)]);
  const semanticBytes = Buffer.byteLength(JSON.stringify({ summary: semantic.summary, entities: semantic.entities }), "utf8");
  row.semantic = {
    ratio: memory.originalLength === 0 ? 0 : semanticBytes / memory.originalLength,
    rougeL: rougeL(candidate, original).f1,
    bleu: bleu(candidate, original, { smooth: true }),
    similarity: cosine(a as Float32Array, b as Float32Array),
    ...entities,
    ms,
  };
  if (row.semantic.similarity < QUALITY_THRESHOLDS.similarity) row.flags.push(`similarity ${row.semantic.similarity.toFixed(3)} < ${QUALITY_THRESHOLDS.similarity}`);
  if (row.semantic.entityRecall < QUALITY_THRESHOLDS.entityRecall) row.flags.push(`entity recall ${row.semantic.entityRecall.toFixed(3)} < ${QUALITY_THRESHOLDS.entityRecall}`);
  if (row.flags.length > 0) Object.assign(row, { original, candidate });
  return row;
}

/**
 * Precision and recall of (type, text) pairs: `expected` from the original, `kept` from the lossy
 * form (duplicates in `kept` count once). Both 1 when the original has no entities and none were kept.
 */
export function entityScores(expected: readonly { type: string; text: string }[], kept: readonly { type: string; text: string }[]): { entityPrecision: number; entityRecall: number } {
  const want = new Set(expected.map((e) => `${e.type}:${e.text}`));
  const have = new Set(kept.map((e) => `${e.type}:${e.text}`));
  let correct = 0;
  for (const key of have) if (want.has(key)) correct++;
  const { precision, recall } = f1Of(have.size === 0 ? 1 : correct / have.size, want.size === 0 ? 1 : correct / want.size);
  return { entityPrecision: precision, entityRecall: recall };
}

function summarize(rows: MemoryQuality[], mode: LossyRecallMode, embedder: string, assetBytes: number): QualityReport {
  const mean = (values: number[]) => (values.length ? values.reduce((s, v) => s + v, 0) / values.length : 0);
  const original = rows.reduce((s, r) => s + r.originalBytes, 0);
  const described = rows.flatMap((r) => (r.semantic ? [r.semantic] : []));
  const envelopes = rows.reduce((s, r) => s + r.storedBytes, 0);
  return {
    embedder,
    mode,
    thresholds: QUALITY_THRESHOLDS,
    memories: rows.length,
    exactMatches: rows.filter((r) => r.exactMatch).length,
    exactRatio: envelopes === 0 ? 0 : original / envelopes,
    assetBytes,
    exactRatioWithAssets: envelopes + assetBytes === 0 ? 0 : original / (envelopes + assetBytes),
    exactMs: { p50: quantile(rows.map((r) => r.exactMs), 0.5), p95: quantile(rows.map((r) => r.exactMs), 0.95) },
    ...(described.length
      ? {
          semantic: {
            memories: described.length,
            ratio: mean(described.map((s) => s.ratio)),
            rougeL: mean(described.map((s) => s.rougeL)),
            bleu: mean(described.map((s) => s.bleu)),
            similarity: mean(described.map((s) => s.similarity)),
            entityPrecision: mean(described.map((s) => s.entityPrecision)),
            entityRecall: mean(described.map((s) => s.entityRecall)),
            ms: { p50: quantile(described.map((s) => s.ms), 0.5), p95: quantile(described.map((s) => s.ms), 0.95) },
          },
        }
      : {}),
    flagged: rows.filter((r) => r.flags.length > 0).length,
    rows,
  };
}
