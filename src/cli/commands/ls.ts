import type { Command } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import { MEMORY_KINDS, type MemoryKind } from "../../core/store.js";
import { emit, openEngine, parseInteger, usage } from "../shared.js";

export const lsCommand: Command = {
  name: "ls",
  summary: "list memories (id, kind, codec, sizes)",
  usage: "memzip ls [--namespace NS] [--kind KIND] [--limit N] [--offset N] [--json]",
  help: `Without --namespace, lists every namespace.
  --kind KIND        only this kind
  --limit N          at most N rows (default 50)
  --offset N         skip N rows
${STORE_HELP}`,
  options: { ...STORE_OPTIONS, kind: { type: "string" }, limit: { type: "string" }, offset: { type: "string" } },
  async run(context) {
    const kind = context.values.kind;
    if (kind !== undefined && !(MEMORY_KINDS as readonly unknown[]).includes(kind)) throw usage(`--kind must be one of ${MEMORY_KINDS.join(", ")}`);
    const limit = parseInteger(context.values.limit, "limit", 1, 1_000_000) ?? 50;
    const offset = parseInteger(context.values.offset, "offset", 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const engine = openEngine(context, {}, { readOnly: true });
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      const rows = await engine.list({ limit, offset, ...(namespace ? { namespace } : {}), ...(kind ? { kind: kind as MemoryKind } : {}) });
      const human = rows.map((m) => `${m.id}\t${m.namespace}\t${m.kind}\t${m.codec}\t${m.originalLength}`).join("\n");
      emit(context, { memories: rows }, rows.length ? `id\tnamespace\tkind\tcodec\tbytes\n${human}` : "no memories");
      return 0;
    } finally {
      await engine.close();
    }
  },
};
