import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { DEFAULT_MAX_TEXT_BYTES, bytesToText } from "../codec/text.js";
import { resolveConfig, type FileConfig } from "../config/load.js";
import { defaultDbPath } from "../core/paths.js";
import { parseProfileName } from "../core/profiles.js";
import { decimalInteger, parseFilterText } from "../core/filter.js";
import { isLocalStoreFile, printableLocation } from "../store/open.js";
import type { MemoryFilter } from "../core/store.js";
import { choices, isOneOf, MEMORY_KINDS, WRITE_CODEC_NAMES, type WriteCodecName } from "../core/vocabulary.js";
import { Engine } from "../engine.js";
import type { EngineOptions } from "../engine-options.js";
import { MemzipError, ErrorCode, resourceError } from "../errors.js";
import type { CommandContext } from "./command.js";

/** The settings the flags give (a command declares only the flags it takes; the others stay unset). */
export function flagSettings(context: CommandContext): FileConfig {
  const { db, namespace, model, cache } = context.values;
  const zstdLevel = parseInteger(context.values["zstd-level"], "zstd-level", 1, 19);
  const contexts = parseInteger(context.values.contexts, "contexts", 1, 256);
  const workers = parseInteger(context.values.workers, "workers", 0, 256);
  const profile = typeof context.values.profile === "string" ? parseProfileName(context.values.profile, "--profile") : undefined;
  return {
    ...(typeof db === "string" ? { db } : {}),
    ...(typeof namespace === "string" ? { namespace } : {}),
    ...(zstdLevel === undefined ? {} : { zstdLevel }),
    ...(typeof model === "string" ? { model } : {}),
    ...(typeof cache === "string" ? { cache: cache as NonNullable<FileConfig["cache"]> } : {}),
    ...(profile ? { profile } : {}),
    ...(workers === undefined ? {} : { workers }),
    ...(contexts === undefined ? {} : { llm: { contexts } }),
  };
}

/** The largest text a write takes under this command's settings (maxTextBytes): what `--file` and stdin are read up to. */
export function textLimitOf(context: CommandContext): number {
  return settingsOf(context).maxTextBytes ?? DEFAULT_MAX_TEXT_BYTES;
}

/** A text given as a file or stdin ("-"), read up to this command's text limit and checked as UTF-8 against the same limit. */
export function readInputText(context: CommandContext, path: string, flag = "--file"): string {
  const limit = textLimitOf(context);
  return bytesToText(readInputFile(path, flag, limit), limit);
}

/** The settings of the config file, then MEMZIP_* variables, then flags (`resolveConfig`). */
export function settingsOf(context: CommandContext): FileConfig {
  const { config } = context.values;
  return resolveConfig({ ...(typeof config === "string" ? { file: config } : {}), flags: flagSettings(context) });
}

/**
 * How a command may open the store. By default the store must exist (a missing one is E_NOT_FOUND
 * naming the path, and nothing is created); `readOnly` also writes nothing; `create` (commands that add
 * memories, and the set-up steps before them) makes a missing store, and says so on stderr.
 */
export interface StoreAccess {
  readOnly?: boolean;
  /** With `readOnly`: searches of a store this account may not write index a private copy (`Engine.open`). */
  searchable?: boolean;
  create?: boolean;
}

/**
 * The namespace a command reads (`-n`, or for `recode` the configured one), checked against the store: where it holds no
 * memory, a warning on stderr names the namespaces it does hold. A typo made `verify -n` say "checked 0, failed 0" and
 * `export -n` write nothing, silently (trial43); a tenant nothing was written to yet is a fair question (a key can name
 * it before its first write), so the answer and the exit code stay.
 */
export async function warnIfEmptyNamespace(engine: Engine, context: CommandContext, namespace: string | undefined): Promise<void> {
  if (namespace === undefined) return;
  const held = await engine.namespaces();
  if (held.includes(namespace)) return;
  const list = held.length === 0 ? "none: the store is empty" : `${held.slice(0, 10).join(", ")}${held.length > 10 ? ` and ${held.length - 10} more` : ""}`;
  context.stderr.write(`memzip: warning: the store holds no memory in namespace ${JSON.stringify(namespace)} (its namespaces: ${list})\n`);
}

