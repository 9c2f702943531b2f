import { strict as assert } from "node:assert";
import { copyFileSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { CLI, SAMPLE, damageAsset, spawnBounded, tempDir } from "../helpers.js";
import { readFileSync } from "node:fs";


describe("a damaged asset (trial43)", () => {
  it("fails verify even while the derived state still decodes its memories, and a damaged snapshot is trained once, not once per memory", async () => {
    using dir = tempDir();
    const db = join(dir.path, "a.db");
    const file = join(dir.path, "in.jsonl");
    const records = readFileSync(SAMPLE, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; text: string });
    writeFileSync(file, records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");
    const engine = Engine.open({ db, cache: "off", workers: 0, cmBase: false, autoTrainAfter: 1000 });
    let users: string[];
    try {
      await engine.importJsonl(file);
      await engine.trainAsset("cm-snapshot");
      await engine.recode("default");
      const snapshot = (await engine.stats()).byCodec;
      users = [];
      for (const r of records) if ((await engine.memory(r.id)).assetId !== null) users.push(r.id);
      assert.ok(users.length >= 10, `memories coded with the snapshot: ${JSON.stringify(snapshot)}`);
      assert.equal((await engine.verify()).failed, 0);
    } finally {
      await engine.close();
    }
    const assetId = damageAsset(db, "cm-snapshot");

    // The derived state (beside the store) was written from the good bytes: every memory still decodes from it.
    const withDerived = Engine.open({ db, cache: "off", workers: 0 });
    try {
      for (const id of users) assert.equal(await withDerived.recall(id), records.find((r) => r.id === id)?.text);
      // It verified clean ("checked 40, failed 0"); once the derived state went, none of them could be read.
      const report = await withDerived.verify();
      assert.equal(report.failed, users.length);
      // A write of their texts keeps those envelopes (they decode): verify does not call them repairable.
      assert.deepEqual(report.failures.filter((f) => f.repairable), []);
      assert.equal((await withDerived.remember({ id: users[0] as string, text: records.find((r) => r.id === users[0])?.text as string })).status, "unchanged");
      assert.deepEqual(report.failures.map((f) => f.id).sort(), [...users].sort());
      assert.ok(report.failures.every((f) => f.code === "E_CHECKSUM" && f.message.includes(`its asset ${assetId} is damaged`)));
      assert.ok(report.failures.every((f) => /export it now/.test(f.hint ?? "")), JSON.stringify(report.failures[0]));
    } finally {
      await withDerived.close();
    }
    // The CLI says what to do about them, once (it said nothing, and its help named a write that answers "unchanged").
    const cli = spawnBounded(process.execPath, [CLI, "verify", "--db", db], { encoding: "utf8" });
    assert.equal(cli.status, 1, cli.stderr);
    assert.doesNotMatch(cli.stdout, /can be repaired by writing/);
    assert.equal(cli.stdout.match(/export it now/g)?.length, 1, cli.stdout);
    assert.match(cli.stdout, new RegExp(`\\n${users.length} of them: Restore the store from a backup, or export it now`));

    // Without the derived state, each memory's read trained the damaged snapshot again (~1.4 s each) before failing.
    // In a new process: this one still holds the snapshot it loaded from the good bytes.
    rmSync(`${db}.derived`, { recursive: true, force: true });
    const script = `
      const { Engine } = await import(${JSON.stringify(new URL("../../src/engine.js", import.meta.url).href)});
      const { snapshotTrainings } = await import(${JSON.stringify(new URL("../../src/codec/cm/prepared-snapshot.js", import.meta.url).href)});
      const engine = Engine.open({ db: ${JSON.stringify(db)}, cache: "off", workers: 0 });
      const codes = [];
      for (const id of ${JSON.stringify(users)}) await engine.recall(id).then(() => codes.push("read"), (e) => codes.push(e.code));
      await engine.close();
      console.log(JSON.stringify({ trainings: snapshotTrainings(), codes }));`;
    const child = spawnBounded(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    const { trainings, codes } = JSON.parse(child.stdout) as { trainings: number; codes: string[] };
    assert.equal(codes.length, users.length);
    assert.ok(codes.every((code) => code === "E_FORMAT"), codes.join());
    assert.equal(trainings, 1, "the damaged snapshot was trained once for all its memories");
  });

  it("a damaged copy of a snapshot in one store does not fail the intact copy in another store opened by the same process", async () => {
    using dir = tempDir();
    const damaged = join(dir.path, "damaged.db");
    const intact = join(dir.path, "intact.db");
    const file = join(dir.path, "in.jsonl");
    const records = readFileSync(SAMPLE, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string; text: string });
    writeFileSync(file, records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");
    const engine = Engine.open({ db: damaged, cache: "off", workers: 0, cmBase: false, autoTrainAfter: 1000 });
    const users: string[] = [];
    try {
      await engine.importJsonl(file);
      await engine.trainAsset("cm-snapshot");
      await engine.recode("default");
      for (const r of records) if ((await engine.memory(r.id)).assetId !== null) users.push(r.id);
      assert.ok(users.length >= 10);
    } finally {
      await engine.close();
    }
    // A backup of the store (the same snapshot, intact), then a bit flipped in the original's.
    for (const suffix of ["", "-wal"]) if (existsSync(damaged + suffix)) copyFileSync(damaged + suffix, intact + suffix);
    damageAsset(damaged, "cm-snapshot");
    for (const db of [damaged, intact]) rmSync(`${db}.derived`, { recursive: true, force: true });
    // One process reads the damaged store first, then the intact one: the damaged copy's failure was kept by the
    // asset's id and thrown at every read of the intact store too.
    const script = `
      const { Engine } = await import(${JSON.stringify(new URL("../../src/engine.js", import.meta.url).href)});
      const read = async (db) => {
        const engine = Engine.open({ db, cache: "off", workers: 0 });
        const out = [];
        for (const id of ${JSON.stringify(users)}) await engine.recall(id).then((text) => out.push(text), (e) => out.push(e.code));
        await engine.close();
        return out;
      };
      console.log(JSON.stringify({ damaged: await read(${JSON.stringify(damaged)}), intact: await read(${JSON.stringify(intact)}) }));`;
    const child = spawnBounded(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    const out = JSON.parse(child.stdout) as { damaged: string[]; intact: string[] };
    assert.ok(out.damaged.every((code) => code === "E_FORMAT"), out.damaged.join());
    assert.deepEqual(out.intact, users.map((id) => records.find((r) => r.id === id)?.text));
  });
});
