import type { Command } from "../command.js";
import { READ_NAMESPACE, STORE_OPTIONS } from "../command.js";
import { choices, MEMORY_KINDS } from "../../core/vocabulary.js";
import { emit, openEngine, parseChoice, parseInteger } from "../shared.js";

export const lsCommand: Command = {
  name: "ls",
  summary: "list memories (id, kind, codec, sizes)",
  usage: "memzip ls [-n NS] [--kind KIND] [--limit N] [--offset N] [--db DB] [--json]",
  help: `One row a memory (id, namespace, kind, codec, original bytes), in the order they were written.
With --json: {"memories": [...]}, each with every stored field but the envelope.`,
  options: {
    kind: { type: "string", value: "KIND", help: `only this kind: ${choices(MEMORY_KINDS)}` },
    limit: { type: "string", value: "N", help: "at most N rows (default 50)" },
    offset: { type: "string", value: "N", help: "skip N rows" },
    ...READ_NAMESPACE,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const kind = parseChoice(MEMORY_KINDS, context.values.kind, "kind");
    const limit = parseInteger(context.values.limit, "limit", 1, 1_000_000) ?? 50;
    const offset = parseInteger(context.values.offset, "offset", 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const engine = openEngine(context, {}, { readOnly: true });
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      const rows = await engine.list({ limit, offset, ...(namespace ? { namespace } : {}), ...(kind ? { kind } : {}) });
      const human = rows.map((m) => `${m.id}\t${m.namespace}\t${m.kind}\t${m.codec}\t${m.originalLength}`).join("\n");
      emit(context, { memories: rows }, rows.length ? `id\tnamespace\tkind\tcodec\tbytes\n${human}` : "no memories");
      return 0;
    } finally {
      await engine.close();
    }
  },
};
