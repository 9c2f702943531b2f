import { createWriteStream, writeFileSync } from "node:fs";
import { once } from "node:events";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { MemzipError, ErrorCode } from "../../errors.js";
import type { Command } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import { openEngine, usage } from "../shared.js";

export const exportCommand: Command = {
  name: "export",
  summary: "write every memory's exact text as JSONL or Arrow",
  usage: "memzip export [--format jsonl|arrow] [--out FILE] [--namespace NS]",
  help: `JSONL (default) goes to stdout, one {"id", "namespace", "kind", "tags", "meta", "createdAt", "text"}
per line, and can be imported again. Arrow writes an IPC file (needs --out) that pyarrow reads.
  --format F         jsonl or arrow (default jsonl)
  --out FILE         write to FILE instead of stdout
${STORE_HELP}`,
  options: { ...STORE_OPTIONS, format: { type: "string" }, out: { type: "string" } },
  async run(context) {
    const format = context.values.format ?? "jsonl";
    if (format !== "jsonl" && format !== "arrow") throw usage("--format must be jsonl or arrow");
    const out = typeof context.values.out === "string" ? context.values.out : undefined;
    if (format === "arrow" && !out) throw usage("Arrow export needs --out FILE");
    const engine = openEngine(context, {}, { readOnly: true });
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      try {
        if (format === "arrow") writeFileSync(out as string, await engine.exportArrow(namespace));
        else if (out) await pipeline(Readable.from(lines(engine.exportJsonl(namespace))), createWriteStream(out));
        else for await (const line of lines(engine.exportJsonl(namespace))) if (!context.stdout.write(line)) await once(context.stdout, "drain");
      } catch (cause) {
        if (!(cause instanceof Error) || !("code" in cause) || cause instanceof MemzipError) throw cause;
        if (cause.code === "EPIPE") return 0; // the reader (head, a closed pipe) stopped early: not an error
        throw new MemzipError(ErrorCode.USAGE, `cannot write ${out ?? "stdout"}: ${cause.message}`, { hint: "Check the --out path and its directory.", cause });
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};

async function* lines(jsonLines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const line of jsonLines) yield `${line}\n`;
}
