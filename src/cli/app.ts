import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { MemzipError, ErrorCode, storeFailure } from "../errors.js";
import { GENERAL_USAGE_HINT } from "./shared.js";
import { commandHelp, parseSpec, type Command, type CommandContext } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { EXIT_CODES, EXIT_INTERNAL } from "./exit-codes.js";
import { exitCodeOfAbort } from "./stop-signals.js";

const MAIN_HELP = `memzip — compress AI-agent memories with models, exactly, in an embedded store

usage: memzip COMMAND [options]     (memzip COMMAND --help for details)

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`).join("\n")}

The store is one SQLite file or a PostgreSQL database (postgres://user:password@host:port/db): --db,
else $MEMZIP_DB, else $XDG_DATA_HOME/memzip/memzip.db (~/.local/share/memzip/memzip.db without it).
Every command takes --help, and --json for scripts. Exit codes: 0 ok, 1 failures found, 2 usage,
3 invalid input, 4 not found, 5 corrupt payload, 6 checksum, 7 missing asset,
8 store or disk (full, read-only, file-size limit), 9 missing tool, 10 a model or backend timed out,
11 backend unavailable, 12 backend refused, 13 busy (a job another process runs),
14 conflict (another writer changed the memory meanwhile: write it again),
15 precondition failed (update/rm --if-match: the memory changed since that read),
70 internal error (a bug: please report it),
130 interrupted (Ctrl-C; an import prints the --resume that finishes it).

examples:
  memzip import notes.jsonl --namespace agent-7
  memzip get m-3f2a… > original.txt
  memzip stats --json
  memzip bench --corpus notes.jsonl`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${MAIN_HELP}\n`);
    return EXIT_CODES.E_USAGE;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    process.stdout.write(`${topic ? commandHelp(topic) : MAIN_HELP}\n`);
    return 0;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write("memzip 0.1.0\n");
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  // Before the options are parsed (an error parsing them is reported as asked); what follows "--" is an argument.
  const end = rest.indexOf("--");
  let json = (end === -1 ? rest : rest.slice(0, end)).includes("--json");
  try {
    if (!command) throw new MemzipError(ErrorCode.USAGE, `unknown command "${name}"`, { hint: "Run `memzip help` to list commands." });
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: parseSpec(command.options), allowPositionals: true, strict: true });
    } catch (cause) {
      throw new MemzipError(ErrorCode.USAGE, parseError(command, cause), { hint: helpHint(command), cause });
    }
    json = parsed.values.json === true;
    refuseUndecodable(rest);
    if (parsed.values.help) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    if (command.positionals !== undefined && parsed.positionals.length > command.positionals) {
      const extra = parsed.positionals.slice(command.positionals).map((word) => JSON.stringify(word)).join(" ");
      const takes = command.positionals === 0 ? "takes no arguments besides its options" : `takes ${command.positionals === 1 ? "one argument" : `${command.positionals} arguments`} besides its options`;
      throw new MemzipError(ErrorCode.USAGE, `memzip ${command.name} ${takes}; left over: ${extra}`, {
        hint: `Quote a value that holds spaces; \`memzip ${command.name} --help\` shows the usage: ${command.usage}`,
      });
    }
    const context: CommandContext = { values: parsed.values, positionals: parsed.positionals, json, stdout: process.stdout, stderr: process.stderr };
    try {
      return await command.run(context);
    } catch (error) {
      throw withCommandHint(command, error);
    }
  } catch (error) {
    return report(error, json);
  }
}

/**
 * An argument whose bytes are not UTF-8 (a text typed in a Latin-1 terminal, `$'caf\xe9'`): Node hands it over with
 * U+FFFD for each byte it could not decode, so the text stored was not the one given, and two ids of different bytes
 * became one id (hostile trial of stop 63). Refused, as a file or JSONL line that is not UTF-8 is. The bytes are read
 * from /proc/self/cmdline, so an argument that holds U+FFFD itself (an id imported with one) is taken; where there is
 * no /proc (macOS), arguments are taken as Node decoded them.
 */
function refuseUndecodable(args: readonly string[]): void {
  if (!args.some((arg) => arg.includes("\uFFFD"))) return;
  let raw: Buffer;
  try {
    raw = readFileSync("/proc/self/cmdline");
  } catch {
    return;
  }
  // NUL-terminated arguments; this command's are the last `args.length` (node's own flags and the script come first).
  const parts: Buffer[] = [];
  for (let start = 0; start < raw.length; ) {
    const end = raw.indexOf(0, start);
    parts.push(raw.subarray(start, end === -1 ? raw.length : end));
    start = end === -1 ? raw.length : end + 1;
  }
  const own = parts.slice(-args.length);
  if (own.length !== args.length) return;
  const strict = new TextDecoder("utf-8", { fatal: true });
  const bad = own.findIndex((bytes) => {
    try {
      strict.decode(bytes);
      return false;
    } catch {
      return true;
    }
  });
  if (bad === -1) return;
  throw new MemzipError(ErrorCode.INVALID_INPUT, `the argument ${JSON.stringify((args[bad] as string).slice(0, 60))} is not valid UTF-8 (memzip would see U+FFFD in place of the bytes it could not decode)`, {
    hint: "Set the terminal to UTF-8 (a UTF-8 locale such as LANG=C.UTF-8), or pass the text with --file FILE in UTF-8 (`iconv -f latin1 -t utf-8` converts a Latin-1 file).",
  });
}

function helpHint(command: Command): string {
  return `Run \`memzip ${command.name} --help\` for the options it takes.`;
}

/** parseArgs' message, shortened to what the user typed and the command it does not fit. */
function parseError(command: Command, cause: unknown): string {
  const message = (cause as Error).message;
  const code = (cause as { code?: unknown }).code;
  const option = /'([^']+)'/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) return `memzip ${command.name} has no option ${option}`;
  // parseArgs calls a value that starts with a dash "ambiguous" (`--limit -1`): say what it means.
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option && /ambiguous/.test(message)) {
    return `${option} is followed by an option instead of its value; a value that starts with "-" is written ${option}=VALUE (memzip ${command.name})`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) return `${message.split(".")[0] ?? message} (memzip ${command.name})`;
  return message;
}

/** A usage error from inside a command points at that command's help, not the general one. */
function withCommandHint(command: Command, error: unknown): unknown {
  if (!(error instanceof MemzipError) || error.code !== ErrorCode.USAGE || error.hint !== GENERAL_USAGE_HINT) return error;
  return new MemzipError(error.code, error.message, { hint: helpHint(command), cause: error.cause, details: error.details });
}

/** Prints a failure as every command does (with --json also as JSON on stdout) and returns its exit code. */
export function report(thrown: unknown, json: boolean): number {
  const error = storeFailure(thrown) ?? thrown;
  if (error instanceof MemzipError) {
    if (json) process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
    process.stderr.write(`memzip: ${error.code}: ${error.message}\n${error.hint ? `  fix: ${error.hint}\n` : ""}`);
    return exitCodeOfAbort(error) ?? EXIT_CODES[error.code];
  }
  process.stderr.write(`memzip: internal error: ${(error as Error)?.stack ?? String(error)}\n  please report this with the command you ran.\n`);
  return EXIT_INTERNAL;
}
