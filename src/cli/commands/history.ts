import type { Command } from "../command.js";
import { ID_NAMESPACE, STORE_OPTIONS } from "../command.js";
import { emit, openEngine, requirePositional, terminalSafe } from "../shared.js";

export const historyCommand: Command = {
  name: "history",
  positionals: 1,
  summary: "every version of a memory's text, oldest first, each exact",
  usage: "memzip history ID [-n NS] [--db DB] [--json]",
  help: `A memory keeps each earlier text when an update or a re-add gives it another one (metadata
changes alone make no version); each is stored as a zstd delta against the text that replaced it.
Prints one block a version: its number, when it became current and when it was replaced, kind,
tags and meta then, and the text. With --json: {"id", "namespace", "versions": [{"version",
"text", "kind", "tags", "meta", "language", "createdAt", "replacedAt" (null for the current text),
"originalBytes", "storedBytes"}]}. \`memzip rm\` deletes the history with the memory.`,
  options: { ...ID_NAMESPACE, ...STORE_OPTIONS },
  async run(context) {
    const id = requirePositional(context, 0, "ID");
    const engine = openEngine(context, {}, { readOnly: true });
    try {
      const namespace = await engine.locate(id, typeof context.values.namespace === "string" ? context.values.namespace : undefined);
      const versions = await engine.history(id, namespace);
      const human = versions
        .map((v) => {
          const until = v.replacedAt === null ? "current" : `replaced ${new Date(v.replacedAt).toISOString()}`;
          const tags = v.tags.length ? ` [${terminalSafe(v.tags.join(", "))}]` : "";
          const meta = Object.keys(v.meta).length ? ` ${JSON.stringify(v.meta)}` : "";
          return `v${v.version}  ${new Date(v.createdAt).toISOString()}  ${until}  ${v.kind}${tags}${meta}  ${v.originalBytes} -> ${v.storedBytes} bytes\n${v.text}`;
        })
        .join("\n\n");
      emit(context, { id, namespace, versions }, human);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
