import { createWriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { once } from "node:events";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ExportFailure } from "../../engine.js";
import { MemzipError, ErrorCode, resourceError } from "../../errors.js";
import type { Command } from "../command.js";
import { FILTER_OPTIONS, READ_NAMESPACE, STORE_OPTIONS } from "../command.js";
import { choices, TRANSFER_FORMATS } from "../../core/vocabulary.js";
import { EXIT_FAILURES_FOUND } from "../exit-codes.js";
import { onStopSignals, signalExitCode, signalName } from "../stop-signals.js";
import { prepareOutput } from "../output-file.js";
import { openEngine, parseChoice, parseFilter, storePath, usage, warnIfEmptyNamespace } from "../shared.js";

export const exportCommand: Command = {
  name: "export",
  positionals: 0,
  summary: "write every memory's exact text as JSONL or Arrow",
  usage: `memzip export [--format ${TRANSFER_FORMATS.join("|")}] [--out FILE [--force]] [--skip-bad] [FILTER FLAGS] [-n NS] [--db DB]`,
  help: `JSONL (default) goes to stdout, one {"id", "namespace", "kind", "tags", "meta", "createdAt", "text",
"checksum"} per line, and can be imported again; "checksum" is the XXH32 of the text, which the
import checks. Arrow writes an IPC file (needs --out) that pyarrow reads, with a checksum column.
The filter flags (as for \`ls\`) export only the memories they match; expired memories are never
exported. A memory with an expiry carries "expiresAt" (Arrow: its expires_at column), which an import keeps. Each
memory's current version only: earlier versions (\`memzip history\`) are not exported, so an export
is not a backup of history (copy the store file for that, after \`memzip compact\`).
With --json and --out: {"out", "format", "exported", "skipped"} on stdout.`,
  options: {
    format: { type: "string", value: "F", help: `${choices(TRANSFER_FORMATS)} (default ${TRANSFER_FORMATS[0]})` },
    out: {
      type: "string",
      value: "FILE",
      help: "write to FILE instead of stdout (through a temporary file renamed at the end;\nnever the store or its -wal/-shm/.cache files)",
    },
    force: { type: "boolean", help: "replace FILE if it exists (otherwise an existing FILE is refused)" },
    "skip-bad": {
      type: "boolean",
      help: `write every memory that reads back exactly and list the others (id and error
code) on stderr (and under "skipped" in the --json report with --out); a damaged
block of the store, whose ids cannot be read, is listed once by its seq range
and count, as \`memzip verify\` lists it. Exits 1 if any was skipped. Without it
the first unreadable memory stops the export.`,
    },
    ...FILTER_OPTIONS,
    ...READ_NAMESPACE,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const filter = parseFilter(context);
    const format = parseChoice(TRANSFER_FORMATS, context.values.format, "format", TRANSFER_FORMATS[0]);
    const outPath = typeof context.values.out === "string" ? context.values.out : undefined;
    if (format === "arrow" && !outPath) throw usage("Arrow export needs --out FILE");
    if (context.values.force === true && !outPath) throw usage("--force goes with --out FILE");
    // Checked before the store is opened, so a refused path never touches anything.
    const out = outPath === undefined ? undefined : prepareOutput(outPath, storePath(context), context.values.force === true);
    for (const leftover of out?.removedLeftovers ?? []) context.stderr.write(`memzip: removed ${leftover}, the temporary file of an export that was killed\n`);
    const skipped: ExportFailure[] = [];
    const options = { filter, ...(context.values["skip-bad"] === true ? { onBad: (failure: ExportFailure) => skipped.push(failure) } : {}) };
    let exported = 0;
    const counted = async function* (jsonLines: AsyncIterable<string>): AsyncGenerator<string> {
      for await (const line of jsonLines) {
        exported++;
        yield `${line}\n`;
      }
    };
    const engine = openEngine(context, {}, { readOnly: true });
    // Ctrl-C or SIGTERM while writing --out: the temporary file goes (no hidden partial copy of the store's text stays), the target is untouched.
    let committed = false;
    const stopListening = out
      ? onStopSignals((signal) => {
          if (committed) return; // written in full and renamed: the export ends as it is
          out.discard();
          context.stderr.write(`memzip: export stopped (${signalName(signal)}); ${outPath} not written\n`);
          process.exit(signalExitCode(signal));
        })
      : undefined;
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      try {
        await warnIfEmptyNamespace(engine, context, namespace);
        if (out) {
          if (format === "arrow") {
            const bytes = await engine.exportArrow(namespace, options);
            // Its rows, read back from the file's bytes (the JSONL path counts lines as it writes them).
            exported = (await import("apache-arrow")).tableFromIPC(bytes).numRows;
            await writeFile(out.tempPath, bytes, { mode: 0o600 });
          } else {
            await pipeline(Readable.from(counted(engine.exportJsonl(namespace, options))), createWriteStream(out.tempPath, { mode: 0o600 }));
          }
          out.commit();
          committed = true;
        } else {
          for await (const line of counted(engine.exportJsonl(namespace, options))) if (!context.stdout.write(line)) await once(context.stdout, "drain");
        }
      } catch (cause) {
        out?.discard();
        if (!(cause instanceof Error) || !("code" in cause) || cause instanceof MemzipError) throw cause;
        if (cause.code === "EPIPE") return 0; // the reader (head, a closed pipe) stopped early: not an error
        const resource = resourceError(cause, `write ${outPath ?? "stdout"}`);
        if (resource) throw resource;
        throw new MemzipError(ErrorCode.USAGE, `cannot write ${outPath ?? "stdout"}: ${cause.message}`, { hint: "Check the --out path and its directory.", cause });
      }
      if (context.json && out) context.stdout.write(`${JSON.stringify({ out: outPath, format, exported, skipped }, null, 2)}\n`);
      for (const s of skipped) context.stderr.write(`memzip: skipped ${s.id}: ${s.code} ${s.message}\n`);
      // A damaged sealed block is one report for all its memories: the count is of memories, not of reports.
      const lost = skipped.reduce((n, s) => n + (s.memories ?? 1), 0);
      if (lost > 0) context.stderr.write(`memzip: ${lost} ${lost === 1 ? "memory" : "memories"} could not be read back exactly and ${lost === 1 ? "was" : "were"} not exported\n`);
      return skipped.length > 0 ? EXIT_FAILURES_FOUND : 0;
    } finally {
      stopListening?.();
      await engine.close();
    }
  },
};