/** The engine with settings from the config file, then MEMZIP_* variables, then flags, then `extra`. */
export function openEngine(context: CommandContext, extra: EngineOptions = {}, access: StoreAccess = {}): Engine {
  const settings = settingsOf(context);
  delete settings.serve; // `memzip serve`'s own settings, not the engine's
  const path = settings.db ?? defaultDbPath();
  const engine = Engine.open({ ...settings, ...extra, ...(access.readOnly ? { readOnly: true, ...(access.searchable ? { searchable: true } : {}) } : access.create ? {} : { mustExist: true }) });
  // A mistyped --db makes a new store: the user reads where. Said by the process that made it (of two
  // imports into a new file at once, the one whose open wrote the schema), not by every one that found no file.
  if (engine.createdStore && isLocalStoreFile(path)) context.stderr.write(`memzip: created a new store at ${path}\n`);
  return engine;
}

/** Prints `value` as JSON with --json, else the human text. */
export function emit(context: CommandContext, value: unknown, human: string): void {
  context.stdout.write(context.json ? `${JSON.stringify(value, null, 2)}\n` : human.endsWith("\n") ? human : `${human}\n`);
}

/** Refuses the flags among `flags` that were given to an action that does not take them (`owner` does): never ignored. */
export function refuseFlags(context: CommandContext, action: string, flags: readonly string[], owner: string): void {
  const given = flags.filter((flag) => context.values[flag] !== undefined);
  if (given.length > 0) throw usage(`${action} takes no ${given.map((flag) => `--${flag}`).join(", ")} (${given.length > 1 ? "they are" : "it is"} for ${owner})`);
}

export function requirePositional(context: CommandContext, index: number, name: string): string {
  const value = context.positionals[index];
  if (value === undefined) throw usage(`missing ${name}`);
  // No id, name, path or action is empty: an unset shell variable (`memzip get "$ID"`) is named as such.
  if (value === "") throw usage(`empty ${name} (an unset shell variable?)`);
  return value;
}

export function parseCodec(value: unknown): WriteCodecName | undefined {
  if (value === undefined) return undefined;
  if (!isOneOf(WRITE_CODEC_NAMES, value)) throw usage(`unknown codec "${String(value)}"; choose one of ${WRITE_CODEC_NAMES.join(", ")}`);
  return value;
}

/** A flag whose value is one word of a vocabulary; `fallback` when it is not given. */
export function parseChoice<const T extends string>(words: readonly T[], value: unknown, flag: string, fallback: T): T;
export function parseChoice<const T extends string>(words: readonly T[], value: unknown, flag: string): T | undefined;
export function parseChoice<const T extends string>(words: readonly T[], value: unknown, flag: string, fallback?: T): T | undefined {
  if (value === undefined) return fallback;
  if (!isOneOf(words, value)) throw usage(`--${flag} must be ${choices(words)}, not "${String(value)}"`);
  return value;
}

export function parseInteger(value: unknown, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  // Decimal digits, as HTTP's query strings take them: `--limit 0x10` or `1e1` was read as a number.
  const number = decimalInteger(value);
  if (number === undefined || number < min || number > max) throw usage(`--${flag} must be a whole number from ${min} to ${max}`);
  return number;
}

/** The hint of `usage` errors; the CLI replaces it by the running command's help. */
export const GENERAL_USAGE_HINT = "Run `memzip help` or `memzip COMMAND --help`.";

export function usage(message: string): MemzipError {
  return new MemzipError(ErrorCode.USAGE, message, { hint: GENERAL_USAGE_HINT });
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
  return settingsOf(context).db ?? defaultDbPath();
}

/** The bytes of an input file named on the command line ("-": stdin); a missing or unreadable file is a typed error naming it. */
export function readInputFile(path: string, flag = "--file", maxBytes?: number): Buffer {
  try {
    return maxBytes === undefined ? readFileSync(path === "-" ? 0 : path) : readBounded(path, flag, maxBytes);
  } catch (cause) {
    if (cause instanceof MemzipError) throw cause;
    throw inputFileError(cause, path, flag);
  }
}

