import type { ParseArgsConfig } from "node:util";
import { choices, MEMORY_KINDS, PROFILE_NAMES } from "../core/vocabulary.js";

export type ParseSpec = NonNullable<ParseArgsConfig["options"]>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** One flag: what the parser needs, and its line in `--help`. */
export interface OptionDef {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** What the value is called in help ("FILE", "N"); string options only. */
  value?: string;
  /** The help text; a line break continues it under the first line. */
  help: string;
}

export type OptionDefs = Readonly<Record<string, OptionDef>>;

export interface CommandContext {
  values: OptionValues;
  positionals: string[];
  json: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
}

/** One CLI command: it parses and validates, then calls the engine; no logic of its own. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** What the command does and prints, before the option list of `--help`. */
  help: string;
  /** Every flag the command accepts; `--help` lists exactly these. */
  options: OptionDefs;
  /**
   * The most arguments besides flags the command takes (absent: any number). One more is a usage
   * error, not silently ignored: `memzip get ID extra` is a typo or a forgotten quote.
   */
  positionals?: number;
  /** Resolves to the exit code. */
  run(context: CommandContext): Promise<number>;
}

/** The parser's view of a command's options. */
export function parseSpec(options: OptionDefs): ParseSpec {
  const spec: ParseSpec = {};
  for (const [name, option] of Object.entries(options)) {
    spec[name] = { type: option.type, ...(option.short ? { short: option.short } : {}), ...(option.multiple ? { multiple: true } : {}) };
  }
  return spec;
}

const FLAG_COLUMN = 19;

/** The option list of `--help`, one flag each, in declaration order. */
export function optionHelp(options: OptionDefs): string {
  const indent = " ".repeat(FLAG_COLUMN + 3);
  return Object.entries(options)
    .map(([name, option]) => {
      const flag = `${option.short ? `-${option.short}, ` : ""}--${name}${option.type === "string" ? ` ${option.value ?? "VALUE"}` : ""}`;
      const [first, ...rest] = option.help.split("\n");
      const head = flag.length < FLAG_COLUMN ? `  ${flag.padEnd(FLAG_COLUMN)} ${first}` : `  ${flag}\n${indent}${first}`;
      return [head, ...rest.map((line) => `${indent}${line}`)].join("\n");
    })
    .join("\n");
}

/** `memzip COMMAND --help`. */
export function commandHelp(command: Command): string {
  return `usage: ${command.usage}\n\n${command.summary}\n\n${command.help}\n\noptions:\n${optionHelp(command.options)}`;
}

export const JSON_OPTION = { json: { type: "boolean", help: "machine-readable output on stdout" } } as const satisfies OptionDefs;
export const HELP_OPTION = { help: { type: "boolean", short: "h", help: "this help" } } as const satisfies OptionDefs;
export const CONFIG_OPTION = {
  config: { type: "string", value: "FILE", help: "JSON or YAML settings (default: $MEMZIP_CONFIG or ~/.config/memzip/config.json|yaml)" },
} as const satisfies OptionDefs;

/** The cache tier: `--cache redis://…` shares decoded texts between every process of the store. */
export const CACHE_OPTION = {
  cache: { type: "string", value: "C", help: "memory, disk, off, or redis://HOST:PORT: a Redis tier shared by the store's processes\n(default: $MEMZIP_CACHE or memory)" },
} as const satisfies OptionDefs;

/** Flags every command that opens the store takes. */
export const STORE_OPTIONS = {
  db: { type: "string", value: "FILE", help: "store file or postgres:// URL (default: $MEMZIP_DB, else memzip/memzip.db in $XDG_DATA_HOME or ~/.local/share)" },
  ...CONFIG_OPTION,
  ...JSON_OPTION,
  ...HELP_OPTION,
} as const satisfies OptionDefs;

/** `-n` of a command that writes: where new memories go. */
export const WRITE_NAMESPACE = {
  namespace: { type: "string", short: "n", value: "NS", help: 'namespace to write to: one agent or user (default: "default")' },
} as const satisfies OptionDefs;

/** `-n` of a command that reads: a filter. */
export const READ_NAMESPACE = {
  namespace: { type: "string", short: "n", value: "NS", help: "only this namespace (default: all namespaces)" },
} as const satisfies OptionDefs;

/** `-n` of a command that names memories by id. */
export const ID_NAMESPACE = {
  namespace: { type: "string", short: "n", value: "NS", help: "the namespace of the id (default: the one namespace that holds it;\nan id held by several namespaces needs -n)" },
} as const satisfies OptionDefs;

/** Flags of commands that code memories (write, recode, train). */
export const CODING_OPTIONS = {
  "zstd-level": { type: "string", value: "N", help: "zstd level for new zstd / zstd-dict envelopes, 1–19 (default 19)" },
  model: { type: "string", value: "M", help: "GGUF model (registered name or path) for the llm codec (default: $MEMZIP_MODEL)" },
  contexts: { type: "string", value: "N", help: "memories coded at once by the model, one llama context each (default: profile's)" },
  profile: {
    type: "string",
    value: "P",
    help: `${choices(PROFILE_NAMES.slice(1))}, or auto: sized from this machine (default auto;\n\`memzip profile show\` explains its numbers)`,
  },
  workers: { type: "string", value: "N", help: "worker threads for the classical codecs in batch writes (default: one per core)" },
} as const satisfies OptionDefs;

/** Filters of commands that read or change many memories (ls, search, related, export, quality, recode, rm --where): all given must hold. */
export const FILTER_OPTIONS = {
  kind: { type: "string", value: "KIND", help: `only this kind: ${choices(MEMORY_KINDS)}` },
  tag: { type: "string", multiple: true, value: "TAG", help: "only memories with this tag (repeat: EVERY tag given)" },
  "any-tag": { type: "string", multiple: true, value: "TAG", help: "only memories with at least one of these tags (repeat: ANY tag given)" },
  since: { type: "string", value: "TIME", help: "created at or after TIME: 2026-11-30, 2026-11-30T08:00Z, or 7d / 12h / 30m ago" },
  until: { type: "string", value: "TIME", help: "created before TIME (same forms as --since)" },
  "updated-since": { type: "string", value: "TIME", help: "text last changed at or after TIME (the creation if never changed)" },
  "updated-until": { type: "string", value: "TIME", help: "text last changed before TIME" },
  meta: { type: "string", multiple: true, value: "K=V", help: "only memories whose meta K equals V (repeat: all must hold); V is read as\nJSON when it is JSON (n=1, ok=true, v='\"1\"'), else as text (team=core)" },
} as const satisfies OptionDefs;
