import type { Command } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import { emit, openEngine, parseInteger } from "../shared.js";

export const jobsCommand: Command = {
  name: "jobs",
  summary: "list import jobs and how far each got",
  usage: "memzip jobs [--limit N] [--json]",
  help: `Each JSONL import is a job whose progress is saved with every committed batch. A job left
"running" by a crash, or "interrupted" by Ctrl-C, continues with \`memzip import FILE --resume JOB\`.
  --limit N          newest N jobs (default 20)
${STORE_HELP}`,
  options: { ...STORE_OPTIONS, limit: { type: "string" } },
  async run(context) {
    const limit = parseInteger(context.values.limit, "limit", 1, 10_000) ?? 20;
    const engine = openEngine(context, {}, { readOnly: true });
    try {
      const jobs = await engine.jobs(limit);
      const lines = jobs.map((j) => `${j.id}\t${j.status}\t${j.namespace}\t${j.line} lines, ${Math.round((100 * j.position) / Math.max(j.sourceSize, 1))}%\t${j.source}`);
      emit(context, { jobs }, lines.length ? `id\tstatus\tnamespace\tprogress\tsource\n${lines.join("\n")}` : "no jobs");
      return 0;
    } finally {
      await engine.close();
    }
  },
};
