import type { Command } from "../command.js";
import { FILTER_OPTIONS, STORE_OPTIONS } from "../command.js";
import { emit, FILTER_FLAGS, openEngine, parseFilter, requirePositional, usage } from "../shared.js";

export const rmCommand: Command = {
  name: "rm",
  summary: "forget memories by id, or every memory a filter matches",
  usage: "memzip rm ID [ID...] [-n NS] | memzip rm ID --if-match TAG [-n NS] | memzip rm --where [FILTER FLAGS] [-n NS] [--all] [--dry-run] [--db DB] [--json]",
  help: `Ids are unique within a namespace: without -n, each id must exist in one namespace only.
--where deletes every memory the filter flags match (the same flags as \`ls\`; -n limits it to one
namespace); a filter that narrows nothing is refused unless --all is given. --dry-run counts and
lists (the first 100) without deleting. By id, every id must exist (and be in one namespace) or
nothing is removed. A memory's history goes with it. An asset that only the removed memories
needed (and that no namespace writes with) is removed too; one that other memories still need
(a dictionary or context model trained on texts that included the removed one, a near-duplicate
group's dictionary) keeps what it learned: \`dict train\` / \`model train\` and then \`compact\` make
new ones without it. --if-match TAG (one id; the "etag" of
\`memzip get --json\`) removes it only while it is as that read saw it, else E_PRECONDITION (exit 15).
With --json: {"removed": [ids]}, or with --where {"count", "ids": [{"namespace", "id"}], "dryRun"}.`,
  options: {
    where: { type: "boolean", help: "delete by the filter flags instead of by id" },
    ...FILTER_OPTIONS,
    all: { type: "boolean", help: "with --where: allow a filter that matches every memory" },
    "dry-run": { type: "boolean", help: "with --where: count and list, delete nothing" },
    "if-match": { type: "string", value: "TAG", help: "with one id: only if the memory's tag is still TAG (the etag of get --json)" },
    namespace: { type: "string", short: "n", value: "NS", help: "the namespace of an id (default: the one namespace that holds it);\nwith --where: only this namespace (default: all namespaces)" },
    ...STORE_OPTIONS,
  },
  async run(context) {
    const { values } = context;
    const namespace = typeof values.namespace === "string" ? values.namespace : undefined;
    if (values.where === true) {
      if (context.positionals.length > 0) throw usage("give ids or --where, not both");
      if (values["if-match"] !== undefined) throw usage("--if-match applies to one id, not to --where");
      const filter = { ...parseFilter(context), ...(namespace === undefined ? {} : { namespaces: [namespace] }) };
      const engine = openEngine(context);
      try {
        const report = await engine.forgetWhere(filter, { dryRun: values["dry-run"] === true, all: values.all === true });
        const listed = report.ids.map((r) => `${r.namespace}\t${r.id}`).join("\n");
        const more = report.count > report.ids.length ? `\n… and ${report.count - report.ids.length} more` : "";
        emit(context, report, `${report.dryRun ? "would remove" : "removed"} ${report.count}${listed ? `\n${listed}${more}` : ""}`);
        return 0;
      } finally {
        await engine.close();
      }
    }
    for (const flag of [...FILTER_FLAGS, "all", "dry-run"]) {
      if (values[flag] !== undefined) throw usage(`--${flag} applies with --where only`);
    }
    requirePositional(context, 0, "ID");
    const ifMatch = typeof values["if-match"] === "string" ? { ifMatch: values["if-match"] } : {};
    if (ifMatch.ifMatch !== undefined && context.positionals.length > 1) throw usage("--if-match applies to one id: give the tag of each memory in its own memzip rm");
    const engine = openEngine(context);
    try {
      // Every id is found before any is removed: one missing (or in two namespaces without -n) removes none.
      const ids = [...new Set(context.positionals)];
      for (const id of ids) await engine.locate(id, namespace);
      for (const id of ids) await engine.forget(id, namespace, ifMatch);
      emit(context, { removed: ids }, `removed ${ids.length}`);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
