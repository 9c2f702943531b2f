/**
 * The words memzip's settings, flags and help texts choose from, each defined once as an `as const`
 * array: the TypeScript type, the validation (`isOneOf`) and the text a help or an error shows
 * (`choices`) derive from it. A front end (CLI, server) and the config loader read them from here.
 */
import type { CodecName } from "../codec/registry.js";

export { MEMORY_KINDS, type MemoryKind } from "./store.js";

/** How `recall` reads a memory: the exact original, or a lossy form of it. */
export const LOSSY_RECALL_MODES = ["summary", "rebuilt"] as const;
export type LossyRecallMode = (typeof LOSSY_RECALL_MODES)[number];
export const RECALL_MODES = ["exact", ...LOSSY_RECALL_MODES] as const;
export type RecallMode = (typeof RECALL_MODES)[number];

/** How search ranks: both rankings fused, or one of them. The first is the default. */
export const SEARCH_MODES = ["hybrid", "vector", "keyword"] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/** The built-in lossless codecs a write may try (the codec registry's names; checked below). */
export const CLASSICAL_CODEC_NAMES = ["raw", "zstd", "zstd-dict", "cm", "cm-ref"] as const;
/** What a write can be forced to: a built-in codec, or a model's (`llm`, `llm-mix`: they need a model). */
export const WRITE_CODEC_NAMES = [...CLASSICAL_CODEC_NAMES, "llm", "llm-mix"] as const;
export type WriteCodecName = (typeof WRITE_CODEC_NAMES)[number];

/** Text-generation backends for the semantic features. */
export const BACKEND_KINDS = ["ollama", "openai", "llama"] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

/** The engine caches a config file or the environment can name (a library caller may pass a `Cache`). */
export const CACHE_KINDS = ["memory", "disk", "off"] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

/** A Redis server as the shared cache tier (`--cache redis://…`, `MEMZIP_CACHE`). */
export type RedisUrl = `redis://${string}` | `rediss://${string}`;

/** True for the values `--cache` / `MEMZIP_CACHE` accept as a Redis tier. */
export function isRedisUrl(value: unknown): value is RedisUrl {
  return typeof value === "string" && /^rediss?:\/\/./.test(value);
}

/** Performance presets; `auto` sizes one from this machine. */
export const PROFILE_NAMES = ["auto", "local", "cloud", "hybrid", "naive"] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** Formats memories are imported from and exported to; the first is the default. */
export const TRANSFER_FORMATS = ["jsonl", "arrow"] as const;
export type TransferFormat = (typeof TRANSFER_FORMATS)[number];

/** Whether `value` is one of `words`. */
export function isOneOf<const T extends string>(words: readonly T[], value: unknown): value is T {
  return typeof value === "string" && (words as readonly string[]).includes(value);
}

/** The words as a help text or an error lists them: "a, b or c" (or "a, b and c"). */
export function choices(words: readonly string[], last: "or" | "and" = "or"): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} ${last} ${words[words.length - 1] as string}`;
}

// The classical names are the codec registry's: adding a codec there without adding it here (or
// the other way round) fails to compile.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const registryMatches: Same<WriteCodecName, CodecName | "llm" | "llm-mix"> = true;
void registryMatches;
