import { CODEC_NAMES, isCodecName, type CodecName } from "./codec/registry.js";
import { MemzipError, ErrorCode } from "./errors.js";
import type { Cache } from "./cache/cache.js";
import { isRedisUrl, type CacheKind, type RedisUrl } from "./core/vocabulary.js";
import { NAMESPACE_PATTERN } from "./pipeline/records.js";
import { DEFAULT_MAX_TEXT_BYTES } from "./codec/text.js";
import { DEFAULT_VECTOR_ENCODING, isVectorEncodingName, VECTOR_ENCODING_NAMES, type VectorEncodingName } from "./search/vector-encoding.js";
import { LLM_DEFAULTS, type LlmOptions } from "./model/llm-coder.js";
import { validateSemanticOptions, type SemanticOptions } from "./semantic/semantic.js";
import { hardwareFingerprint, loadCalibration } from "./core/calibration.js";
import { hardwareFromOs, isProfileName, PROFILE_NAMES, resolveProfile, type Profile, type ProfileName } from "./core/profiles.js";

/** What `--codec` can force: a built-in codec, or a model's (`llm`, `llm-mix`: they need a model). */
export type WriteCodecName = CodecName | "llm" | "llm-mix";

export function isWriteCodecName(name: unknown): name is WriteCodecName {
  return name === "llm" || name === "llm-mix" || (typeof name === "string" && isCodecName(name));
}

