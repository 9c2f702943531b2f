import { damageJson } from "../../core/store.js";
import type { Command } from "../command.js";
import { FILTER_OPTIONS, READ_NAMESPACE, STORE_OPTIONS } from "../command.js";
import { countOf, emit, openEngine, parseFilter, parseInteger, terminalSafe } from "../shared.js";

export const lsCommand: Command = {
  name: "ls",
  positionals: 0,
  summary: "list memories (id, namespace, kind, codec, sizes, tags, date), filtered and paged",
  usage: "memzip ls [-n NS] [--kind KIND] [--tag TAG …] [--any-tag TAG …] [--meta K=V …] [--since TIME] [--until TIME] [--updated-since TIME] [--updated-until TIME] [--limit N] [--cursor C] [--db DB] [--json]",
  help: `One row a memory, in the order they were written: id, namespace, kind, codec, text bytes,
stored bytes (its envelope; 0 for a text another memory already holds), tags, creation time.
Expired memories are left out. A page ends with the command for the next one (--cursor). With --json: {"memories": [...] (with "expiresAt" where one is set), "count",
"originalBytes", "storedBytes" (totals of the page), "next" (the cursor of the next page, or null)}.
Memories that cannot be read (a damaged sealed block: \`memzip verify\` names them) are passed over: the
rest are listed, a warning on stderr names where they are with the fix, --json lists them under
"damaged" ({"where", "memories", "code", "message", "hint"}), and the exit code is 1.`,
  options: {
    ...FILTER_OPTIONS,
    limit: { type: "string", value: "N", help: "at most N rows (default 50)" },
    cursor: { type: "string", value: "C", help: "continue where the previous page ended (its `next`)" },
    ...READ_NAMESPACE,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const limit = parseInteger(context.values.limit, "limit", 1, 1_000_000) ?? 50;
    const cursor = typeof context.values.cursor === "string" ? context.values.cursor : undefined;
    const filter = parseFilter(context);
    const engine = openEngine(context, {}, { readOnly: true });
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      const page = await engine.page({ ...filter, limit, ...(namespace === undefined ? {} : { namespaces: [namespace] }), ...(cursor === undefined ? {} : { cursor }) }, { skipDamaged: true });
      const damaged = (page.damaged ?? []).map(damageJson);
      const rows = page.items;
      const originalBytes = rows.reduce((sum, m) => sum + m.originalLength, 0);
      const storedBytes = rows.reduce((sum, m) => sum + (m.storedLength ?? 0), 0);
      const human = rows
        .map((m) => `${m.id}\t${m.namespace}\t${m.kind}\t${m.codec}\t${m.originalLength}\t${m.storedLength ?? 0}\t${terminalSafe(m.tags.join(","))}\t${new Date(m.createdAt).toISOString()}`)
        .join("\n");
      const more = page.next === null ? "" : `\nmore: memzip ls --cursor ${page.next}${limit === 50 ? "" : ` --limit ${limit}`} (with the same filters)`;
      emit(
        context,
        { memories: rows, count: rows.length, originalBytes, storedBytes, next: page.next, ...(damaged.length > 0 ? { damaged } : {}) },
        rows.length ? `id\tnamespace\tkind\tcodec\tbytes\tstored\ttags\tcreated\n${human}${more}` : "no memories",
      );
      for (const d of damaged) {
        context.stderr.write(`memzip: warning: ${countOf(d.memories, "memory", "memories")} not listed: ${d.code}: ${d.message}\n`);
        if (d.hint !== undefined) context.stderr.write(`  fix: ${d.hint}\n`);
      }
      return damaged.length > 0 ? 1 : 0;
    } finally {
      await engine.close();
    }
  },
};
