import { readFileSync } from "node:fs";
import type { Command } from "../command.js";
import { bytesToText } from "../../codec/text.js";
import { ruleEntityExtractor } from "../../model/entities-rules.js";
import { emit, usage } from "../shared.js";

export const entitiesCommand: Command = {
  name: "entities",
  summary: "extract people, organisations, places, dates, amounts, emails, URLs and code identifiers",
  usage: 'memzip entities "TEXT" | --file FILE | - [--json]',
  help: `Rule-based, no model needed, English and Chinese. --json prints
{"entities": [{"type", "text", "start", "end"}]} with start/end as UTF-16 offsets into the text.
Types: person, organization, place, datetime, number, amount, email, url, code.
  --file FILE        read the text from FILE ("-" reads stdin)
  --json             machine-readable output`,
  options: { file: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  async run(context) {
    const { values, positionals } = context;
    const source = typeof values.file === "string" ? values.file : positionals[0] === "-" ? "-" : undefined;
    let text: string;
    if (source !== undefined) text = bytesToText(readFileSync(source === "-" ? 0 : source));
    else if (positionals.length > 0) text = positionals.join(" ");
    else throw usage("give the text as an argument, with --file FILE, or as - for stdin");
    const entities = ruleEntityExtractor.extract(text);
    emit(context, { entities }, entities.map((e) => `${e.type}\t${e.text}\t${e.start}-${e.end}`).join("\n") || "no entities");
    return 0;
  },
};