/**
 * A text's input read only as far as its limit: `add --file /dev/zero` (or `yes | memzip add -`) read until memory ran
 * out (7.9 GB in 60 s) before the limit was checked.
 */
function readBounded(path: string, flag: string, maxBytes: number): Buffer {
  const fd = path === "-" ? 0 : openSync(path, "r");
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    // One buffer for every read, and a copy of what each read gave (a pipe gives ~64 KiB a read: a fresh 1 MiB
    // buffer each time held ~16x the text).
    const buffer = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1));
    for (;;) {
      const chunk = buffer.subarray(0, Math.min(buffer.length, maxBytes + 1 - total));
      let read: number;
      try {
        read = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        // A non-blocking standard input with nothing to read yet: wait a little, then read again.
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (read === 0) return Buffer.concat(chunks, total);
      chunks.push(Buffer.from(chunk.subarray(0, read)));
      total += read;
      if (total > maxBytes) {
        throw new MemzipError(ErrorCode.INVALID_INPUT, `the text given as ${path === "-" ? "standard input" : path} is over the limit of ${maxBytes} bytes (read so far: ${total})`, {
          hint: `Give a text of at most ${maxBytes} bytes${path === "-" ? "" : ` as ${flag}`}, or raise maxTextBytes (MEMZIP_MAX_TEXT_BYTES); a long document can be split into several memories.`,
          details: { path, maxBytes },
        });
      }
    }
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** The size of an input file named on the command line, with the same errors as `readInputFile`. */
export function inputFileSize(path: string, flag = "--file"): number {
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: "EISDIR" });
    return stat.size;
  } catch (cause) {
    throw inputFileError(cause, path, flag);
  }
}

function inputFileError(cause: unknown, path: string, flag: string): MemzipError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new MemzipError(ErrorCode.NOT_FOUND, `no such file: ${path}`, { hint: `Check the path given as ${flag}.`, cause, details: { path } });
  }
  if (code === "EISDIR") return new MemzipError(ErrorCode.USAGE, `${path} is a directory, not a file`, { hint: `Give a file as ${flag}.`, cause, details: { path } });
  if (code === "EACCES" || code === "EPERM") {
    return new MemzipError(ErrorCode.USAGE, `cannot read ${path}: permission denied`, { hint: "Make the file readable, or pass the text on stdin (-).", cause, details: { path } });
  }
  return resourceError(cause, `read ${path}`) ?? new MemzipError(ErrorCode.USAGE, `cannot read ${path}: ${(cause as Error).message}`, { hint: `Check the path given as ${flag}.`, cause, details: { path } });
}

/** The filter flags (FILTER_OPTIONS) as a filter, checked by the filter's one schema (namespaces are the command's own -n). */
export function parseFilter(context: CommandContext): Omit<MemoryFilter, "namespaces"> {
  const { values } = context;
  // An empty value is refused by the schema, not dropped: `rm --where -n NS --tag "$UNSET"` would match the whole namespace.
  const list = (flag: string) => (values[flag] as string[] | undefined) ?? [];
  return parseFilterText(
    {
      kind: parseChoice(MEMORY_KINDS, values.kind, "kind"),
      tag: list("tag"),
      anyTag: list("any-tag"),
      createdFrom: parseTime(values.since, "since"),
      createdBefore: parseTime(values.until, "until"),
      updatedFrom: parseTime(values["updated-since"], "updated-since"),
      updatedBefore: parseTime(values["updated-until"], "updated-until"),
      ...(values.meta === undefined ? {} : { meta: values.meta }),
    },
    { kind: "--kind", tag: "--tag", anyTag: "--any-tag", createdFrom: "--since", createdBefore: "--until", updatedFrom: "--updated-since", updatedBefore: "--updated-until", meta: "--meta" },
  );
}

/** The filter flags that were given (for commands that take them only in one mode, like `rm --where`). */
export const FILTER_FLAGS = ["kind", "tag", "any-tag", "since", "until", "updated-since", "updated-until", "meta"] as const;

const TTL = /^(\d{1,9})(d|h|m)$/;

