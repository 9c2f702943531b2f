import type { ParseArgsConfig } from "node:util";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

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
  /** Extra lines for `--help`: what the flags mean, examples. */
  help: string;
  options: OptionSpec;
  /** Resolves to the exit code. */
  run(context: CommandContext): Promise<number>;
}

/** Flags every store command shares. */
export const STORE_OPTIONS = {
  db: { type: "string" },
  namespace: { type: "string", short: "n" },
  "zstd-level": { type: "string" },
  config: { type: "string" },
  model: { type: "string" },
  contexts: { type: "string" },
  profile: { type: "string" },
  workers: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpec;

export const STORE_HELP = `  --db FILE          store file (default: $MEMZIP_DB or ~/.local/share/memzip/memzip.db)
  -n, --namespace NS namespace: one agent or user (default: "default")
  --zstd-level N     zstd level for new zstd / zstd-dict envelopes, 1–19 (default 19)
  --model M          GGUF model (registered name or path) for the llm codec (default: $MEMZIP_MODEL)
  --contexts N       memories coded at once by the model, one llama context each (default: profile's)
  --profile P        auto (sized from this machine), local, cloud, hybrid or naive (default auto;
                     \`memzip profile show\` explains its numbers)
  --workers N        worker threads for the classical codecs in batch writes (default: one per core)
  --config FILE      JSON or YAML settings (default: $MEMZIP_CONFIG or ~/.config/memzip/config.json|yaml)
  --json             machine-readable output on stdout
  -h, --help         this help`;
