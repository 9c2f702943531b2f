export { Engine, sha256Hex } from "./engine.js";
export type {
  EngineImportOptions,
  EngineImportReport,
  ProgressEvent,
  RecodeReport,
  RememberOptions,
  RememberResult,
  TrainedAsset,
  VerifyReport,
} from "./engine.js";
export type { CodecStats, StoreStats } from "./engine-stats.js";
export { ENGINE_DEFAULTS } from "./engine-options.js";
export type { EngineOptions } from "./engine-options.js";
export { ErrorCode, MemzipError, isMemzipError } from "./errors.js";
export type { MemzipErrorOptions } from "./errors.js";
export type { Asset, AssetKind, Codec } from "./codec/codec.js";
export { decodeEnvelope, encodeEnvelope } from "./codec/envelope-codec.js";
export { openEnvelope, sealEnvelope, ENVELOPE_VERSION } from "./codec/envelope.js";
export { CODEC_NAMES, createCodecs } from "./codec/registry.js";
export type { CodecName } from "./codec/registry.js";
export { SqliteStore } from "./store/sqlite.js";
export { MEMORY_KINDS } from "./store/types.js";
export type { MemoryKind, MemoryStore, StoredMemory, MemorySummary } from "./store/types.js";
export type { MemoryInput } from "./pipeline/records.js";
export { runCodecBench } from "./quality/codec-bench.js";
export type { BenchRecord, CodecBenchReport } from "./quality/codec-bench.js";
