import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stateFileName } from "../../src/codec/cm/derived-state.js";
import { Engine } from "../../src/engine.js";
import { ACTIVE_ASSET_GRACE_MS } from "../../src/engine/assets.js";
import { DerivedDirectory } from "../../src/store/derived-dir.js";
import { SAMPLE, tempDir } from "../helpers.js";

/** A pid that ran and exited: no process of it runs any longer. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  assert.equal(child.status, 0);
  return child.pid;
}

/** Sets a file's times `ageMs` into the past. */
function age(path: string, ageMs: number): void {
  const then = new Date(Date.now() - ageMs);
  utimesSync(path, then, then);
}

describe("compact sweeps the model states beside the store", () => {
  it("removes a state whose asset the store does not hold and a killed writer's temporary; keeps held, young and running ones", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "m.db");
    const folder = `${db}.derived`;
    const records = readFileSync(SAMPLE, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; text: string });
    await using engine = Engine.open({ db, cache: "off", workers: 0, cmBase: false, autoTrainAfter: 100_000 });
    await engine.rememberMany(records.map((r) => ({ id: r.id, text: r.text })));
    const trained = await engine.trainAsset("cm-snapshot");
    await engine.recode("default");
    const held = join(folder, stateFileName(trained.id));
    assert.ok(existsSync(held), "the training wrote its snapshot's state");

    // Leftovers as a killed training leaves them: a whole state with no saved snapshot, and a temporary mid-write.
    const orphan = join(folder, stateFileName("ab".repeat(32)));
    copyFileSync(held, orphan);
    const dead = deadPid();
    const killedWrite = join(folder, `${stateFileName("cd".repeat(32))}.${dead}.0badf00d.tmp`);
    writeFileSync(killedWrite, Buffer.alloc(4096, 7));
    // What stays: a young state (its training may be about to save the snapshot), a running writer's temporary, a
    // killed writer's temporary under a minute old, the held snapshot's state however old, and what names no asset.
    const young = join(folder, stateFileName("ef".repeat(32)));
    copyFileSync(held, young);
    const running = join(folder, `${stateFileName("01".repeat(32))}.${process.pid}.0badf00d.tmp`);
    writeFileSync(running, Buffer.alloc(100));
    const freshKilled = join(folder, `${stateFileName("23".repeat(32))}.${dead}.0badf00d.tmp`);
    writeFileSync(freshKilled, Buffer.alloc(100));
    const outcomes = join(folder, "model-outcomes.json");
    writeFileSync(outcomes, "{}");
    for (const path of [orphan, killedWrite, running, held, outcomes]) age(path, ACTIVE_ASSET_GRACE_MS + 60_000);
    const expectedBytes = statSync(orphan).size + 4096;

    const report = await engine.compact();
    assert.deepEqual(report.derivedRemoved, { files: 2, bytes: expectedBytes });
    assert.equal(existsSync(orphan), false);
    assert.equal(existsSync(killedWrite), false);
    for (const path of [young, running, freshKilled, held, outcomes]) assert.ok(existsSync(path), `${path} stays`);
    // The memories still read back exactly with the snapshot whose state stayed.
    for (const r of records.slice(0, 20)) assert.equal(await engine.recall(r.id), r.text);
    assert.deepEqual((await engine.compact()).derivedRemoved, { files: 0, bytes: 0 });
  });

  it("never sweeps a folder other stores may keep states in: a linked <db>.derived, the per-user folder", async () => {
    await using dir = tempDir();
    const shared = join(dir.path, "shared");
    mkdirSync(shared);
    const other = join(shared, stateFileName("ab".repeat(32)));
    writeFileSync(other, Buffer.alloc(1000, 1));
    const killedWrite = join(shared, `${stateFileName("cd".repeat(32))}.${deadPid()}.0badf00d.tmp`);
    writeFileSync(killedWrite, Buffer.alloc(100));
    for (const path of [other, killedWrite]) age(path, ACTIVE_ASSET_GRACE_MS + 60_000);

    const db = join(dir.path, "m.db");
    symlinkSync(shared, `${db}.derived`);
    await using engine = Engine.open({ db, cache: "off", workers: 0 });
    await engine.remember({ id: "n1", text: "a note about the weekly deploy" });
    assert.deepEqual((await engine.compact()).derivedRemoved, { files: 0, bytes: 0 });
    assert.deepEqual(new DerivedDirectory({ folder: shared }).sweep(() => false, 0), { files: 0, bytes: 0 });
    assert.ok(existsSync(other) && existsSync(killedWrite), "another store's state and temporary stay");
    // The same files in a store's own folder do go (so the two checks above can fail).
    renameSync(shared, `${join(dir.path, "x.db")}.derived`);
    assert.deepEqual(new DerivedDirectory(join(dir.path, "x.db")).sweep(() => false, 0), { files: 2, bytes: 1100 });
  });

  it("reports nothing for a store without a folder beside it", async () => {
    await using engine = Engine.open({ db: ":memory:", cache: "off", workers: 0 });
    await engine.remember({ id: "n1", text: "a note" });
    assert.deepEqual((await engine.compact()).derivedRemoved, { files: 0, bytes: 0 });
  });
});
