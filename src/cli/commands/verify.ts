import type { Command } from "../command.js";
import { READ_NAMESPACE, STORE_OPTIONS } from "../command.js";
import { ErrorCode, MemzipError } from "../../errors.js";
import { EXIT_FAILURES_FOUND } from "../exit-codes.js";
import { ProgressBar } from "../progress.js";
import { emit, openEngine, warnIfEmptyNamespace } from "../shared.js";

export const verifyCommand: Command = {
  name: "verify",
  positionals: 0,
  summary: "decode every memory and check it against its checksum",
  usage: "memzip verify [-n NS] [--set-aside-damaged] [--db DB] [--json]",
  help: `Prints {"checked": N, "failed": N, "failures": [{"id", "code", "message", "hint", "repairable"}]} with --json.
Exits 1 if any memory fails. A failure marked "repairable" (its envelope no longer reads back, or
its metadata is damaged) is mended by writing its text again with its id: \`memzip import\` an
export or backup that holds it. The others are listed with what to do (a damaged asset whose
memories still decode from the derived state: export now, import into a new store). A damaged
key index (SQLite's sealed key runs) is listed under "indexes" (exit 1): no memory is lost, and
\`memzip compact\` makes it again.
A part of the store that cannot be read at all (a damaged sealed block, E_STORE) stops every write
of its memories (and can stop \`memzip compact\`): --set-aside-damaged moves such parts out of the
way first (their bytes kept in the file's damaged_blocks table, never read again) and reports them
under "setAside"; their memories are gone then: import an export or backup to store them again.`,
  options: {
    ...READ_NAMESPACE,
    "set-aside-damaged": { type: "boolean", help: "first set aside damaged sealed blocks (E_STORE), then verify the rest (the whole store: not with -n)" },
    ...STORE_OPTIONS,
  },
  async run(context) {
    const setAside = context.values["set-aside-damaged"] === true;
    // A block may hold memories of several namespaces: setting aside is work on the whole store, never on one tenant's part.
    if (setAside && typeof context.values.namespace === "string") {
      throw new MemzipError(ErrorCode.USAGE, "--set-aside-damaged works on the whole store and does not go with -n", {
        hint: "Run `memzip verify --set-aside-damaged` without -n (a damaged block can hold memories of several namespaces), then `memzip verify -n NS`.",
      });
    }
    const engine = openEngine(context, {}, setAside ? {} : { readOnly: true });
    const bar = new ProgressBar(context.stderr, "verify", !context.json);
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      await warnIfEmptyNamespace(engine, context, namespace);
      const setAsideReport = setAside ? await engine.setAsideDamaged() : undefined;
      const report = await engine.verify(namespace, (p) => bar.update(p.done, p.done, p.total));
      bar.done();
      const setAsideLine = !setAsideReport
        ? ""
        : setAsideReport.parts.length === 0
          ? "nothing to set aside: every part of the store reads\n"
          : `set aside ${setAsideReport.parts.length} damaged part${setAsideReport.parts.length > 1 ? "s" : ""} of the store (${setAsideReport.memories} memories, unreadable; their bytes are kept in the damaged_blocks table):` +
            setAsideReport.parts.map((p) => `\n  ${p.where}: ${p.memories} memories, ${p.code} ${p.message}`).join("") +
            "\n  store them again by importing an export or backup that holds them (`memzip import FILE`: what is stored stays unchanged)\n";
      const failures = report.failures.map((f) => `\n  ${f.id}: ${f.code} ${f.message}`).join("");
      const mendable = report.failures.filter((f) => f.repairable).length;
      const blocks = report.failures.filter((f) => f.code === "E_STORE").length;
      // What to do about the rest, once per distinct hint (a damaged asset fails every memory coded with it alike).
      const others = new Map<string, number>();
      for (const f of report.failures) if (!f.repairable && f.code !== "E_STORE" && f.hint !== undefined) others.set(f.hint, (others.get(f.hint) ?? 0) + 1);
      const fixes = [...others].map(([hint, n]) => `\n${n} of them: ${hint}`).join("");
      const mend =
        (mendable > 0 ? `\n${mendable} of them can be repaired by writing their text again with their ids: \`memzip import\` an export or backup that holds them.` : "") +
        (blocks > 0 ? `\n${blocks} damaged part${blocks > 1 ? "s" : ""} of the store stop${blocks > 1 ? "" : "s"} writes of the memories in ${blocks > 1 ? "them" : "it"} (and can stop \`memzip compact\`): \`memzip verify --set-aside-damaged\` moves ${blocks > 1 ? "them" : "it"} out of the way.` : "");
      const indexes = (report.indexes ?? []).map((i) => `\n${i.where}: ${i.code} ${i.message}${i.hint ? `\n  fix: ${i.hint}` : ""}`).join("");
      emit(context, setAsideReport ? { ...report, setAside: setAsideReport } : report, `${setAsideLine}checked ${report.checked}, failed ${report.failed}${failures}${mend}${fixes}${indexes}`);
      return report.failed > 0 || indexes.length > 0 ? EXIT_FAILURES_FOUND : 0;
    } finally {
      await engine.close();
    }
  },
};