/** `--ttl`: a duration like 30d, 12h or 90m, in ms (strict: a whole number above 0 and one unit). */
export function parseTtl(value: unknown, flag = "ttl"): number | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === "string" ? TTL.exec(value) : null;
  const ms = match ? Number(match[1]) * AGO_MS[match[2] as keyof typeof AGO_MS] : 0;
  if (!match || ms <= 0) {
    throw new MemzipError(ErrorCode.USAGE, `--${flag} ${JSON.stringify(String(value))} is not a duration`, {
      hint: `Give --${flag} as a whole number above 0 and one unit: d (days), h (hours) or m (minutes), e.g. 30d, 12h, 90m.`,
    });
  }
  return ms;
}

const AGO = /^(\d{1,9})(d|h|m)$/;
const AGO_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;

/** A time flag: an ISO date or date-time, or an age like 7d, 12h, 30m (before now). */
export function parseTime(value: unknown, flag: string, now = Date.now()): number | undefined {
  if (typeof value !== "string") return undefined;
  const ago = AGO.exec(value.trim());
  if (ago) return now - Number(ago[1]) * AGO_MS[ago[2] as keyof typeof AGO_MS];
  const day = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  const at = day ? Date.parse(value) : Number.NaN;
  // Date.parse rolls an impossible day over (2020-02-30 is March 1st): a filter would select other days than asked.
  // setUTCFullYear, not Date.UTC: that reads years 0–99 as 1900–1999.
  const real = day ? new Date(0) : undefined;
  if (day && real) real.setUTCFullYear(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
  if (day && real && (real.getUTCMonth() !== Number(day[2]) - 1 || real.getUTCDate() !== Number(day[3]))) {
    throw usage(`--${flag} ${JSON.stringify(value)} is not a date: ${day[0]} does not exist`);
  }
  if (Number.isNaN(at)) throw usage(`--${flag} ${JSON.stringify(value)} is not a time: give 2026-11-30, 2026-11-30T08:00Z, or an age like 7d, 12h, 30m`);
  return at;
}

/** `value` as one word a POSIX shell reads back unchanged (quoted only when it must be). */
export function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** ` --db PATH` for a command printed to be pasted, when the store is not the one found without --db; else "". */
export function dbFlag(context: CommandContext): string {
  const store = storePath(context);
  if (store === defaultDbPath()) return "";
  // Never the password: the pasted command takes it from PGPASSWORD or ~/.pgpass, as its shell comment says.
  const shown = printableLocation(store);
  return ` --db ${shellWord(shown.location)}${shown.secret ? "  # password left out: set PGPASSWORD or use ~/.pgpass" : ""}`;
}

/** "1 memory", "2 memories", "0 memories". */
export function countOf(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What the skip rule counted for a namespace's model codec (the engine's `ModelOutcomes`, per text class). */
export interface ModelOutcomeCounts {
  namespace: string;
  codec: string;
  tries: number;
  wins: number;
  skipped: number;
}

/**
 * One line per namespace and model codec: how often the model was tried, how often its envelope won,
 * and how many memories it was not tried on because it kept losing on such texts (docs/LLM.md).
 */
export function modelOutcomeLines(outcomes: readonly ModelOutcomeCounts[]): string[] {
  const totals = new Map<string, ModelOutcomeCounts>();
  for (const o of outcomes) {
    const key = `${o.namespace}\u0000${o.codec}`;
    const sum = totals.get(key) ?? { namespace: o.namespace, codec: o.codec, tries: 0, wins: 0, skipped: 0 };
    totals.set(key, { ...sum, tries: sum.tries + o.tries, wins: sum.wins + o.wins, skipped: sum.skipped + o.skipped });
  }
  return [...totals.values()].map(
    (t) =>
      `model ${t.codec} in namespace ${t.namespace}: tried on ${countOf(t.tries, "memory", "memories")}, smallest on ${t.wins}` +
      (t.skipped > 0 ? `; not tried on ${t.skipped} (it kept losing on such texts; retried now and then, docs/LLM.md)` : ""),
  );
}

/**
 * A value written into the CLI's human output with its control characters (C0, DEL, C1) as `\u` escapes: a tab or a
 * line break in a stored tag or label forged rows of a listing, and an escape sequence reached the terminal.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
