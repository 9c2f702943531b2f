import type { Command } from "../command.js";
import { CODING_OPTIONS, FILTER_OPTIONS, STORE_OPTIONS } from "../command.js";
import { WRITE_CODEC_NAMES } from "../../core/vocabulary.js";
import { ProgressBar, formatBytes } from "../progress.js";
import { signalName, stoppable } from "../stop-signals.js";
import { emit, openEngine, parseCodec, parseFilter, warnIfEmptyNamespace } from "../shared.js";

export const recodeCommand: Command = {
  name: "recode",
  positionals: 0,
  summary: "re-encode a namespace with the current policy or one codec",
  usage: "memzip recode [--to CODEC] [--model M] [FILTER FLAGS] [-n NS] [--db DB] [--json]",
  help: `Without --to, keeps a new envelope only where it is smaller. With --to, moves every memory to that
codec (before changing models or machines), except those it cannot code — a text it would not make
smaller, an envelope that does not prove itself — which are stored raw, counted as "notInCodec".
Every new envelope is verified before commit. The
filter flags (as for \`ls\`) recode only the memories of the namespace they match. Ctrl-C or
SIGTERM stops it between memories (exit 130 / 143); the batches it wrote stay.`,
  options: {
    to: { type: "string", value: "CODEC", help: `${WRITE_CODEC_NAMES.join(", ")} (llm and llm-mix need --model)` },
    ...FILTER_OPTIONS,
    namespace: { type: "string", short: "n", value: "NS", help: 'namespace to recode (default: "default")' },
    ...CODING_OPTIONS,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const codec = parseCodec(context.values.to);
    const filter = parseFilter(context);
    const engine = openEngine(context);
    const bar = new ProgressBar(context.stderr, "recode", !context.json);
    try {
      await warnIfEmptyNamespace(engine, context, engine.options.namespace);
      // Ctrl-C or SIGTERM stops between memories: the batches written stay, and a second signal stops at once.
      const report = await stoppable(
        (signal) => engine.recode(engine.options.namespace, { filter, signal, ...(codec ? { codec } : {}) }, (p) => bar.update(p.done, p.done, p.total)),
        (signal) => context.stderr.write(`${context.stderr.isTTY ? "\n" : ""}memzip: stopping the recode (what is written stays); ${signalName(signal)} again stops at once\n`),
        () => ({ message: "recode stopped; the memories it rewrote before stay", hint: "Run the same `memzip recode` again to finish: memories already at their best are left as they are." }),
      );
      bar.done();
      // Assets the recode left unused (and no namespace writes with) go now.
      const pruned = await engine.pruneAssets({ namespace: engine.options.namespace });
      emit(
        context,
        { ...report, pruned },
        `recoded ${report.recoded} of ${report.checked}: ${formatBytes(report.bytesBefore)} -> ${formatBytes(report.bytesAfter)}` +
          (report.notInCodec ? `; ${report.notInCodec} not in ${codec ?? "that codec"}: it would not make them smaller (or prove itself), so they are raw` : "") +
          (report.skipped ? `; ${report.skipped} changed meanwhile by another writer, left as they are` : "") +
          (report.unreadable ? `; ${report.unreadable} no longer read back (damaged), left as they are: \`memzip verify\` lists them` : "") +
          pruned.map((a) => `\nremoved ${a.kind} ${a.id.slice(0, 16)} (${formatBytes(a.bytes)}), no memory needs it`).join(""),
      );
      return 0;
    } finally {
      await engine.close();
    }
  },
};
