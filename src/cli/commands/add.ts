import type { Command } from "../command.js";
import { CODING_OPTIONS, STORE_OPTIONS, WRITE_NAMESPACE } from "../command.js";
import { choices, MEMORY_KINDS, WRITE_CODEC_NAMES } from "../../core/vocabulary.js";
import { textToBytes } from "../../codec/text.js";
import { checkMemoryId, parseMemoryRecord } from "../../pipeline/records.js";
import { emit, openEngine, parseChoice, parseCodec, parseTtl, readInputText, usage } from "../shared.js";

export const addCommand: Command = {
  name: "add",
  summary: "store one memory from an argument, a file or stdin",
  usage: 'memzip add "TEXT" | --file FILE | - [--id ID] [--kind KIND] [--tag T]... [--codec C] [--ttl DURATION] [-n NS]',
  help: `Stores the text exactly (verified before commit) and prints its id, status, codec and sizes.
An id that exists in the namespace is updated; the same text again is "unchanged" ("repaired" where
the stored text no longer read back: it is coded anew). --ttl makes the memory expire that long
after the write: reads skip it from then on and \`memzip compact\` deletes it.`,
  options: {
    id: { type: "string", value: "ID", help: "keep this id (default: derived from the text)" },
    kind: { type: "string", value: "KIND", help: `${choices(MEMORY_KINDS)} (default: note; a memory already stored under --id keeps its kind and tags)` },
    tag: { type: "string", multiple: true, value: "T", help: "a tag; repeat for several" },
    file: { type: "string", value: "FILE", help: 'read the text from FILE (bytes must be UTF-8); "-" reads stdin' },
    codec: { type: "string", value: "C", help: `force one codec (${WRITE_CODEC_NAMES.join(", ")}); still verified before commit` },
    ttl: { type: "string", value: "DURATION", help: "expire DURATION after the write: 30d, 12h, 90m (default: a new memory never expires; one stored under --id keeps its expiry, which `memzip update ID --no-expiry` clears)" },
    ...WRITE_NAMESPACE,
    ...CODING_OPTIONS,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const { values, positionals } = context;
    // One argument, as update, get and history take: words joined into the text glued a stray word in (`--tag a b`
    // stored "… b" and the tag a alone), and one beside --file or - was ignored.
    const expected = typeof values.file === "string" ? 0 : 1;
    if (positionals.length > expected) {
      const stray = positionals.slice(expected).map((word) => JSON.stringify(word.slice(0, 40))).join(", ");
      throw usage(`add takes ${expected === 0 ? "no argument beside --file" : "the text as one argument"}; left over: ${stray} (quote the text; repeat --tag for several tags: --tag a --tag b)`);
    }
    const source = typeof values.file === "string" ? values.file : positionals[0] === "-" ? "-" : undefined;
    let text: string;
    if (source !== undefined) text = readInputText(context, source);
    else if (positionals[0] !== undefined) text = positionals[0];
    else throw usage("give the text as an argument, with --file FILE, or as - for stdin");
    // An empty text (or one with half a surrogate pair) is refused before the store is opened: `add ""` on a store that
    // does not exist yet made an empty store (trial43). The size limit is the engine's, checked by the write.
    textToBytes(text, Number.MAX_SAFE_INTEGER);
    // A bad --id says what an id is, not what a JSONL record is (trial43).
    if (typeof values.id === "string") checkMemoryId(values.id);
    // A bad --kind is a usage error naming the kinds (exit 2), as for every other flag; not the JSONL record's hint.
    const record = parseMemoryRecord({ text, id: values.id, kind: parseChoice(MEMORY_KINDS, values.kind, "kind"), tags: values.tag }, "input");
    const codec = parseCodec(values.codec);
    const ttlMs = parseTtl(values.ttl);
    const engine = openEngine(context, {}, { create: true });
    try {
      const result = await engine.remember(record, { ...(codec ? { codec } : {}), ...(ttlMs === undefined ? {} : { ttlMs }) });
      emit(context, result, `${result.id}  ${result.repaired ? "repaired" : result.status}  ${result.codec || "-"}  ${result.originalBytes} -> ${result.storedBytes} bytes`);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
