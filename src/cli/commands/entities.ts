import { HELP_OPTION, JSON_OPTION, type Command } from "../command.js";
import { ENTITY_TYPES } from "../../semantic/entities.js";
import { defaultEntityExtractor } from "../../semantic/entities-tagger.js";
import { ruleEntityExtractor } from "../../semantic/entities-rules.js";
import { emit, readInputText, usage } from "../shared.js";

export const entitiesCommand: Command = {
  name: "entities",
  summary: "extract people, organisations, places, dates, durations, quantities, money, paths, URLs, versions, hashes, ids and code identifiers",
  usage: 'memzip entities "TEXT" | --file FILE | - [--rules-only] [--json]',
  help: `No model needed, English and Chinese: rules for the structured types, and for people,
organisations and places a small trained tagger shipped with memzip that reads two NLP
libraries (compromise for English, jieba with part-of-speech tags for Chinese; about a second
to load on first use).
--json prints {"entities": [{"type", "text", "start", "end"}]} with start/end as UTF-16 offsets.
Types: ${ENTITY_TYPES.join(", ")}.`,
  options: {
    file: { type: "string", value: "FILE", help: 'read the text from FILE ("-" reads stdin)' },
    "rules-only": { type: "boolean", help: "the rules alone, without the NLP libraries (faster to start)" },
    ...JSON_OPTION,
    ...HELP_OPTION,
  },
  async run(context) {
    const { values, positionals } = context;
    const source = typeof values.file === "string" ? values.file : positionals[0] === "-" ? "-" : undefined;
    let text: string;
    if (source !== undefined) text = readInputText(context, source);
    else if (positionals.length > 0) text = positionals.join(" ");
    else throw usage("give the text as an argument, with --file FILE, or as - for stdin");
    const entities = (values["rules-only"] === true ? ruleEntityExtractor : defaultEntityExtractor).extract(text);
    emit(context, { entities }, entities.map((e) => `${e.type}\t${e.text}\t${e.start}-${e.end}`).join("\n") || "no entities");
    return 0;
  },
};
