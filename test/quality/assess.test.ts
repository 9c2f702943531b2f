import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { ruleEntityExtractor } from "../../src/semantic/entities-rules.js";
import { HashedNgramEmbedder } from "../../src/search/similarity.js";
import { assessQuality, entityScores } from "../../src/quality/assess.js";
import { ratioQualityChart } from "../../src/quality/chart.js";
import { CLI, devCorpus, tempDir, spawnBounded } from "../helpers.js";

describe("quality report", () => {
  it("scores entity precision and recall as sets of (type, text)", () => {
    const expected = [
      { type: "person", text: "Alice" },
      { type: "datetime", text: "Friday" },
    ];
    assert.deepEqual(entityScores(expected, [{ type: "person", text: "Alice" }, { type: "place", text: "Paris" }, { type: "person", text: "Alice" }]), { entityPrecision: 0.5, entityRecall: 0.5 });
    assert.deepEqual(entityScores([], []), { entityPrecision: 1, entityRecall: 1 });
    assert.deepEqual(entityScores(expected, []), { entityPrecision: 1, entityRecall: 0 });
  });

  it("reads every memory back, counts envelopes and assets, flags an unreadable memory and draws one point a memory", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "q.db");
    const records = devCorpus().slice(0, 40).map(({ id, text }) => ({ id, text }));
    {
      await using engine = Engine.open({ db, cache: "off" });
      await engine.rememberMany(records);
      await engine.remember({ id: "copy", text: records[0]!.text });
    }
    // Corrupt one envelope behind the engine's back.
    const raw = new Database(db);
    raw.prepare("UPDATE memories SET envelope = zeroblob(12) WHERE id = ?").run(records[3]!.id);
    raw.close();

    await using engine = Engine.open({ db, cache: "off" });
    const report = await assessQuality(engine, { embedder: new HashedNgramEmbedder(), extractor: ruleEntityExtractor });
    assert.equal(report.memories, 41);
    assert.equal(report.exactMatches, 40);
    assert.equal(report.semantic, undefined, "no memory has semantic features");
    assert.equal(report.flagged, 1);
    const bad = report.rows.find((r) => r.flags.length > 0)!;
    assert.equal(bad.id, records[3]!.id);
    assert.match(bad.flags[0]!, /unreadable/);
    assert.equal(report.rows.find((r) => r.id === "copy")!.storedBytes, 0, "a repeated text adds no envelope");
    const original = records.reduce((s, r) => s + Buffer.byteLength(r.text), 0) + Buffer.byteLength(records[0]!.text);
    const envelopes = report.rows.reduce((s, r) => s + r.storedBytes, 0);
    assert.ok(Math.abs(report.exactRatio - original / envelopes) < 1e-12, "the direction of stats' ratio: original over stored");
    assert.ok(Math.abs(report.exactRatioWithAssets - original / (envelopes + report.assetBytes)) < 1e-12);

    const svg = ratioQualityChart(report);
    assert.match(svg, /^<svg xmlns/);
    assert.equal(svg.match(/class="exact"/g)?.length, 41);
    assert.equal(svg.match(/class="semantic"/g), null);
    assert.equal(svg.match(/fill="#d62728" fill-opacity/g)?.length, 1, "the unreadable memory is drawn as flagged");

    const limited = await assessQuality(engine, { embedder: new HashedNgramEmbedder(), extractor: ruleEntityExtractor, limit: 5 });
    assert.equal(limited.memories, 5);
  });

  it("memzip quality prints JSON, writes the failures and the chart, and exits 1 when a memory is flagged", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "cli.db");
    const run = (args: string[]) => spawnBounded(process.execPath, [CLI, ...args, "--db", db], { env: { ...process.env, MEMZIP_CONFIG: "/nonexistent.json" } });
    for (const r of devCorpus().slice(0, 6)) assert.equal(run(["add", r.text, "--id", r.id]).status, 0);
    const chart = join(dir.path, "q.svg");
    const failures = join(dir.path, "failures.jsonl");
    const ok = run(["quality", "--json", "--chart", chart, "--failures", failures]);
    assert.equal(ok.status, 0, ok.stderr.toString());
    const report = JSON.parse(ok.stdout.toString()) as { memories: number; exactMatches: number; embedder: string; flaggedIds: string[] };
    assert.deepEqual([report.memories, report.exactMatches, report.embedder, report.flaggedIds], [6, 6, "ngram-256", []]);
    assert.equal(readFileSync(chart, "utf8").match(/class="exact"/g)?.length, 6);
    assert.equal(readFileSync(failures, "utf8"), "");

    const raw = new Database(db);
    raw.prepare("UPDATE memories SET envelope = zeroblob(12) WHERE id = ?").run(devCorpus()[2]!.id);
    raw.close();
    const flagged = run(["quality", "--json", "--failures", failures]);
    assert.equal(flagged.status, 1);
    const kept = readFileSync(failures, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; flags: string[] });
    assert.deepEqual(kept.map((k) => k.id), [devCorpus()[2]!.id]);
    assert.equal(run(["quality", "--mode", "fuzzy"]).status, 2);
  });
});
