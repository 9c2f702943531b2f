import type { Command } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import { detectLanguage } from "../../model/language.js";
import { emit, openEngine, requirePositional, usage } from "../shared.js";

export const getCommand: Command = {
  name: "get",
  summary: "print a memory's exact original text",
  usage: "memzip get ID [-n NS] [--mode exact|summary|rebuilt] [--db DB] [--json]",
  help: `Writes the text to stdout byte for byte, with nothing added (no trailing newline).
With --json: {"id", "namespace", "kind", "tags", "meta", "language", "createdAt", "codec", "mode", "text"}
(and "summary", "entities" when the memory has semantic features).
  --mode M           exact (default): the original, byte for byte;
                     summary: the stored summary (lossy, no model needed);
                     rebuilt: a text a model writes back from summary and entities (lossy;
                     needs semantic backends in the config)
Ids are unique within a namespace: without -n, the id must exist in one namespace only.
${STORE_HELP}`,
  options: { ...STORE_OPTIONS, mode: { type: "string" } },
  async run(context) {
    const id = requirePositional(context, 0, "ID");
    const mode = context.values.mode ?? "exact";
    if (mode !== "exact" && mode !== "summary" && mode !== "rebuilt") throw usage(`--mode must be exact, summary or rebuilt, not "${String(mode)}"`);
    const engine = openEngine(context, {}, { readOnly: true });
    try {
      const namespace = await engine.locate(id, typeof context.values.namespace === "string" ? context.values.namespace : undefined);
      const semantic = await engine.semanticOf(id, namespace);
      const bytes = mode === "exact" ? await engine.recallBytes(id, namespace) : Buffer.from(await engine.recall(id, { mode, namespace }), "utf8");
      if (context.json) {
        const { envelope: _envelope, version: _version, contentHash: _hash, ...summary } = await engine.memory(id, namespace);
        const language = summary.language ?? detectLanguage(mode === "exact" ? Buffer.from(bytes).toString("utf8") : await engine.recall(id, { namespace }));
        emit(context, { ...summary, language, mode, text: Buffer.from(bytes).toString("utf8"), ...(semantic ? { summary: semantic.summary, entities: semantic.entities } : {}) }, "");
      } else {
        context.stdout.write(bytes);
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};
