import { parseArgs } from "node:util";
import { MemzipError, ErrorCode, damagedStoreError, resourceError } from "../errors.js";
import type { Command, CommandContext } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { EXIT_CODES, EXIT_INTERNAL } from "./exit-codes.js";

const MAIN_HELP = `memzip — compress AI-agent memories with models, exactly, in an embedded store

usage: memzip COMMAND [options]     (memzip COMMAND --help for details)

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`).join("\n")}

The store is one SQLite file: --db FILE, else $MEMZIP_DB, else ~/.local/share/memzip/memzip.db.
Every command takes --json for scripts. Exit codes: 0 ok, 1 failures found, 2 usage,
3 invalid input, 4 not found, 5 corrupt payload, 6 checksum, 7 missing asset,
8 store or disk (full, read-only, file-size limit), 9 missing tool.

examples:
  memzip import notes.jsonl --namespace agent-7
  memzip get m-3f2a… > original.txt
  memzip stats --json
  memzip bench --corpus notes.jsonl`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    process.stdout.write(`${topic ? commandHelp(topic) : MAIN_HELP}\n`);
    return 0;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write("memzip 0.1.0\n");
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const json = rest.includes("--json");
  try {
    if (!command) throw new MemzipError(ErrorCode.USAGE, `unknown command "${name}"`, { hint: "Run `memzip help` to list commands." });
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    } catch (cause) {
      throw new MemzipError(ErrorCode.USAGE, (cause as Error).message, { hint: `Run \`memzip ${command.name} --help\`.`, cause });
    }
    if (parsed.values.help) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    const context: CommandContext = { values: parsed.values, positionals: parsed.positionals, json, stdout: process.stdout, stderr: process.stderr };
    return await command.run(context);
  } catch (error) {
    return report(error, json);
  }
}

function commandHelp(command: Command): string {
  return `usage: ${command.usage}\n\n${command.summary}\n\n${command.help}`;
}

function report(thrown: unknown, json: boolean): number {
  const error = resourceError(thrown) ?? damagedStoreError(thrown) ?? thrown;
  if (error instanceof MemzipError) {
    if (json) process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
    process.stderr.write(`memzip: ${error.code}: ${error.message}\n${error.hint ? `  fix: ${error.hint}\n` : ""}`);
    return EXIT_CODES[error.code];
  }
  process.stderr.write(`memzip: internal error: ${(error as Error)?.stack ?? String(error)}\n  please report this with the command you ran.\n`);
  return EXIT_INTERNAL;
}
