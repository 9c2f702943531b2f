import { readFileSync } from "node:fs";
import type { Command } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import { bytesToText } from "../../codec/text.js";
import { parseMemoryRecord } from "../../pipeline/records.js";
import { emit, openEngine, parseCodec, usage } from "../shared.js";

export const addCommand: Command = {
  name: "add",
  summary: "store one memory from an argument, a file or stdin",
  usage: 'memzip add "TEXT" | --file FILE | - [--id ID] [--kind KIND] [--tag T]... [--codec C]',
  help: `  --id ID            keep this id (default: derived from the text)
  --kind KIND        note, chat, meeting, feedback, doc or code (default: note)
  --tag T            a tag; repeat for several
  --file FILE        read the text from FILE (bytes must be UTF-8); "-" reads stdin
  --codec C          force one codec (raw, zstd, zstd-dict, cm, cm-ref, llm); still verified before commit
${STORE_HELP}`,
  options: {
    ...STORE_OPTIONS,
    id: { type: "string" },
    kind: { type: "string" },
    tag: { type: "string", multiple: true },
    file: { type: "string" },
    codec: { type: "string" },
  },
  async run(context) {
    const { values, positionals } = context;
    const source = typeof values.file === "string" ? values.file : positionals[0] === "-" ? "-" : undefined;
    let text: string;
    if (source !== undefined) text = bytesToText(readFileSync(source === "-" ? 0 : source));
    else if (positionals[0] !== undefined) text = positionals.join(" ");
    else throw usage("give the text as an argument, with --file FILE, or as - for stdin");
    const record = parseMemoryRecord({ text, id: values.id, kind: values.kind, tags: values.tag }, "input");
    const codec = parseCodec(values.codec);
    const engine = openEngine(context);
    try {
      const result = await engine.remember(record, codec ? { codec } : {});
      emit(context, result, `${result.id}  ${result.status}  ${result.codec || "-"}  ${result.originalBytes} -> ${result.storedBytes} bytes`);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