export interface EngineOptions {
  /** SQLite store path, or `":memory:"`. Defaults to `MEMZIP_DB` or the user's data directory. */
  db?: string;
  /** Namespace (agent or user) for writes that do not name one. Defaults to `"default"`. */
  namespace?: string;
  /** Codecs the policy may try per memory; the smallest verified envelope wins. Defaults to all lossless codecs. */
  codecs?: readonly CodecName[];
  /** zstd level for `zstd` and `zstd-dict`, 1–19. Defaults to `19`. */
  zstdLevel?: number;
  /** Texts shorter than this many bytes are stored `raw` without trying other codecs. Defaults to `16`. */
  rawBelow?: number;
  /** Largest text accepted, in UTF-8 bytes. Defaults to 16 MiB. */
  maxTextBytes?: number;
  /**
   * Performance preset: `auto` (sized from this machine), `local`, `cloud`, `hybrid`, or `naive`
   * (one at a time, no cache: the benchmark's baseline). It sets `batchSize`, `concurrency`,
   * `workers`, `cmModels`, `similarityThreshold`, `itemTimeoutMs`, the cache bounds and the llm contexts,
   * threads and GPU layers; options given explicitly win. Defaults to `"auto"`.
   */
  profile?: ProfileName;
  /** Memories per store transaction (and import checkpoint). Defaults to the profile's (32). */
  batchSize?: number;
  /** Memories coded at once during imports. Defaults to the profile's. */
  concurrency?: number;
  /** Worker threads for the classical codecs during batch writes; `0` codes on the main thread. Defaults to the profile's (one per core). */
  workers?: number;
  /**
   * `cm` models (each namespace's trained context model, 26–55 MiB each) kept loaded per thread while the engine is
   * open — the main thread and each codec worker —; past it the least recently used is dropped and loaded again when
   * used (0.2–0.3 s from the derived state). Defaults to the profile's (auto: within 1/16 of RAM over the main thread and
   * the workers, 2 to 16; local 8, cloud 4).
   */
  cmModels?: number;
  /** Cosine similarity at or above which memories of a batch are grouped to share a dictionary; `1` turns grouping off. Defaults to the profile's (0.85). */
  similarityThreshold?: number;
  /** A memory the model has not coded within this many milliseconds falls to the classical codecs; `0`: no limit. Defaults to the profile's. */
  itemTimeoutMs?: number;
  /**
   * After an import, a namespace with at least this many memories gets the assets its codecs
   * lack (dictionary, context-model snapshot) trained, and its memories recoded where that makes
   * them smaller; `0` turns this off.
   * Defaults to `200`.
   */
  autoTrainAfter?: number;
  /**
   * Cache of decoded texts for `recall` (keyed by the envelope's content) and of proven envelopes
   * for writes (keyed by the text and the codec setup): `"memory"` (an LRU bounded as the profile
   * says: local 50,000 entries / 2 h, cloud 10,000 / 1 h), `"off"`, or any `Cache` (a `TieredCache` with a disk tier, say).
   * A `redis://` URL puts that LRU in front of a Redis tier shared by every process of the store
   * (keys prefixed per store, TTL in Redis, values over 1 MiB not cached; an unreachable Redis is
   * counted in `cacheStats().failures` and memzip carries on with the in-process tier).
   * Defaults to `"memory"`.
   */
  cache?: CacheKind | RedisUrl | Cache;
  /**
   * A GGUF model (registered name, fingerprint or path) for the `llm` codec. When set, the policy
   * also tries `llm` for every memory and keeps it where its verified envelope is the smallest.
   * Defaults to `""` (no model: classical and `cm` codecs only).
   */
  model?: string;
  /**
   * Stop trying the model where it keeps losing: per namespace and text class, after 4 losses in a
   * row it is skipped and retried after 8, 16, … (at most 256) skipped memories, and a win resets it;
   * an import into a namespace not trained yet leaves the model to the recode that ends it. Never
   * random (same input, same bytes). `false`: try the model for every memory. Defaults to `true`.
   */
  skipLosingModel?: boolean;
  /** How the `llm` codec runs (threads, contexts, GPU) and codes (top-K, window). */
  llm?: Partial<LlmOptions>;
  /**
   * Semantic features: text-generation backends (embedded llama, Ollama, OpenAI-compatible) that
   * write a summary and entities beside each memory's exact envelope. Off when absent: memories
   * are then stored exactly and report `semantic: "off"`.
   */
  semantic?: SemanticOptions;
  /**
   * What search embeds with: `""` (the default) for the model-free `ngram-256`, or the path of a
   * GGUF embedding model (node-llama-cpp, CPU or GPU as `llm.gpu` says). Changing it re-indexes.
   */
  searchEmbedder?: string;
  /**
   * How the search index stores vectors: `binary` (1 bit a dimension, 32 bytes for ngram-256),
   * `ternary` (2 bits: −1, 0, +1), `int8` or `float16`. Changing it re-indexes. Defaults to `"ternary"`.
   */
  searchVectors?: VectorEncodingName;
  /**
   * Rank searches on a worker thread with its own connection that only reads (a SQLite store file and the
   * built-in n-gram embedder only; otherwise searches stay on the calling thread), so a server uses
   * a second core. Same hits either way: each search sends the thread what this engine's connection
   * changed in the index since the one before (docs/SEARCH.md). Defaults to `false`; `memzip serve` turns it on.
   */
  searchThread?: boolean;
  /**
   * Copy a SQLite store's write-ahead log back into the file on a worker thread with its own
   * connection, every 200 ms, instead of inside the commit that fills it (every ~200 single writes,
   * stalling that thread for tens of ms). Same durability. Defaults to `false`; `memzip serve` turns it on.
   */
  checkpointThread?: boolean;
  /**
   * Decode a memory whose `cm` model is not loaded on the calling thread on a codec worker instead (with `workers`),
   * so that no read loads a model there (~0.1–0.3 s of work on a server's event loop): a server's first read of each
   * tenant does, and with more tenants than `cmModels` nearly every read.
   * (Without it such a load runs on the calling thread a slice at a time, other work going on between the slices.)
   * The price: such reads go to a worker from then on (a round trip each), and each worker loads each model.
   * `npm run bench:tenants` compares the two (BENCHMARKS.md, "Loading a model off the event loop"). Defaults to
   * `false`. Config key `modelLoadThread`, environment `MEMZIP_MODEL_LOAD_THREAD` (true/false).
   */
  modelLoadThread?: boolean;
  /**
   * Pack a SQLite store's memories into sealed blocks at the end of each import and at `compact`
   * (docs/STORE.md "Sealed blocks"). Defaults to `true`; `false` keeps new rows in the row layout (blocks
   * sealed earlier stay sealed until a write moves them back). Ignored by other stores. Config key `seal`,
   * environment `MEMZIP_SEAL` (true/false).
   */
  seal?: boolean;
  /**
   * `cm` before a namespace has a snapshot of its own: its memories may be coded with the base model
   * shipped with memzip (assets/cm-base-v*.mzcm, docs/CM.md "Base model"), not stored in the store;
   * the policy still keeps the smallest envelope, and the namespace's own snapshot takes over once
   * trained (`autoTrainAfter`). Needs `cm` among `codecs`. Defaults to `true`. Config key `cmBase`,
   * environment `MEMZIP_CM_BASE` (true/false).
   */
  cmBase?: boolean;
  /**
   * The engine's clock (ms since the epoch): creation and replacement times, expiry (`expiresAt`,
   * TTLs) and which memories reads treat as expired. Tests pass a fixed one. Defaults to `Date.now`.
   */
  clock?: () => number;
}

