import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type * as Yaml from "yaml";
import { z } from "zod";
import { homedir } from "node:os";
import { join } from "node:path";
import { MemzipError, ErrorCode } from "../errors.js";
import { CACHE_KINDS, choices, isOneOf, isRedisUrl, PROFILE_NAMES, type CacheKind, type RedisUrl } from "../core/vocabulary.js";
import type { EngineOptions } from "../engine-options.js";

/**
 * `memzip serve`'s settings: the `serve` section of a config file, or `$MEMZIP_SERVE` as JSON; the
 * command's flags go over them (`--host`, `--port`, `--cors`, `--rate`, `--max-body`, `--max-text`,
 * `--warm`, `--metrics-public`). Every field is optional; the defaults are the flags'.
 */
export const ServeSettingsSchema = z
  .object({
    host: z.string().min(1).describe("address to bind (default 127.0.0.1)"),
    port: z.number().int().min(0).max(65535).describe("port (default 7411; 0 picks a free one)"),
    cors: z
      .array(z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, "an origin such as https://app.example.com (scheme and host, no path), or *"))
      .describe("origins browsers may call from (default: none, CORS off)"),
    rate: z.number().int().min(0).max(1_000_000).describe("requests per second per key, burst 2x (default 200; 0 = no limit)"),
    maxBody: z.number().int().min(1024).max(2 ** 30).describe("largest JSON request body in bytes (default 8388608)"),
    maxText: z.number().int().min(1).max(2 ** 30).describe("largest text of one memory in bytes (default 1048576)"),
    maxWrites: z.number().int().min(1).max(1_000_000).describe("write requests coded at once (default 64; 503 with Retry-After beyond)"),
    warm: z.number().int().min(0).max(1_000_000).describe("memories decoded into the cache after start (default 500; 0 = off)"),
    metricsPublic: z.boolean().describe("serve /metrics without a key (default false)"),
    shutdownGrace: z.number().int().min(0).max(3600).describe("on SIGTERM, seconds requests in flight may take before every connection is cut (default 10)"),
  })
  .partial()
  .strict();
export type ServeSettings = z.infer<typeof ServeSettingsSchema>;

/** What a config file or the environment may set: the engine options that are plain values, and `serve`'s settings. */
export type FileConfig = Omit<EngineOptions, "cache" | "clock" | "searchThread" | "checkpointThread" | "skipLosingModel"> & { cache?: CacheKind | RedisUrl; serve?: ServeSettings };

type Kind = "string" | "integer" | "number" | "boolean" | "codecs" | "cache" | "object" | "profile" | "serve";
const FIELDS: Record<keyof FileConfig, { kind: Kind; env: string }> = {
  db: { kind: "string", env: "MEMZIP_DB" },
  namespace: { kind: "string", env: "MEMZIP_NAMESPACE" },
  codecs: { kind: "codecs", env: "MEMZIP_CODECS" },
  zstdLevel: { kind: "integer", env: "MEMZIP_ZSTD_LEVEL" },
  rawBelow: { kind: "integer", env: "MEMZIP_RAW_BELOW" },
  maxTextBytes: { kind: "integer", env: "MEMZIP_MAX_TEXT_BYTES" },
  profile: { kind: "profile", env: "MEMZIP_PROFILE" },
  batchSize: { kind: "integer", env: "MEMZIP_BATCH_SIZE" },
  concurrency: { kind: "integer", env: "MEMZIP_CONCURRENCY" },
  workers: { kind: "integer", env: "MEMZIP_WORKERS" },
  /** `cm` models kept loaded for reads across namespaces (a server of many tenants: one per tenant read often). */
  cmModels: { kind: "integer", env: "MEMZIP_CM_MODELS" },
  /** Reads whose `cm` model this thread has not loaded decode on a codec worker (default false). */
  modelLoadThread: { kind: "boolean", env: "MEMZIP_MODEL_LOAD_THREAD" },
  similarityThreshold: { kind: "number", env: "MEMZIP_SIMILARITY_THRESHOLD" },
  itemTimeoutMs: { kind: "integer", env: "MEMZIP_ITEM_TIMEOUT_MS" },
  autoTrainAfter: { kind: "integer", env: "MEMZIP_AUTO_TRAIN_AFTER" },
  cache: { kind: "cache", env: "MEMZIP_CACHE" },
  model: { kind: "string", env: "MEMZIP_MODEL" },
  searchEmbedder: { kind: "string", env: "MEMZIP_SEARCH_EMBEDDER" },
  searchVectors: { kind: "string", env: "MEMZIP_SEARCH_VECTORS" },
  /** Sealed blocks at import ends and compact (SQLite; default true); MEMZIP_SEAL=false keeps the row layout. */
  seal: { kind: "boolean", env: "MEMZIP_SEAL" },
  /** `cm` with the shipped base model before a namespace has its own snapshot (default false). */
  cmBase: { kind: "boolean", env: "MEMZIP_CM_BASE" },
  /** In the environment as JSON, e.g. MEMZIP_LLM='{"contexts":2}'. */
  llm: { kind: "object", env: "MEMZIP_LLM" },
  /** Backends for summaries and entities; checked in full when the engine opens. */
  semantic: { kind: "object", env: "MEMZIP_SEMANTIC" },
  /** `memzip serve`'s settings (ServeSettingsSchema); in the environment as JSON, e.g. MEMZIP_SERVE='{"port":8080}'. */
  serve: { kind: "serve", env: "MEMZIP_SERVE" },
};

