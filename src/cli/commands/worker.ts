import type { Command } from "../command.js";
import { CACHE_OPTION, CODING_OPTIONS, STORE_OPTIONS } from "../command.js";
import { checkQueueReachable } from "../../fleet/queue.js";
import { startFleetWorker } from "../../fleet/worker.js";
import { openEngine, parseInteger, settingsOf } from "../shared.js";
import { MemzipError, ErrorCode } from "../../errors.js";

export const workerCommand: Command = {
  name: "worker",
  positionals: 0,
  summary: "code and commit queued import chunks (one of a fleet: run as many as you like)",
  usage: "memzip worker --queue redis://HOST:PORT [--db DB] [--concurrency N] [--name NAME] [--lock-ms MS] [--stalled-ms MS] [--model M] [--cache C]",
  help: `Takes chunks of \`memzip import FILE --queue …\` (or a server's queued imports) from the store's
queue on Redis and codes and commits each in one transaction. Run one per core, on as many machines
as share the store (--db postgres://…). A worker with --model also takes that model's llm chunks.
A killed worker's chunk goes back to the queue after --lock-ms and another worker runs it; a chunk
that runs twice has the effect of one run. Prints "worker NAME ready" on stderr when taking chunks;
SIGTERM or Ctrl-C: finishes the chunks in progress, then exits.`,
  options: {
    queue: { type: "string", value: "URL", help: "the queue's Redis, redis://HOST:PORT (required)" },
    concurrency: { type: "string", value: "N", help: "chunks coded at once in this process (default 1)" },
    name: { type: "string", value: "NAME", help: "this worker's name in reports and on jobs (default HOST:PID)" },
    "lock-ms": { type: "string", value: "MS", help: "a chunk's lock: a killed worker's chunk is retried this long after (default 30000)" },
    "stalled-ms": { type: "string", value: "MS", help: "how often workers look for stalled chunks (default 30000)" },
    ...CACHE_OPTION,
    ...CODING_OPTIONS,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const queue = context.values.queue;
    if (typeof queue !== "string") throw new MemzipError(ErrorCode.USAGE, "memzip worker needs --queue redis://HOST:PORT", { hint: "Pass the Redis that `memzip import --queue` uses." });
    const concurrency = parseInteger(context.values.concurrency, "concurrency", 1, 256) ?? 1;
    const lockDurationMs = parseInteger(context.values["lock-ms"], "lock-ms", 500, 24 * 3600 * 1000);
    const stalledIntervalMs = parseInteger(context.values["stalled-ms"], "stalled-ms", 200, 24 * 3600 * 1000);
    const model = settingsOf(context).model;
    await checkQueueReachable(queue);
    const engine = openEngine(context, {}, { create: true });
    const worker = startFleetWorker(engine, {
      queue,
      concurrency,
      ...(typeof context.values.name === "string" ? { name: context.values.name } : {}),
      ...(lockDurationMs ? { lockDurationMs } : {}),
      ...(stalledIntervalMs ? { stalledIntervalMs } : {}),
      ...(model ? { models: [model] } : {}),
      onChunk: (event) => {
        if (event.state !== "active") context.stderr.write(`chunk ${event.importId}-${event.index}: ${event.state} (${event.records} records${event.rejected ? `, ${event.rejected} rejected` : ""})${event.error ? `: ${event.error}` : ""}\n`);
      },
    });
    try {
      await worker.ready();
      // The signal handlers go in before "ready" is printed: a stop sent on reading it finds them installed.
      const stopped = new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGTERM", stop);
          process.off("SIGINT", stop);
          context.stderr.write("memzip worker: finishing the chunks in progress\n");
          resolve();
        };
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
      });
      context.stderr.write(`worker ${worker.name} ready on ${worker.queues.join(", ")}\n`);
      await stopped;
    } finally {
      await worker.close();
      await engine.close();
    }
    return 0;
  },
};
