/**
 * Bulk reads over a store whose namespaces interleave: the first search (which indexes every memory), a whole-store
 * export and a verify, each timed with the longest hold of the event loop while it ran.
 *
 *   node dist/bench/bulk-read.js DB
 *
 * DB is a store made by `memzip import` (keep its `<DB>.derived/` folder beside it: without the model states each
 * snapshot is trained once). Each step runs once, in this order, on a copy the caller makes (the search writes its
 * index into DB).
 */
import { Engine } from "../src/engine.js";

const db = process.argv[2];
if (!db) {
  process.stderr.write("usage: node dist/bench/bulk-read.js DB\n");
  process.exit(2);
}

/** Runs `work`, and how long it took and the longest the event loop went without a turn meanwhile (a 1 ms timer). */
async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; stallMs: number }> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  const start = performance.now();
  try {
    const result = await work();
    const end = performance.now();
    return { result, ms: end - start, stallMs: Math.max(worst, end - last) };
  } finally {
    clearInterval(timer);
  }
}

const engine = Engine.open({ db, mustExist: true });
try {
  const memories = (await engine.stats()).memories;
  const rows: [string, string, number, number][] = [];
  const search = await timed(() => engine.searchMemories("deploy the service after the migration", { limit: 10 }));
  rows.push(["first search (indexes every memory)", `${search.result.length} hits`, search.ms, search.stallMs]);
  const exported = await timed(async () => {
    let n = 0;
    for await (const _ of engine.exportJsonl()) n++;
    return n;
  });
  rows.push(["export, whole store (JSONL lines)", `${exported.result} memories`, exported.ms, exported.stallMs]);
  const verified = await timed(() => engine.verify());
  rows.push(["verify, whole store", `${verified.result.checked} checked, ${verified.result.failed} failed`, verified.ms, verified.stallMs]);
  process.stdout.write(`store ${db}: ${memories} memories\n\n| step | result | seconds | longest event-loop hold (ms) |\n| --- | --- | --- | --- |\n`);
  for (const [step, result, ms, stall] of rows) process.stdout.write(`| ${step} | ${result} | ${(ms / 1000).toFixed(1)} | ${stall.toFixed(0)} |\n`);
} finally {
  await engine.close();
}
