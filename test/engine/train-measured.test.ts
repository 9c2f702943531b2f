import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { CLI, devCorpus, spawnBounded, storeOf, tempDir } from "../helpers.js";

/**
 * A training that would replace a namespace's active asset is measured against it first (trial: `model train
 * --max-bytes 100000 --table-bits 18` on 1200 dev memories took the namespace from 193 to 219 KB, its recode moving
 * every memory off the better snapshot).
 */
describe("a training measured against the active asset", () => {
  const records = devCorpus()
    .slice(0, 400)
    .map(({ id, text }) => ({ id, text }));
  const open = (db: string) => Engine.open({ db, cache: "off", workers: 0, cmBase: false, autoTrainAfter: 100_000 });

  it("is not used where it would make the namespace larger, and is removed; with force it is used, and the namespace grows as measured", async () => {
    using dir = tempDir();
    const engine = open(join(dir.path, "m.db"));
    try {
      await engine.rememberMany(records);
      const first = await engine.trainAsset("cm-snapshot");
      assert.equal(first.activated, true);
      assert.equal(first.comparison, undefined, "nothing to measure against");
      await engine.recode();
      const before = await engine.stats();
      const store = storeOf(engine);

      const small = await engine.trainAsset("cm-snapshot", "default", { maxBytes: 20_000, tableBits: 16 });
      assert.equal(small.activated, false);
      const comparison = small.comparison;
      assert.ok(comparison);
      assert.equal(comparison.activeId, first.id);
      assert.equal(comparison.memories, records.length, "a namespace of fewer than 1024 memories is measured whole");
      assert.equal(comparison.activeBytes, before.storedBytes, "what the namespace stores now is counted exactly");
      assert.ok(comparison.trainedBytes > comparison.activeBytes * 1.02, JSON.stringify(comparison));
      assert.equal(await store.assets.active("default", "cm-snapshot"), first.id, "the active snapshot stays");
      assert.equal(await store.assets.get(small.id), undefined, "the new one is removed");
      assert.equal(await store.assets.learnedFrom("default", "cm-snapshot"), records.length);
      assert.equal((await engine.stats()).storedBytes, before.storedBytes, "nothing changed");

      const forced = await engine.trainAsset("cm-snapshot", "default", { maxBytes: 20_000, tableBits: 16, force: true });
      assert.equal(forced.id, small.id, "the same training");
      assert.equal(forced.activated, true);
      assert.equal(await store.assets.active("default", "cm-snapshot"), forced.id);
      await engine.recode();
      await engine.pruneAssets({ unusedActive: true });
      const after = await engine.stats();
      // The measurement's estimate against what the recode stored (every memory measured: exact up to the recode's own choices).
      assert.ok(after.storedBytes > before.storedBytes * 1.02, `${after.storedBytes} against ${before.storedBytes}`);
      assert.ok(Math.abs(after.storedBytes - comparison.trainedBytes) <= after.storedBytes * 0.02, `${after.storedBytes} stored, ${comparison.trainedBytes} estimated`);
      for (const { id, text } of records.slice(0, 50)) assert.equal(await engine.recall(id), text);
    } finally {
      await engine.close();
    }
  });

  it("is used where it makes the namespace smaller, and the recode stores about what was measured", async () => {
    using dir = tempDir();
    const engine = open(join(dir.path, "m.db"));
    try {
      await engine.rememberMany(records);
      const small = await engine.trainAsset("cm-snapshot", "default", { maxBytes: 20_000, tableBits: 16 });
      assert.equal(small.activated, true);
      await engine.recode();
      await engine.pruneAssets({ unusedActive: true });
      const before = await engine.stats();

      const full = await engine.trainAsset("cm-snapshot");
      assert.equal(full.activated, true);
      assert.ok(full.comparison && full.comparison.trainedBytes < full.comparison.activeBytes, JSON.stringify(full.comparison));
      assert.equal(full.comparison.activeBytes, before.storedBytes);
      await engine.recode();
      await engine.pruneAssets({ unusedActive: true });
      const after = await engine.stats();
      assert.ok(after.storedBytes < before.storedBytes, `${after.storedBytes} against ${before.storedBytes}`);
      assert.ok(Math.abs(after.storedBytes - full.comparison.trainedBytes) <= after.storedBytes * 0.02, `${after.storedBytes} stored, ${full.comparison.trainedBytes} estimated`);
      assert.deepEqual((await engine.assetUsage()).map((a) => a.id), [full.id], "the smaller snapshot was pruned");
    } finally {
      await engine.close();
    }
  });

  it("counts memories on an older asset as moving (the recode moves them whatever the size), and samples large memories apart from small ones", async () => {
    using dir = tempDir();
    const engine = open(join(dir.path, "m.db"));
    try {
      // One large memory first (a sample of every n-th memory kept it alone once over 1 MiB), then the small ones.
      await engine.remember({ id: "large", text: devCorpus().map((r) => r.text).join("\n").slice(0, 300_000) });
      await engine.rememberMany(records);
      await engine.trainAsset("cm-snapshot");
      await engine.recode();
      // A newer snapshot made active with no recode (`model train --no-recode`): the memories stay on the first one.
      const newer = await engine.trainAsset("cm-snapshot", "default", { maxBytes: 60_000, force: true });
      assert.equal(newer.activated, true);
      const before = await engine.stats();
      const small = await engine.trainAsset("cm-snapshot", "default", { maxBytes: 20_000, tableBits: 16 });
      const comparison = small.comparison;
      assert.ok(comparison);
      assert.equal(comparison.activeBytes, before.storedBytes, "what the namespace stores now: its memories' assets and envelopes");
      assert.ok(comparison.memories > records.length / 2, `measured ${comparison.memories}`);
      // What the recode would store with it, against what it does (forced).
      await engine.trainAsset("cm-snapshot", "default", { maxBytes: 20_000, tableBits: 16, force: true });
      await engine.recode();
      await engine.pruneAssets({ unusedActive: true });
      const after = await engine.stats();
      assert.ok(Math.abs(after.storedBytes - comparison.trainedBytes) <= after.storedBytes * 0.03, `${after.storedBytes} stored, ${comparison.trainedBytes} estimated`);
      assert.equal(small.activated, after.storedBytes <= before.storedBytes * 1.02);
    } finally {
      await engine.close();
    }
  });

  it("is refused, and changes nothing, when another process prunes the new asset while it is measured", async () => {
    using dir = tempDir();
    const engine = open(join(dir.path, "m.db"));
    try {
      await engine.rememberMany(records);
      const first = await engine.trainAsset("cm-snapshot");
      await engine.recode();
      const before = await engine.stats();
      // Right after the new snapshot is stored (unused, not active yet): a prune, as a compact or \`model prune\` elsewhere.
      const repository = storeOf(engine).assets;
      const put = repository.put.bind(repository);
      let pruned: string[] = [];
      repository.put = async (asset) => {
        await put(asset);
        pruned = (await engine.pruneAssets()).map((removed) => removed.id);
      };
      await assert.rejects(engine.trainAsset("cm-snapshot", "default", { maxBytes: 20_000, tableBits: 16 }), (error: unknown) => isMemzipError(error, ErrorCode.CONFLICT) && /removed while it was measured/.test((error as Error).message));
      assert.equal(pruned.length, 1, "the new snapshot was pruned");
      assert.equal(await repository.active("default", "cm-snapshot"), first.id);
      assert.equal((await engine.stats()).storedBytes, before.storedBytes);
    } finally {
      await engine.close();
    }
  });

  it("memzip model train says it kept the active snapshot and exits 0; --force uses the new one", () => {
    using dir = tempDir();
    const db = join(dir.path, "cli.db");
    const input = join(dir.path, "in.jsonl");
    writeFileSync(input, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    const memzip = (...args: string[]) => spawnBounded(process.execPath, [CLI, ...args, "--db", db], { encoding: "utf8", env: { ...process.env, MEMZIP_CM_BASE: "false" } });
    assert.equal(memzip("import", input).status, 0);
    // The import trained the namespace's snapshot; the same training again is the same asset, used as it is.
    const again = memzip("model", "train", "--json");
    assert.equal((JSON.parse(again.stdout) as { activated: boolean }).activated, true, again.stderr);
    const kept = memzip("model", "train", "--max-bytes", "20000", "--table-bits", "16");
    assert.equal(kept.status, 0, kept.stderr);
    assert.match(kept.stdout, /kept the active context-model snapshot: the new one .* would make the namespace larger .*Pass --force to use it anyway/);
    const listed = memzip("model", "ls", "--json");
    assert.equal((JSON.parse(listed.stdout) as { assets: unknown[] }).assets.length, 1, "the new snapshot was removed");
    const forced = memzip("model", "train", "--max-bytes", "20000", "--table-bits", "16", "--force", "--json");
    assert.equal(forced.status, 0, forced.stderr);
    const report = JSON.parse(forced.stdout) as { activated: boolean; comparison?: unknown; recode?: { recoded: number } };
    assert.equal(report.activated, true);
    assert.equal(report.comparison, undefined, "a forced training is not measured");
    assert.ok((report.recode?.recoded ?? 0) > 0);
  });
});
