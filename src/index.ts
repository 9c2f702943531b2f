export { Engine, KEY_PREFIX, memoryTag, sha256Hex } from "./engine.js";
export type {
  EngineImportOptions,
  EngineImportReport,
  ProgressEvent,
  RecodeReport,
  SetAsideReport,
  RememberOptions,
  RememberResult,
  MemoryPatch,
  TrainedAsset,
  AssetComparison,
  VerifyReport,
  EngineParts,
} from "./engine.js";
export type { CodecStats, StoreStats } from "./engine-stats.js";
export { ENGINE_DEFAULTS } from "./engine-options.js";
export { resolveConfig } from "./config/load.js";
export type { ConfigSources, FileConfig } from "./config/load.js";
export { BACKEND_KINDS, CACHE_KINDS, PROFILE_NAMES, RECALL_MODES, SEARCH_MODES, TRANSFER_FORMATS, WRITE_CODEC_NAMES } from "./core/vocabulary.js";
export type { EngineOptions } from "./engine-options.js";
export { ErrorCode, MemzipError, isMemzipError } from "./errors.js";
export type { MemzipErrorOptions } from "./errors.js";
export type { Asset, AssetKind, Codec } from "./codec/codec.js";
export { decodeEnvelope, encodeEnvelope } from "./codec/envelope-codec.js";
export { openEnvelope, sealEnvelope, ENVELOPE_VERSION } from "./codec/envelope.js";
export { CODEC_NAMES, createCodecs } from "./codec/registry.js";
export type { CodecName } from "./codec/registry.js";
export { openStore } from "./store/open.js";
export { MEMORY_KINDS } from "./core/store.js";
export type { DamagedMemories, MemoryKind, MemoryPage, PageOptions, PageQuery, Store, StoredMemory, MemorySummary } from "./core/store.js";
export type { MemoryInput } from "./pipeline/records.js";
export { runCodecBench } from "./quality/codec-bench.js";
export type { BenchRecord, CodecBenchReport } from "./quality/codec-bench.js";
export { CACHE_DEFAULTS, noCache } from "./cache/cache.js";
export type { Cache, CacheOptions, CacheStats } from "./cache/cache.js";
export { MemoryLruCache } from "./cache/memory-lru.js";
export { TieredCache } from "./cache/tiered.js";
export { SqliteCache } from "./store/sqlite-cache.js";
export { ENTITY_TYPES } from "./semantic/entities.js";
export type { Entity, EntityExtractor, EntityType } from "./semantic/entities.js";
export { ruleEntityExtractor } from "./semantic/entities-rules.js";
export { entityExtractor } from "./semantic/entities-nlp.js";
export { defaultEntityExtractor, taggerEntityExtractor } from "./semantic/entities-tagger.js";
export { bleu, rougeL, tokenize } from "./quality/text-metrics.js";
export type { BleuOptions, PrecisionRecall } from "./quality/text-metrics.js";
export { scoreEntities } from "./quality/entity-scores.js";
export type { EntityCase, EntityScores } from "./quality/entity-scores.js";
export { SearchIndex, searchTerms, reciprocalRankFusion } from "./search/search.js";
export type { IndexProgress, SearchHit, SearchIndexOptions, SearchOptions, UnreadableMemory } from "./search/search.js";
export { VECTOR_ENCODING_NAMES } from "./search/vector-encoding.js";
export type { VectorEncodingName } from "./search/vector-encoding.js";
export { decodeFloat16, encodeFloat16 } from "./codec/float16.js";
