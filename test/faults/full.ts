import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.js";
import { FAMILIES, KNOWN_FAILING } from "./families.js";
import { countsTable, runSuite } from "./suite.js";

/**
 * The full fault suite (`npm run test:faults`): MEMZIP_FAULT_CASES randomized cases (default 500)
 * from MEMZIP_FAULT_SEED (default: a fresh seed, printed), MEMZIP_FAULT_JOBS at a time (default 3);
 * MEMZIP_FAULT_FAMILIES=a,b runs only those families, MEMZIP_FAULT_KEEP=1 keeps the case folders. Writes the counts to
 * bench/results/faults.json and faults.md (MEMZIP_FAULT_OUT names another folder). Exits 1 when any
 * case returned a wrong text, lost an acknowledged write or crashed.
 */
const seed = process.env.MEMZIP_FAULT_SEED ? Number(process.env.MEMZIP_FAULT_SEED) : Math.floor(Math.random() * 2 ** 32);
const cases = process.env.MEMZIP_FAULT_CASES ? Number(process.env.MEMZIP_FAULT_CASES) : 500;
const jobs = process.env.MEMZIP_FAULT_JOBS ? Number(process.env.MEMZIP_FAULT_JOBS) : 3;
const only = process.env.MEMZIP_FAULT_FAMILIES?.split(",").filter(Boolean);
if (!Number.isInteger(seed) || seed < 0 || !Number.isInteger(cases) || cases < 1 || !Number.isInteger(jobs) || jobs < 1) {
  process.stderr.write("MEMZIP_FAULT_SEED must be a whole number >= 0, MEMZIP_FAULT_CASES and MEMZIP_FAULT_JOBS >= 1\n");
  process.exit(2);
}
const families = only ? FAMILIES.filter((f) => only.includes(f.name)) : FAMILIES;
if (process.env.MEMZIP_FAULT_KEEP === "1") process.stdout.write("MEMZIP_FAULT_KEEP=1: case folders stay in the temp folder\n");
process.stdout.write(`fault suite: seed ${seed} (MEMZIP_FAULT_SEED=${seed} replays it), ${cases} cases, ${families.length} families, ${jobs} at a time\n`);
const result = await runSuite({
  seed,
  cases,
  families,
  jobs,
  keep: process.env.MEMZIP_FAULT_KEEP === "1",
  onCase: (c) => {
    const detail = c.outcome === "ok" ? "" : `  ${c.notes.find((n) => n.outcome === c.outcome)?.detail ?? ""}`;
    process.stdout.write(`#${c.index} ${c.family} seed=${c.seed} ${c.outcome} ${(c.ms / 1000).toFixed(1)}s${detail.slice(0, 240)}\n`);
  },
});
const table = countsTable(result, families, KNOWN_FAILING);
const minutes = (result.ms / 60000).toFixed(1);
process.stdout.write(`\n${table}\n\n${result.cases.length} cases in ${minutes} min, seed ${seed}\n`);
const out = process.env.MEMZIP_FAULT_OUT ?? join(ROOT, "bench", "results");
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "faults.json"), JSON.stringify(result, null, 2));
writeFileSync(join(out, "faults.md"), `# Fault suite\n\nseed ${seed}, ${result.cases.length} cases, ${minutes} min\n\n${table}\n`);
const bad = result.cases.filter((c) => c.outcome === "wrong" || c.outcome === "lost" || c.outcome === "crash").length;
process.exitCode = bad > 0 ? 1 : 0;