/** The yaml package loads in ~0.1 s, so only a YAML config file pays for it (synchronously: loading config is). */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)("yaml") as typeof Yaml;
  return yaml.parse(text);
}

/**
 * `$MEMZIP_CONFIG`, else `config.json`, `config.yaml` or `config.yml` (the first that exists) in
 * `$XDG_CONFIG_HOME/memzip/` or `~/.config/memzip/`.
 */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEMZIP_CONFIG) return env.MEMZIP_CONFIG;
  const dir = join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "memzip");
  const candidates = ["config.json", "config.yaml", "config.yml"].map((name) => join(dir, name));
  return candidates.find((path) => existsSync(path)) ?? (candidates[0] as string);
}

/**
 * Engine options from a JSON or YAML config file, then `MEMZIP_*` environment variables over it; flags go
 * over both (the caller's part). The file may be missing unless it was named explicitly. Values are
 * type-checked here, ranges by the engine, and every error names where the value came from.
 */
export function loadConfig(options: { path?: string; env?: NodeJS.ProcessEnv } = {}): FileConfig {
  const env = options.env ?? process.env;
  const path = options.path ?? defaultConfigPath(env);
  const config: FileConfig = {};
  if (options.path !== undefined || existsSync(path)) {
    let parsed: unknown;
    try {
      const text = readFileSync(path, "utf8");
      parsed = /\.ya?ml$/i.test(path) ? (parseYaml(text) as unknown) : JSON.parse(text);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        throw new MemzipError(ErrorCode.NOT_FOUND, `no such config file: ${path}`, { hint: "Check the path given as --config (or $MEMZIP_CONFIG), or leave it out to use the defaults.", cause, details: { path } });
      }
      throw configError(`cannot read config file ${path}: ${(cause as Error).message}`, cause);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw configError(`config file ${path} must hold a JSON object`);
    for (const [key, value] of Object.entries(parsed)) {
      if (!Object.hasOwn(FIELDS, key)) throw configError(`config file ${path}: unknown setting "${key}"; known: ${Object.keys(FIELDS).join(", ")}`);
      assign(config, key as keyof FileConfig, value, `${path}: "${key}"`);
    }
  }
  for (const [key, field] of Object.entries(FIELDS) as [keyof FileConfig, { kind: Kind; env: string }][]) {
    const raw = env[field.env];
    if (raw === undefined || raw === "") continue;
    // Not a number: the check refuses the text as typed ("abc"), not the NaN it reads as.
    const number = Number(raw);
    const value = field.kind === "integer" || field.kind === "number" ? (Number.isNaN(number) ? raw : number) : field.kind === "boolean" ? parseBoolean(raw) : field.kind === "codecs" ? raw.split(",").map((c) => c.trim()) : field.kind === "object" || field.kind === "serve" ? parseJson(raw, field.env) : raw;
    assign(config, key, value, field.env);
  }
  return config;
}

