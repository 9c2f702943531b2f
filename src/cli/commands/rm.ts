import type { Command } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import { emit, openEngine, requirePositional } from "../shared.js";

export const rmCommand: Command = {
  name: "rm",
  summary: "forget memories by id",
  usage: "memzip rm ID [ID...] [-n NS] [--db DB] [--json]",
  help: `Ids are unique within a namespace: without -n, each id must exist in one namespace only.
An asset that only the removed memories needed (and that no namespace writes with) is removed too.
${STORE_HELP}`,
  options: STORE_OPTIONS,
  async run(context) {
    requirePositional(context, 0, "ID");
    const engine = openEngine(context);
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      for (const id of context.positionals) await engine.forget(id, namespace);
      emit(context, { removed: context.positionals }, `removed ${context.positionals.length}`);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