export const ENGINE_DEFAULTS = {
  namespace: "default",
  codecs: ["raw", "zstd", "zstd-dict", "cm", "cm-ref"],
  zstdLevel: 19,
  rawBelow: 16,
  maxTextBytes: DEFAULT_MAX_TEXT_BYTES,
  autoTrainAfter: 200,
  cache: "memory",
  model: "",
  skipLosingModel: true,
  llm: LLM_DEFAULTS,
  searchEmbedder: "",
  searchVectors: DEFAULT_VECTOR_ENCODING,
  searchThread: false,
  checkpointThread: false,
  modelLoadThread: false,
  seal: true,
  cmBase: true,
  clock: Date.now,
} as const satisfies Omit<Required<EngineOptions>, "db" | ProfileField>;

/** Options whose defaults come from the profile. */
type ProfileField = "profile" | "batchSize" | "concurrency" | "workers" | "cmModels" | "similarityThreshold" | "itemTimeoutMs" | "semantic";

export type ResolvedEngineOptions = Required<Omit<EngineOptions, "db" | "llm" | "profile" | "semantic">> & {
  llm: LlmOptions;
  profile: Profile;
  semantic: SemanticOptions | undefined;
};

/** Engine options over the profile's settings over the defaults, validated. */
/** Every key of `EngineOptions` (the compiler checks that none is missing). */
export const ENGINE_OPTION_KEYS = ["db", "namespace", "codecs", "zstdLevel", "rawBelow", "maxTextBytes", "profile", "batchSize", "concurrency", "workers", "cmModels", "similarityThreshold", "itemTimeoutMs", "autoTrainAfter", "cache", "model", "skipLosingModel", "llm", "semantic", "searchEmbedder", "searchVectors", "searchThread", "checkpointThread", "modelLoadThread", "seal", "cmBase", "clock"] as const satisfies readonly (keyof EngineOptions)[];
type UnlistedOption = Exclude<keyof EngineOptions, (typeof ENGINE_OPTION_KEYS)[number]>;
/** A compile error names an `EngineOptions` key missing from ENGINE_OPTION_KEYS. */
export const EVERY_ENGINE_OPTION_LISTED: [UnlistedOption] extends [never] ? true : UnlistedOption = true;

/**
 * Refuses a key `Engine.open` / `Engine.create` does not know (E_USAGE naming the nearest known one): a mistyped
 * option was ignored, and `readonly: true` (for `readOnly`) opened a store for writing.
 */