/** Where settings come from; each source goes over the one before. */
export interface ConfigSources {
  /** A config file named explicitly (it must exist); else `$MEMZIP_CONFIG` or the default file, if there is one. */
  file?: string;
  /** `MEMZIP_*` variables (default: `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Settings given with the request or command (flags), checked like the file's; `llm` merges into the file's and environment's. */
  flags?: FileConfig;
}

/**
 * The engine options a front end opens the engine with: the config file, then `MEMZIP_*` variables,
 * then flags. Every value is type-checked and an error names its source; ranges are the engine's.
 */
export function resolveConfig(sources: ConfigSources = {}): FileConfig {
  const config = loadConfig({ ...(sources.file === undefined ? {} : { path: sources.file }), ...(sources.env ? { env: sources.env } : {}) });
  const flags: FileConfig = {};
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    if (!Object.hasOwn(FIELDS, key)) throw configError(`unknown setting "${key}"; known: ${Object.keys(FIELDS).join(", ")}`);
    assign(flags, key as keyof FileConfig, value, `flag "${key}"`);
  }
  const llm = flags.llm && config.llm ? { ...config.llm, ...flags.llm } : (flags.llm ?? config.llm);
  const serve = flags.serve && config.serve ? { ...config.serve, ...flags.serve } : (flags.serve ?? config.serve);
  return { ...config, ...flags, ...(llm ? { llm } : {}), ...(serve ? { serve } : {}) };
}

function assign(config: FileConfig, key: keyof FileConfig, value: unknown, where: string): void {
  const { kind } = FIELDS[key];
  if (kind === "serve") {
    const parsed = ServeSettingsSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.length ? `.${issue.path.join(".")}` : "";
      throw configError(`${where}${path}: ${issue?.message ?? "invalid"}; serve takes ${Object.keys(ServeSettingsSchema.shape).join(", ")}`);
    }
    config.serve = { ...config.serve, ...parsed.data }; // MEMZIP_SERVE goes over the file field by field
    return;
  }
  const checks: Record<Kind, (v: unknown) => boolean> = {
    string: (v) => typeof v === "string" && v !== "",
    integer: (v) => Number.isInteger(v),
    number: (v) => typeof v === "number" && Number.isFinite(v),
    boolean: (v) => typeof v === "boolean",
    codecs: (v) => Array.isArray(v) && v.every((c) => typeof c === "string"),
    object: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
    cache: (v) => isOneOf(CACHE_KINDS, v) || isRedisUrl(v),
    profile: (v) => isOneOf(PROFILE_NAMES, v),
    serve: () => true,
  };
  const ok = checks[kind](value);
  const expected = {
    codecs: "a list of codec names",
    cache: `${choices(CACHE_KINDS.map((k) => JSON.stringify(k)))} or a redis:// URL`,
    integer: "an integer",
    number: "a number",
    boolean: "true or false",
    string: "a non-empty string",
    object: "a JSON object",
    profile: `one of ${PROFILE_NAMES.join(", ")}`,
    serve: "serve settings",
  }[kind];
  if (!ok) throw configError(`${where} must be ${expected}, got ${JSON.stringify(value)}`);
  (config as Record<string, unknown>)[key] = value;
}

/** An environment variable's boolean: true/1 or false/0 (anything else is left as text, refused by the check). */
function parseBoolean(raw: string): boolean | string {
  const value = raw.trim().toLowerCase();
  return value === "true" || value === "1" ? true : value === "false" || value === "0" ? false : raw;
}

function parseJson(raw: string, where: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (cause) {
    throw configError(`${where} must hold JSON: ${(cause as Error).message}`, cause);
  }
}

function configError(message: string, cause?: unknown): MemzipError {
  return new MemzipError(ErrorCode.USAGE, message, { hint: "Fix the setting, or unset it to use the default (see README, Configuration).", cause });
}
