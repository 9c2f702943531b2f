import type { Command } from "../command.js";
import { ID_NAMESPACE, STORE_OPTIONS } from "../command.js";
import { choices, RECALL_MODES } from "../../core/vocabulary.js";
import { detectLanguage } from "../../semantic/language.js";
import { memoryTag } from "../../engine.js";
import { emit, openEngine, parseChoice, requirePositional } from "../shared.js";

export const getCommand: Command = {
  name: "get",
  positionals: 1,
  summary: "print a memory's exact original text",
  usage: `memzip get ID [-n NS] [--mode ${RECALL_MODES.join("|")}] [--db DB] [--json]`,
  help: `Writes the text to stdout byte for byte, with nothing added (no trailing newline).
With --json: {"id", "namespace", "kind", "tags", "meta", "language", "createdAt", "expiresAt" (when
set), "codec",
"contentHash" (the hash identical texts share, hex), "etag" (the memory's tag, for
\`memzip update --if-match\`), "mode", "exact" (false for summary / rebuilt: "text" is then lossy, and
"checksum" / "originalLength" are the original's), "text"} (and "summary", "entities" when the memory has
semantic features).
Ids are unique within a namespace: without -n, the id must exist in one namespace only. An expired
memory is not found (E_NOT_FOUND), as a missing one.`,
  options: {
    mode: {
      type: "string",
      value: "M",
      help: `${choices(RECALL_MODES)}. exact (default): the original, byte for byte;
summary: the stored summary (lossy, no model needed);
rebuilt: a text a model writes back from summary and entities (lossy;
needs semantic backends in the config)`,
    },
    ...ID_NAMESPACE,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const id = requirePositional(context, 0, "ID");
    const mode = parseChoice(RECALL_MODES, context.values.mode, "mode", "exact");
    const engine = openEngine(context, {}, { readOnly: true });
    try {
      const namespace = await engine.locate(id, typeof context.values.namespace === "string" ? context.values.namespace : undefined);
      const semantic = await engine.semanticOf(id, namespace);
      // With --json the row is read first and the exact text decoded from it: text, metadata and etag are of one version
      // (an etag newer than the text shown would let `update --if-match` write over a change nobody saw).
      const memory = context.json ? await engine.memory(id, namespace) : undefined;
      const exact = async () => (memory ? Buffer.from(await engine.textOf(memory), "utf8") : await engine.recallBytes(id, namespace));
      const bytes = mode === "exact" ? await exact() : Buffer.from(await engine.recall(id, { mode, namespace }), "utf8");
      if (memory) {
        const { envelope: _envelope, version: _version, contentHash, ...summary } = memory;
        const language = summary.language ?? detectLanguage(mode === "exact" ? Buffer.from(bytes).toString("utf8") : await engine.recall(id, { namespace }));
        emit(context, { ...summary, ...(contentHash ? { contentHash: Buffer.from(contentHash).toString("hex") } : {}), etag: memoryTag(memory), language, mode, exact: mode === "exact", text: Buffer.from(bytes).toString("utf8"), ...(semantic ? { summary: semantic.summary, entities: semantic.entities } : {}) }, "");
      } else {
        context.stdout.write(bytes);
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};