export function checkOptionKeys(options: object, known: readonly string[]): void {
  if (typeof options !== "object" || options === null) return;
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
    throw new MemzipError(ErrorCode.USAGE, `invalid engine option: unknown option ${JSON.stringify(key)}`, {
      hint: near !== undefined ? `Did you mean ${near}?` : `The options are ${known.join(", ")} (EngineOptions).`,
      details: { option: key },
    });
  }
}

export function resolveEngineOptions(options: Omit<EngineOptions, "db">): ResolvedEngineOptions {
  const name = options.profile ?? "auto";
  if (!isProfileName(name)) {
    throw new MemzipError(ErrorCode.USAGE, `invalid engine option: unknown profile "${String(name)}"`, { hint: `Choose one of ${PROFILE_NAMES.join(", ")}.` });
  }
  const profile = name === "auto" ? autoProfile(options.model ?? "") : resolveProfile(name, hardwareFromOs());
  const fromProfile = {
    batchSize: profile.batchSize,
    concurrency: profile.concurrency,
    workers: profile.workers,
    cmModels: profile.cmModels,
    similarityThreshold: profile.similarityThreshold,
    itemTimeoutMs: profile.itemTimeoutMs,
  };
  const { llm, semantic, ...rest } = options;
  const profileLlm = { contexts: profile.llm.contexts, threads: profile.llm.threads, gpuLayers: profile.llm.gpuLayers, workers: profile.llm.workers };
  return validateEngineOptions({ ...ENGINE_DEFAULTS, ...fromProfile, ...stripUndefined(rest), llm: { ...LLM_DEFAULTS, ...profileLlm, ...stripUndefined(llm ?? {}) } }, profile, semantic);
}

/**
 * `auto` on this machine: the calibration in the user cache directory when one was made here
 * (for the `llm` part, with this model file), else the arithmetic. Never fails: a cache that cannot
 * be read or does not validate is named in the profile's reasons and left aside.
 */
export function autoProfile(model: string, env: NodeJS.ProcessEnv = process.env): Profile {
  const hardware = hardwareFromOs();
  const { ignored, ...calibration } = loadCalibration(hardwareFingerprint(hardware.cpuCores, hardware.ramBytes), model, env);
  const profile = resolveProfile("auto", hardware, 0, calibration);
  // A classical calibration (`profile calibrate` without --model) sizes concurrency for the codec workers
  // alone; with a model configured but not calibrated, every arithmetic context stays fed.
  if (model !== "" && calibration.classical && !calibration.llm && profile.concurrency < profile.llm.contexts) {
    profile.concurrency = profile.llm.contexts;
    profile.reasons.push(`concurrency ${profile.concurrency}: the calibrated ${calibration.classical.concurrency} raised to the ${profile.llm.contexts} llm contexts of the arithmetic (the model is not calibrated)`);
  }
  if (ignored) profile.reasons.push(`calibration not used: ${ignored}`);
  return profile;
}

