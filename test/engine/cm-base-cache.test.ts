import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { currentBaseAsset } from "../../src/codec/cm/base.js";
import { readDerivedSnapshot } from "../../src/codec/cm/derived-state.js";
import { DerivedFolder } from "../../src/codec/derived-folder.js";
import { asWrittenToday, closedWithin, readerAsNobody, ROOT, spawnBounded, tempDir } from "../helpers.js";

/**
 * The trained state of the base model shipped with memzip is kept once per user (MEMZIP_CACHE_DIR
 * here), never beside a store. Each write runs in a new process: within one, the model is loaded once.
 */
const fixture = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "cm-base-v1", "envelopes.json"), "utf8")) as { cases: { text: string; envelope: string }[] };
const note = fixture.cases[0] as { text: string; envelope: string };
const ENGINE = JSON.stringify(join(ROOT, "dist", "src", "engine.js"));
const stateName = () => `cm-${currentBaseAsset().id}.state`;

/** Opens a new store in a new process, writes the fixture's note, reads it back; the row's envelope (hex) and codec. */
function writeScript(db: string): string {
  return `const { Engine } = await import(${ENGINE});
    const e = Engine.open({ db: ${JSON.stringify(db)}, cmBase: true, cache: "off", workers: 0 });
    const w = await e.remember({ id: "n", text: ${JSON.stringify(note.text)} });
    const row = await e.memory("n"); const back = await e.recall("n"); await e.close();
    process.stdout.write(JSON.stringify({ codec: w.codec, envelope: Buffer.from(row.envelope).toString("hex"), exact: back === ${JSON.stringify(note.text)} }));`;
}

function firstWrite(db: string, cache: string, as: { uid?: number; gid?: number } = {}): { codec: string; envelope: string; exact: boolean } {
  const child = spawnBounded(process.execPath, ["--input-type=module", "-e", writeScript(db)], { encoding: "utf8", env: { ...process.env, MEMZIP_CACHE_DIR: cache }, ...as });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { codec: string; envelope: string; exact: boolean };
}

/** The state in `cache` read and verified the way a process would (undefined when missing or damaged). */
function validState(cache: string): boolean {
  const derived = readDerivedSnapshot(new DerivedFolder(() => join(cache, "derived")), currentBaseAsset());
  return derived?.loadModel() !== undefined;
}

// Recorded as a version 1 envelope when base v1 shipped; written today under a version 2 header, the payload byte for byte.
const coded = { codec: "cm", envelope: asWrittenToday(note.envelope, note.text), exact: true };

describe("the base model's trained state, kept once per user", () => {
  it("is written to the user's cache by the first write, read (not rebuilt) by the next store, and never kept beside a store", () => {
    using dir = tempDir();
    const cache = join(dir.path, "cache");
    const state = join(cache, "derived", stateName());
    assert.deepEqual(firstWrite(join(dir.path, "a.db"), cache), coded);
    assert.ok(validState(cache), "the first write left a whole, verified state in the cache");
    assert.equal(existsSync(join(dir.path, "a.db.derived")), false, "nothing beside the store");
    const first = statSync(state, { bigint: true });

    assert.deepEqual(firstWrite(join(dir.path, "b.db"), cache), coded);
    const second = statSync(state, { bigint: true });
    assert.equal(second.ino, first.ino, "the second store read the state: it did not train and write it again");
    assert.equal(second.mtimeNs, first.mtimeNs);
    assert.equal(existsSync(join(dir.path, "b.db.derived")), false);
    assert.deepEqual(readdirSync(join(cache, "derived")), [stateName()], "one file per base, no temporary left");
  });

  it("a damaged or foreign state is not trusted: the write codes the same bytes and the state is rebuilt", () => {
    using dir = tempDir();
    const cache = join(dir.path, "cache");
    const state = join(cache, "derived", stateName());
    firstWrite(join(dir.path, "a.db"), cache);
    // One bit flipped in the model's memory (the file's tail): its header and texts still check out.
    const bytes = readFileSync(state);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0x10;
    writeFileSync(state, bytes);
    assert.equal(validState(cache), false);
    assert.deepEqual(firstWrite(join(dir.path, "b.db"), cache), coded);
    assert.ok(validState(cache), "rebuilt");
    // Not a state at all.
    writeFileSync(state, "MZDS and then nonsense");
    assert.deepEqual(firstWrite(join(dir.path, "c.db"), cache), coded);
    assert.ok(validState(cache), "rebuilt");
  });

  it("a cache that cannot be written costs only time: a file in its place, or a folder the user may not write", () => {
    using dir = tempDir();
    const inTheWay = join(dir.path, "not-a-folder");
    writeFileSync(inTheWay, "x");
    assert.deepEqual(firstWrite(join(dir.path, "a.db"), inTheWay), coded);
    assert.equal(readFileSync(inTheWay, "utf8"), "x");
    assert.equal(existsSync(join(dir.path, "a.db.derived")), false);

    const nobody = readerAsNobody();
    if (nobody === undefined || nobody.uid === undefined) return; // Not root, or nobody cannot load this build: the file case stands.
    chmodSync(dir.path, 0o755); // mkdtemp's 0700 would keep nobody out of everything below it.
    const stores = join(dir.path, "stores");
    mkdirSync(stores);
    chmodSync(stores, 0o777);
    const readOnly = join(dir.path, "ro-cache");
    mkdirSync(readOnly, { mode: 0o755 });
    assert.deepEqual(firstWrite(join(stores, "b.db"), readOnly, nobody), coded);
    assert.deepEqual(readdirSync(readOnly), [], "nothing written where the user may not write");
  });

  it("a folder or a FIFO where the state file goes is no state: the write and the read stay exact, nothing hangs (review22 B1)", () => {
    using dir = tempDir();
    const cache = join(dir.path, "cache");
    const state = join(cache, "derived", stateName());
    mkdirSync(state, { recursive: true });
    assert.deepEqual(firstWrite(join(dir.path, "a.db"), cache), coded, "a folder at the state's path");
    assert.ok(statSync(state).isDirectory(), "left as it was");
    rmSync(state, { recursive: true });
    const fifo = spawnBounded("mkfifo", [state], { encoding: "utf8" });
    assert.equal(fifo.status, 0, fifo.stderr);
    assert.deepEqual(firstWrite(join(dir.path, "b.db"), cache), coded, "a FIFO at the state's path (opening it must not block)");
  });

  it("two processes that build it at once both write their memory, and the cache ends with one whole state", async () => {
    using dir = tempDir();
    const cache = join(dir.path, "cache");
    const children = ["a", "b"].map((name) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", writeScript(join(dir.path, `${name}.db`))], { env: { ...process.env, MEMZIP_CACHE_DIR: cache } });
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
      return closedWithin(child, `writer ${name}`).then(({ code }) => ({ code, out, err }));
    });
    for (const { code, out, err } of await Promise.all(children)) {
      assert.equal(code, 0, err);
      assert.deepEqual(JSON.parse(out), coded);
    }
    assert.deepEqual(readdirSync(join(cache, "derived")), [stateName()], "one file, no temporary left");
    assert.ok(validState(cache));
  });
});
