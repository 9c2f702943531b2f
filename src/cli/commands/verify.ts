import type { Command } from "../command.js";
import { READ_NAMESPACE, STORE_OPTIONS } from "../command.js";
import { EXIT_FAILURES_FOUND } from "../exit-codes.js";
import { ProgressBar } from "../progress.js";
import { emit, openEngine, warnIfEmptyNamespace } from "../shared.js";

export const verifyCommand: Command = {
  name: "verify",
  positionals: 0,
  summary: "decode every memory and check it against its checksum",
  usage: "memzip verify [-n NS] [--db DB] [--json]",
  help: `Prints {"checked": N, "failed": N, "failures": [{"id", "code", "message"}]} with --json.
Exits 1 if any memory fails. A memory whose text no longer reads back (E_CHECKSUM, E_FORMAT) is
repaired by writing its text again with its id: \`memzip import\` an export or backup that holds it.`,
  options: { ...READ_NAMESPACE, ...STORE_OPTIONS },
  async run(context) {
    const engine = openEngine(context, {}, { readOnly: true });
    const bar = new ProgressBar(context.stderr, "verify", !context.json);
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      await warnIfEmptyNamespace(engine, context, namespace);
      const report = await engine.verify(namespace, (p) => bar.update(p.done, p.done, p.total));
      bar.done();
      const failures = report.failures.map((f) => `\n  ${f.id}: ${f.code} ${f.message}`).join("");
      const mendable = report.failures.filter((f) => f.code === "E_CHECKSUM" || f.code === "E_FORMAT").length;
      const mend = mendable > 0 ? `\n${mendable} of them can be repaired by writing their text again with their ids: \`memzip import\` an export or backup that holds them.` : "";
      emit(context, report, `checked ${report.checked}, failed ${report.failed}${failures}${mend}`);
      return report.failed > 0 ? EXIT_FAILURES_FOUND : 0;
    } finally {
      await engine.close();
    }
  },
};