/** Checks options that came from outside (a library caller, a config file) and names what is wrong. */
function validateEngineOptions(input: Required<Omit<EngineOptions, "db" | "profile" | "semantic">>, profile: Profile, semantic: SemanticOptions | undefined): ResolvedEngineOptions {
  const options: ResolvedEngineOptions = {
    ...input,
    profile,
    llm: { ...LLM_DEFAULTS, ...stripUndefined(input.llm ?? {}) },
    semantic: semantic === undefined ? undefined : validateSemanticOptions(semantic, "invalid engine option: semantic"),
  };
  // A CLI user has no src/engine-options.ts to read (trial43): the README's table gives each setting's range, and where it is set.
  const fail = (message: string, hint = "Fix the setting where it is given (--config file, MEMZIP_* variable or flag; flags win); README, Configuration, lists each one's range (the library: EngineOptions)."): never => {
    throw new MemzipError(ErrorCode.USAGE, `invalid engine option: ${message}`, { hint });
  };
  const wholeNumber = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) fail(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  };
  if (!NAMESPACE_PATTERN.test(options.namespace)) {
    fail(`namespace "${options.namespace}" must be 1–128 letters, digits or _.:@-`, "Name the namespace with letters, digits and _ . : @ - only (e.g. agent-7 or team.notes), with -n / --namespace, MEMZIP_NAMESPACE or the config's namespace.");
  }
  if (!Array.isArray(options.codecs) || options.codecs.length === 0) fail("codecs must name at least one codec");
  for (const name of options.codecs) if (!isCodecName(name)) fail(`unknown codec "${name}"; choose from ${CODEC_NAMES.join(", ")}`);
  wholeNumber("zstdLevel", options.zstdLevel, 1, 19);
  if (typeof options.searchEmbedder !== "string") fail("searchEmbedder must be the path of a GGUF embedding model, or empty");
  if (!isVectorEncodingName(options.searchVectors)) fail(`searchVectors must be one of ${VECTOR_ENCODING_NAMES.join(", ")}, got ${String(options.searchVectors)}`);
  wholeNumber("rawBelow", options.rawBelow, 0, 1 << 20);
  wholeNumber("maxTextBytes", options.maxTextBytes, 1, 1 << 30);
  wholeNumber("batchSize", options.batchSize, 1, 1_000_000);
  wholeNumber("autoTrainAfter", options.autoTrainAfter, 0, Number.MAX_SAFE_INTEGER);
  wholeNumber("concurrency", options.concurrency, 1, 4096);
  wholeNumber("workers", options.workers, 0, 256);
  // Two at least: a recode reads with a namespace's old snapshot while it writes with the new one.
  wholeNumber("cmModels", options.cmModels, 2, 256);
  wholeNumber("itemTimeoutMs", options.itemTimeoutMs, 0, 24 * 60 * 60 * 1000);
  if (!(typeof options.similarityThreshold === "number" && options.similarityThreshold > 0 && options.similarityThreshold <= 1)) {
    fail(`similarityThreshold must be a number in (0, 1], got ${String(options.similarityThreshold)}`);
  }
  const { cache } = options;
  if (cache !== "memory" && cache !== "disk" && cache !== "off" && !isRedisUrl(cache) && (typeof cache !== "object" || cache === null || typeof cache.get !== "function")) {
    fail('cache must be "memory", "disk", "off", a redis:// URL or a Cache');
  }
  if (typeof options.clock !== "function") fail("clock must be a function returning milliseconds since the epoch");
  if (typeof options.model !== "string") fail("model must be a model name, fingerprint or GGUF path");
  if (typeof options.skipLosingModel !== "boolean") fail(`skipLosingModel must be true or false, got ${String(options.skipLosingModel)}`);
  const { llm } = options;
  wholeNumber("llm.threads", llm.threads, 1, 256);
  wholeNumber("llm.contexts", llm.contexts, 1, 256);
  wholeNumber("llm.workers", llm.workers, 0, 64);
  wholeNumber("llm.topK", llm.topK, 0, 1 << 20);
  wholeNumber("llm.windowTokens", llm.windowTokens, 0, 1 << 20);
  wholeNumber("llm.carryTokens", llm.carryTokens, 0, 1 << 20);
  if (llm.windowTokens !== 0 && llm.windowTokens < 16) fail("llm.windowTokens must be 0 (the model's context) or at least 16");
  if (llm.windowTokens !== 0 && llm.carryTokens >= llm.windowTokens - 2) fail("llm.carryTokens must leave room in the window");
  if (llm.gpu !== "auto" && llm.gpu !== false) fail('llm.gpu must be "auto" or false');
  if (typeof llm.mix !== "boolean") fail(`llm.mix must be true or false, got ${String(llm.mix)}`);
  if (llm.gpuLayers !== "auto" && !(Number.isInteger(llm.gpuLayers) && llm.gpuLayers >= 0)) fail('llm.gpuLayers must be "auto" or a whole number');
  return options;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
