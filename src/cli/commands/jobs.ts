import type { Command } from "../command.js";
import { STORE_OPTIONS } from "../command.js";
import { dbFlag, emit, openEngine, parseInteger, shellWord } from "../shared.js";

export const jobsCommand: Command = {
  name: "jobs",
  positionals: 0,
  summary: "list import jobs and how far each got",
  usage: "memzip jobs [--limit N] [--db DB] [--json]",
  help: `Each JSONL import is a job whose progress is saved with every committed batch. A running
import touches its job every 15 s; a "running" job is shown "stale" once its process has ended (killed, on
this machine: seen at once) or it is untouched for a minute (its machine or container went away). A stale job, or one "interrupted" by Ctrl-C or SIGTERM, continues
with \`memzip import FILE --resume JOB\`; resuming one still "running" is refused (E_BUSY, exit 13). A stopped
job is shown "superseded" once a later import of the same file into the same namespace finished.`,
  options: { limit: { type: "string", value: "N", help: "newest N jobs (default 20)" }, ...STORE_OPTIONS },
  async run(context) {
    const limit = parseInteger(context.values.limit, "limit", 1, 10_000) ?? 20;
    const engine = openEngine(context, {}, { readOnly: true });
    // The resume line works when pasted: it names the store unless it is the one found without --db.
    const db = dbFlag(context);
    try {
      const jobs = await engine.jobs(limit);
      const lines = jobs.map((j) => {
        const line = `${j.id}\t${j.status}\t${j.namespace}\t${j.line} lines, ${Math.round((100 * j.position) / Math.max(j.sourceSize, 1))}%\t${j.source}`;
        if (j.status === "superseded") return `${line}\n  superseded: ${j.supersededBy ?? "a later job"} imported the same file into ${j.namespace} since; nothing is left to resume`;
        return j.status === "stale" ? `${line}\n  stale: its process stopped; continue with: memzip import ${shellWord(j.source)} --resume ${j.id}${db}` : line;
      });
      emit(context, { jobs }, lines.length ? `id\tstatus\tnamespace\tprogress\tsource\n${lines.join("\n")}` : "no jobs");
      return 0;
    } finally {
      await engine.close();
    }
  },
};
