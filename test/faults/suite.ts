import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildFixtures, type Fixtures } from "./fixtures.js";
import type { Oracle } from "./oracle.js";
import { classifyExit, memzip, type CliOptions, type CliResult, type ExitClass } from "./proc.js";
import { readBack } from "./readback.js";
import { Rng } from "./rng.js";

export type Outcome = "ok" | "typed-error" | "wrong" | "lost" | "crash";
export const OUTCOMES: readonly Outcome[] = ["ok", "typed-error", "wrong", "lost", "crash"];

/** What one case saw; the worst note decides its outcome. */
export class CaseContext {
  readonly notes: { outcome: Outcome; detail: string }[] = [];

  constructor(
    readonly rng: Rng,
    readonly dir: string,
    readonly fixtures: Fixtures,
  ) {}

  note(outcome: Outcome, detail: string): void {
    this.notes.push({ outcome, detail });
  }

  /** Runs the CLI and notes a typed error or a crash. */
  async cli(args: string[], options: CliOptions = {}): Promise<{ result: CliResult; kind: ExitClass }> {
    const result = await memzip(args, options);
    const { kind, detail } = await classifyExit(result);
    if (kind === "typed") this.note("typed-error", `${args[0]}: ${detail}`);
    if (kind === "crash") this.note("crash", detail);
    return { result, kind };
  }

  /** Reads the store back with the library and checks it against the oracle. */
  async verify(db: string, oracle: Oracle, durable: boolean): Promise<void> {
    const seen = await readBack(db);
    for (const code of new Set(seen.typed)) this.note("typed-error", `read: ${code}`);
    for (const detail of seen.untyped.slice(0, 3)) this.note("crash", `library: ${detail}`);
    const verdict = oracle.check(seen, durable);
    for (const detail of verdict.wrong) this.note("wrong", detail);
    for (const detail of verdict.lost) this.note("lost", detail);
  }

  outcome(): Outcome {
    for (const outcome of ["wrong", "lost", "crash", "typed-error"] as const) if (this.notes.some((n) => n.outcome === outcome)) return outcome;
    return "ok";
  }
}

export interface Family {
  name: string;
  /** What it does, for the table. */
  summary: string;
  /** Relative share of the randomized cases. */
  weight: number;
  run(context: CaseContext): Promise<void>;
}

export interface CaseResult {
  index: number;
  family: string;
  seed: number;
  outcome: Outcome;
  ms: number;
  notes: { outcome: Outcome; detail: string }[];
}

export interface SuiteOptions {
  seed: number;
  cases: number;
  families: readonly Family[];
  /** Every family at least once before the weighted draw (the bounded core). */
  coverAll?: boolean;
  onCase?: (result: CaseResult) => void;
  /** Cases run at once (each is one or a few processes). Defaults to `1`. */
  jobs?: number;
  /** Keep every case's folder (for debugging a seed). Defaults to `false`. */
  keep?: boolean;
}

export interface SuiteResult {
  seed: number;
  cases: CaseResult[];
  ms: number;
}

/** Runs `cases` seeded cases, each in its own folder, `jobs` at a time. */
export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  const started = performance.now();
  const rng = new Rng(options.seed);
  const root = mkdtempSync(join(tmpdir(), "memzip-faults-"));
  // Readable by the unprivileged user the read-only family runs as.
  chmodSync(root, 0o755);
  const results: CaseResult[] = [];
  try {
    const fixtures = await buildFixtures(join(root, "fixtures"), new Rng(rng.fork()));
    // Every case's family and seed are drawn up front, so a seed replays the same cases whatever `jobs` is.
    const total = options.families.reduce((sum, f) => sum + f.weight, 0);
    const plan = Array.from({ length: options.cases }, (_, index) => {
      let family: Family;
      if (options.coverAll && index < options.families.length) family = options.families[index] as Family;
      else {
        let draw = rng.next() * total;
        family = options.families.find((f) => (draw -= f.weight) < 0) ?? (options.families.at(-1) as Family);
      }
      return { index, family, seed: rng.fork() };
    });
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let item = plan[next++]; item; item = plan[next++]) {
        const result = await runCase(root, fixtures, item.index, item.family, item.seed, options.keep === true);
        results.push(result);
        options.onCase?.(result);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.jobs ?? 1) }, worker));
  } finally {
    if (!options.keep) rmSync(root, { recursive: true, force: true });
  }
  results.sort((a, b) => a.index - b.index);
  return { seed: options.seed, cases: results, ms: performance.now() - started };
}

async function runCase(root: string, fixtures: Fixtures, index: number, family: Family, seed: number, keep: boolean): Promise<CaseResult> {
  const dir = join(root, `case-${index}`);
  mkdirSync(dir);
  const context = new CaseContext(new Rng(seed), dir, fixtures);
  const started = performance.now();
  try {
    await family.run(context);
  } catch (error) {
    context.note("crash", `harness: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`.slice(0, 600));
  }
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return { index, family: family.name, seed, outcome: context.outcome(), ms: performance.now() - started, notes: context.notes };
}

export type Counts = Record<Outcome, number> & { tried: number };

export function countsByFamily(result: SuiteResult, families: readonly Family[]): Map<string, Counts> {
  const table = new Map<string, Counts>();
  const empty = (): Counts => ({ tried: 0, ok: 0, "typed-error": 0, wrong: 0, lost: 0, crash: 0 });
  for (const f of families) table.set(f.name, empty());
  table.set("total", empty());
  for (const c of result.cases) {
    for (const key of [c.family, "total"]) {
      const row = table.get(key) ?? empty();
      row.tried++;
      row[c.outcome]++;
      table.set(key, row);
    }
  }
  return table;
}

/** The counts as a Markdown table (tried / ok / typed error / wrong / lost / crash per family). */
export function countsTable(result: SuiteResult, families: readonly Family[], known: ReadonlyMap<string, string> = new Map()): string {
  const lines = ["| family | tried | ok | typed error | wrong | lost | crash | depends on |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"];
  for (const [name, c] of countsByFamily(result, families)) {
    lines.push(`| ${name} | ${c.tried} | ${c.ok} | ${c["typed-error"]} | ${c.wrong} | ${c.lost} | ${c.crash} | ${known.get(name) ?? ""} |`);
  }
  return lines.join("\n");
}
