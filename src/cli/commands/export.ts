import { createWriteStream, writeFileSync } from "node:fs";
import { once } from "node:events";
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
    const engine = openEngine(context);
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      if (format === "arrow") {
        writeFileSync(out as string, engine.exportArrow(namespace));
        return 0;
      }
      const stream = out ? createWriteStream(out) : context.stdout;
      for (const line of engine.exportJsonl(namespace)) {
        if (!stream.write(`${line}\n`)) await once(stream, "drain");
      }
      if (out) {
        (stream as NodeJS.WritableStream).end();
        await once(stream, "finish");
      }
      return 0;
    } finally {
      engine.close();
    }
  },
};
