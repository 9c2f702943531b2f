import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../../src/engine.js";
import { devCorpus } from "../helpers.js";
import { Oracle } from "./oracle.js";
import type { Rng } from "./rng.js";

export interface SeedRecord {
  id: string;
  text: string;
  namespace?: string;
}

/** A store built once per run; each case works on a copy. */
export interface Template {
  db: string;
  records: readonly SeedRecord[];
}

export interface Fixtures {
  dir: string;
  /** 48 memories, no trained assets. */
  small: Template;
  /** 230 memories: the import passed 200 and trained a dictionary and a context model. */
  trained: Template;
  /** The small template exported as Arrow by the library. */
  arrow: Uint8Array;
  /** Corpus records in neither template, for new writes. */
  fresh: readonly SeedRecord[];
}

export function jsonl(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join("\n") + "\n";
}

async function buildTemplate(dir: string, name: string, records: readonly SeedRecord[], trained = false): Promise<Template> {
  const source = join(dir, `${name}.jsonl`);
  writeFileSync(source, jsonl(records));
  const db = join(dir, `${name}.db`);
  // A trained template: cmBase off, so that the import's snapshot is used (the shipped base learned from these dev
  // texts and would store them smaller), and a dictionary made active even where it measures larger.
  const engine = Engine.open({ db, ...(trained ? { cmBase: false } : {}) });
  try {
    const report = await engine.importJsonl(source);
    if (report.rejected.length > 0) throw new Error(`template ${name}: ${report.rejected.length} records rejected`);
    if (trained) {
      if (!report.trained?.assets.some((asset) => asset.kind === "cm-snapshot")) throw new Error(`template ${name}: no cm snapshot was used`);
      if (!report.trained.assets.some((asset) => asset.kind === "zstd-dictionary")) await engine.trainAsset("zstd-dictionary", "default", { force: true });
    }
  } finally {
    await engine.close();
  }
  return { db, records };
}

/** Builds the templates from a seeded draw of the dev corpus (English and Chinese). */
export async function buildFixtures(dir: string, rng: Rng): Promise<Fixtures> {
  mkdirSync(dir, { recursive: true });
  const corpus = rng.sample(devCorpus(), 900).map((r) => ({ id: r.id, text: r.text }));
  const small = await buildTemplate(dir, "small", corpus.slice(0, 48));
  const trained = await buildTemplate(dir, "trained", corpus.slice(48, 278), true);
  const engine = Engine.open({ db: small.db });
  let arrow: Uint8Array;
  try {
    arrow = await engine.exportArrow();
  } finally {
    await engine.close();
  }
  return { dir, small, trained, arrow, fresh: corpus.slice(278) };
}

/** A copy of a template's store at `db`, and an oracle that knows its memories as acknowledged. */
export function copyTemplate(template: Template, db: string): Oracle {
  copyFileSync(template.db, db);
  return templateOracle(template);
}

/** An oracle that knows a template's memories as acknowledged. */
export function templateOracle(template: Template): Oracle {
  const oracle = new Oracle();
  for (const r of template.records) oracle.acked(r.id, r.text);
  return oracle;
}

/** A variant of a text that differs from it (an update). */
export function edited(text: string, rng: Rng): string {
  const cut = rng.int(0, text.length);
  return `${text.slice(0, cut)} [edit ${rng.int(0, 1e9)}] ${text.slice(cut)}`;
}
