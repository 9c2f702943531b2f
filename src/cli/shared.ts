import { loadConfig } from "../config/load.js";
import { defaultDbPath } from "../core/paths.js";
import { parseProfileName } from "../core/profiles.js";
import { Engine } from "../engine.js";
import { isWriteCodecName, type EngineOptions, type WriteCodecName } from "../engine-options.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { CODEC_NAMES } from "../codec/registry.js";
import type { CommandContext } from "./command.js";

/** The engine with settings from the config file, then MEMZIP_* variables, then flags. */
export function openEngine(context: CommandContext, extra: EngineOptions = {}, access: { readOnly?: boolean } = {}): Engine {
  const { db, namespace, config, model } = context.values;
  const zstdLevel = parseInteger(context.values["zstd-level"], "zstd-level", 1, 19);
  const contexts = parseInteger(context.values.contexts, "contexts", 1, 256);
  const workers = parseInteger(context.values.workers, "workers", 0, 256);
  const profile = typeof context.values.profile === "string" ? parseProfileName(context.values.profile, "--profile") : undefined;
  const settings = { ...loadConfig(typeof config === "string" ? { path: config } : {}), ...extra };
  return Engine.open({
    ...settings,
    ...(typeof db === "string" ? { db } : {}),
    ...(typeof namespace === "string" ? { namespace } : {}),
    ...(zstdLevel === undefined ? {} : { zstdLevel }),
    ...(typeof model === "string" ? { model } : {}),
    ...(profile ? { profile } : {}),
    ...(workers === undefined ? {} : { workers }),
    ...(contexts === undefined ? {} : { llm: { ...settings.llm, contexts } }),
    ...(access.readOnly ? { readOnly: true } : {}),
  });
}

/** Prints `value` as JSON with --json, else the human text. */
export function emit(context: CommandContext, value: unknown, human: string): void {
  context.stdout.write(context.json ? `${JSON.stringify(value, null, 2)}\n` : human.endsWith("\n") ? human : `${human}\n`);
}

export function requirePositional(context: CommandContext, index: number, name: string): string {
  const value = context.positionals[index];
  if (value === undefined) throw usage(`missing ${name}`);
  return value;
}

export function parseCodec(value: unknown): WriteCodecName | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !isWriteCodecName(value)) throw usage(`unknown codec "${String(value)}"; choose one of ${[...CODEC_NAMES, "llm"].join(", ")}`);
  return value;
}

export function parseInteger(value: unknown, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) throw usage(`--${flag} must be a whole number from ${min} to ${max}`);
  return number;
}

export function usage(message: string): MemzipError {
  return new MemzipError(ErrorCode.USAGE, message, { hint: "Run `memzip help` or `memzip COMMAND --help`." });
}

export function bpb(value: number): string {
  return value.toFixed(3);
}

/** A value given as --flag or, failing that, as the first positional. */
export function requirePositionalOrFlag(context: CommandContext, flag: string): string {
  const value = context.values[flag] ?? context.positionals[0];
  if (typeof value !== "string") throw usage(`missing --${flag}`);
  return value;
}

/** The store file `openEngine` opens for these flags: --db, else the config's (or $MEMZIP_DB), else the default. */
export function storePath(context: CommandContext): string {
  const { db, config } = context.values;
  if (typeof db === "string") return db;
  return loadConfig(typeof config === "string" ? { path: config } : {}).db ?? defaultDbPath();
}
