import type { Command } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import { emit, openEngine, requirePositional } from "../shared.js";

export const rmCommand: Command = {
  name: "rm",
  summary: "forget memories by id",
  usage: "memzip rm ID [ID...] [--db DB] [--json]",
  help: STORE_HELP,
  options: STORE_OPTIONS,
  async run(context) {
    requirePositional(context, 0, "ID");
    const engine = openEngine(context);
    try {
      for (const id of context.positionals) engine.forget(id);
      emit(context, { removed: context.positionals }, `removed ${context.positionals.length}`);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
