import type { Command } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import { emit, openEngine, requirePositional } from "../shared.js";

export const getCommand: Command = {
  name: "get",
  summary: "print a memory's exact original text",
  usage: "memzip get ID [--db DB] [--json]",
  help: `Writes the text to stdout byte for byte, with nothing added (no trailing newline).
With --json: {"id", "namespace", "kind", "tags", "meta", "createdAt", "codec", "text"}.
${STORE_HELP}`,
  options: STORE_OPTIONS,
  async run(context) {
    const id = requirePositional(context, 0, "ID");
    const engine = openEngine(context);
    try {
      const bytes = await engine.recallBytes(id);
      if (context.json) {
        const memory = engine.store.getMemory(id);
        const { envelope: _envelope, ...summary } = memory as NonNullable<typeof memory>;
        emit(context, { ...summary, text: Buffer.from(bytes).toString("utf8") }, "");
      } else {
        context.stdout.write(bytes);
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};
