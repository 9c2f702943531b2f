import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { isMemzipError } from "../../src/errors.js";
import { openStore } from "../../src/store/open.js";
import { MIGRATIONS } from "../../src/store/sqlite-migrations.js";
import { CLI, ROOT, closedWithin, collect, tempDir, spawnBounded } from "../helpers.js";

const FIXTURE = join(ROOT, "test", "fixtures", "store-v1.db");
interface Expected {
  memories: { id: string; namespace: string; kind: string; tags: string[]; meta: Record<string, unknown>; createdAt: number; codec: string; text: string }[];
  assets: { id: string; kind: string; namespace: string | null; size: number }[];
}
const expected = () => JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "store-v1.expected.json"), "utf8")) as Expected;

function memzip(args: string[]) {
  const result = spawnBounded(process.execPath, [CLI, ...args], { env: { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" } });
  return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8") };
}

describe("store schema v2", () => {
  it("upgrades a v1 file made by the previous release in place, every memory exact and every asset kept", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "v1.db");
    copyFileSync(FIXTURE, path);
    const want = expected();
    const engine = Engine.open({ db: path, workers: 0 });
    // The store as another reader sees it, once the engine has upgraded it.
    const view = openStore(path);
    try {
      for (const m of want.memories) {
        const stored = await view.memories.get(m.namespace, m.id);
        assert.ok(stored, `${m.namespace}/${m.id} is there`);
        assert.deepEqual([stored.kind, stored.tags, stored.meta, stored.createdAt, stored.codec], [m.kind, m.tags, m.meta, m.createdAt, m.codec]);
        assert.equal(await engine.recall(m.id, { namespace: m.namespace }), m.text);
      }
      assert.equal(await view.memories.count(), want.memories.length);
      assert.deepEqual(
        (await view.assets.list()).map((a) => ({ id: a.id, kind: a.kind, namespace: a.namespace, size: a.bytes.length })),
        want.assets,
      );
      assert.equal((await engine.verify()).failed, 0);
      // Shared content moved over: the text both namespaces hold is still stored once.
      assert.ok((await view.memories.get("beta", "shared-b"))?.contentOf);
    } finally {
      await view.close();
      await engine.close();
    }
    const db = new Database(path, { readonly: true });
    // Every step ran: the upgrade to v2 (step 7) and those after it (API keys: 8).
    assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.length);
    assert.ok(MIGRATIONS.length >= 8);
    assert.equal(db.prepare("SELECT count(*) FROM api_keys").pluck().get(), 0);
    db.close();
  });

  it("leaves the v1 file untouched when the upgrade does not verify", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "v1.db");
    copyFileSync(FIXTURE, path);
    // A v1 row the v2 layout cannot represent (an unknown kind): the upgrade must refuse and roll back.
    const db = new Database(path);
    db.prepare("UPDATE memories SET kind = 'poem' WHERE id = 'mem-002'").run();
    db.close();
    const rows = (file: string) => {
      const d = new Database(file, { readonly: true });
      const all = d.prepare("SELECT * FROM memories ORDER BY seq").all();
      d.close();
      return all;
    };
    const before = rows(path);
    assert.throws(() => openStore(path), (e: unknown) => isMemzipError(e, "E_STORE") && /did not verify/.test((e as Error).message));
    const after = new Database(path, { readonly: true });
    assert.equal(after.pragma("user_version", { simple: true }), 6);
    assert.equal(after.prepare("SELECT count(*) FROM memories").pluck().get(), expected().memories.length);
    assert.ok(after.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'memories_v2'").get() === undefined, "no half-made v2 tables");
    after.close();
    assert.deepEqual(rows(path), before, "every v1 row as it was");
  });

  it("keeps namespaces apart: the same id in two namespaces, import, get, rm, export and recode touch only their own", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "ns.db");
    const engine = Engine.open({ db: path, workers: 0 });
    try {
      const shared = "The same text in both namespaces, stored once in each.";
      await engine.rememberMany([{ id: "x", text: "alpha's x" }, { id: "s", text: shared }], { namespace: "a" });
      const [, bShared] = await engine.rememberMany([{ id: "x", text: "beta's x" }, { id: "s", text: shared }], { namespace: "b" });
      // Content addressing stays within a namespace: b's write of a's text says nothing about a (no dedupe, its own bytes).
      assert.equal(bShared?.deduplicated, undefined);
      assert.ok((bShared?.storedBytes ?? 0) > 0, JSON.stringify(bShared));
      assert.equal(await engine.recall("x", { namespace: "a" }), "alpha's x");
      assert.equal(await engine.recall("x", { namespace: "b" }), "beta's x");
      await assert.rejects(engine.recall("x"), (e: unknown) => isMemzipError(e, "E_USAGE") && /a, b/.test((e as Error).message));
      // Deleting and rewriting in a never changes what b reads (b holds its own copy of the shared text).
      await engine.forget("s", "a");
      assert.equal(await engine.recall("s", { namespace: "b" }), shared);
      await engine.rememberMany([{ id: "x", text: "alpha's x, rewritten" }], { namespace: "a" });
      assert.equal(await engine.recall("x", { namespace: "b" }), "beta's x");
      const view = openStore(path);
      const before = await view.memories.get("b", "x");
      await engine.recode("a", { codec: "zstd" });
      const after = await view.memories.get("b", "x");
      await view.close();
      assert.deepEqual([after?.codec, after?.version], [before?.codec, before?.version], "recoding a leaves b's memory as it was");
      assert.equal(await engine.recall("x", { namespace: "b" }), "beta's x");
      const exported: string[] = [];
      for await (const line of engine.exportJsonl("b")) exported.push(line);
      assert.deepEqual(exported.map((l) => (JSON.parse(l) as { namespace: string }).namespace), ["b", "b"]);
      // Each namespace holds (and is charged) its own copy: the namespaces' envelopes add up to the whole store's.
      const [again] = await engine.rememberMany([{ id: "t", text: shared }], { namespace: "b" });
      assert.deepEqual([again?.deduplicated, again?.storedBytes], [true, 0], "a second copy within b still dedupes");
      const a = await engine.stats("a");
      const b = await engine.stats("b");
      const whole = await engine.stats();
      assert.equal(a.envelopeBytes + b.envelopeBytes, whole.envelopeBytes);
      assert.equal(a.storedBytes, a.envelopeBytes + a.assetBytes);
    } finally {
      await engine.close();
    }
    // Importing b's records with a's ids does not move a's memories.
    const file = join(dir.path, "b.jsonl");
    writeFileSync(file, `${JSON.stringify({ id: "x", text: "imported into c" })}\n`);
    assert.equal(memzip(["import", file, "--db", path, "-n", "c", "--json"]).status, 0);
    assert.equal(memzip(["get", "x", "-n", "a", "--db", path]).stdout, "alpha's x, rewritten");
    assert.equal(memzip(["get", "x", "-n", "c", "--db", path]).stdout, "imported into c");
    const ambiguous = memzip(["get", "x", "--db", path]);
    assert.equal(ambiguous.status, 2);
    assert.match(ambiguous.stderr, /several namespaces: a, b, c/);
    assert.equal(memzip(["rm", "x", "-n", "c", "--db", path]).status, 0);
    assert.equal(memzip(["get", "x", "-n", "b", "--db", path]).stdout, "beta's x");
  });

  it("reports honest sizes: storedBytes is envelopes plus assets in use, fileBytes is the files on disk", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "sizes.db");
    const engine = Engine.open({ db: path, workers: 0 });
    try {
      const records = Array.from({ length: 60 }, (_, i) => ({ id: `r${i}`, text: `Record ${i}: the meeting moved to room ${i % 7}, bring the ${i % 3 ? "slides" : "notes"}.` }));
      await engine.rememberMany(records);
      await engine.trainDictionary("default", 1024);
      await engine.recode();
      const stats = await engine.stats();
      // Measured before another connection opens the file (its open and close may touch the log).
      const onDisk = statSync(path).size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
      const view = openStore(path);
      const used = (await view.assets.usage()).filter((a) => a.memories > 0).reduce((s, a) => s + a.size, 0);
      const envelopes = (await collect(view.memories.scan())).reduce((s, m) => s + (m.contentOf ? 0 : m.envelope.length), 0);
      await view.close();
      assert.equal(stats.envelopeBytes, envelopes);
      assert.equal(stats.assetBytes, used);
      assert.equal(stats.storedBytes, envelopes + used);
      assert.equal(stats.bitsPerByte, (stats.storedBytes * 8) / stats.originalBytes);
      assert.equal(stats.fileBytes, onDisk);
      assert.equal(stats.diskBitsPerByte, (onDisk * 8) / stats.originalBytes);
      for (const field of ["memories", "originalBytes", "envelopeBytes", "assetBytes", "storedBytes", "bitsPerByte", "unusedAssetBytes", "indexBytes", "fileBytes", "diskBitsPerByte"]) {
        assert.equal(typeof (stats as unknown as Record<string, unknown>)[field], "number", field);
      }
    } finally {
      await engine.close();
    }
    const json = JSON.parse(memzip(["stats", "--db", path, "--json"]).stdout) as { fileBytes: number; storedBytes: number };
    assert.ok(json.fileBytes > 0 && json.storedBytes > 0);
    const compacted = memzip(["compact", "--db", path, "--json"]);
    assert.equal(compacted.status, 0, compacted.stderr);
    assert.ok(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0);
  });

  it("read-only commands on a missing store create nothing and say E_NOT_FOUND with the path", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "no", "such", "store.db");
    for (const args of [["get", "x"], ["ls"], ["stats"], ["export"], ["verify"]]) {
      const result = memzip([...args, "--db", path]);
      assert.equal(result.status, 4, `${args[0]}: ${result.stderr}`);
      assert.match(result.stderr, /no store at .*store\.db/);
    }
    assert.deepEqual(readdirSync(dir.path), [], "no folder, no file");
  });

  it("reads a store in a read-only folder, and a write there is a typed error", { skip: process.getuid?.() === 0 ? "root may write anywhere" : false }, async () => {
    await using dir = tempDir();
    const folder = join(dir.path, "ro");
    const path = join(folder, "store.db");
    const engine = Engine.open({ db: path, workers: 0 });
    await engine.rememberMany([{ id: "a", text: "readable in a read-only folder" }]);
    await engine.close();
    chmodSync(path, 0o444);
    chmodSync(folder, 0o555);
    try {
      const got = memzip(["get", "a", "--db", path]);
      assert.equal(got.status, 0, got.stderr);
      assert.equal(got.stdout, "readable in a read-only folder");
      assert.deepEqual(readdirSync(folder), ["store.db"], "no -wal or -shm files");
      const add = spawnBounded(process.execPath, [CLI, "add", "new text", "--db", path], { env: { ...process.env, MEMZIP_CONFIG: "/nonexistent" } });
      assert.equal(add.status, 8);
      assert.match(add.stderr.toString(), /E_STORE/);
    } finally {
      chmodSync(folder, 0o755);
    }
  });

  it("imports a batch where one line rewrites a memory whose old text a later line reuses", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "handover.db");
    const engine = Engine.open({ db: path, workers: 0 });
    try {
      await engine.rememberMany([{ id: "X", text: "the old text of X, long enough to code" }]);
      await engine.rememberMany([
        { id: "X", text: "X now says something else entirely" },
        { id: "Y", text: "the old text of X, long enough to code" },
      ]);
      assert.equal(await engine.recall("X"), "X now says something else entirely");
      assert.equal(await engine.recall("Y"), "the old text of X, long enough to code");
      assert.equal((await engine.verify()).failed, 0);
    } finally {
      await engine.close();
    }
  });

  it("reads back a memory written under a higher text limit", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "big.db");
    const text = "a".repeat(3000);
    const writer = Engine.open({ db: path, workers: 0, maxTextBytes: 4096 });
    await writer.rememberMany([{ id: "big", text }]);
    await writer.close();
    const reader = Engine.open({ db: path, workers: 0, maxTextBytes: 1024 });
    try {
      assert.equal(await reader.recall("big"), text);
      assert.equal((await reader.verify()).failed, 0);
      for await (const m of reader.exportMemories()) assert.equal(m.text, text);
    } finally {
      await reader.close();
    }
  });

  it("recode never reverts a concurrent update nor brings back a deleted memory (two engines on one file)", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "cas.db");
    const first = Engine.open({ db: path, workers: 0 });
    const second = Engine.open({ db: path, workers: 0 });
    try {
      const records = Array.from({ length: 40 }, (_, i) => ({ id: `m${i}`, text: `memory ${i}: ${"some words that repeat ".repeat(3)}${i}` }));
      await first.rememberMany(records, { codec: "raw" });
      // Recode reads a page of rows, then codes them; another writer changes two of them right after
      // the first is coded (the page is read by then). The native store does each call's work when
      // it is made, so the writes are done before the progress callback returns.
      const other = openStore(path);
      const m1 = await other.memories.get("default", "m1");
      assert.ok(m1);
      let interference: Promise<[Set<string>, boolean]> | undefined;
      const report = await first.recode("default", { codec: "zstd" }, () => {
        interference ??= Promise.all([other.memories.put([{ ...m1, meta: { touched: true } }]), other.memories.delete("default", "m2")]);
      });
      assert.ok(interference);
      assert.equal((await interference)[1], true);
      assert.deepEqual((await other.memories.get("default", "m1"))?.meta, { touched: true }, "the concurrent update is kept");
      assert.equal(await other.memories.get("default", "m2"), undefined, "the deleted memory stays deleted");
      assert.equal(await second.recall("m1"), records[1]?.text);
      assert.equal(report.skipped, 2);
      assert.equal((await other.memories.get("default", "m3"))?.codec, "zstd", "the others were recoded");
      await other.close();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("several processes opening a new store at once all succeed", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "fresh.db");
    const script = `import { openStore } from ${JSON.stringify(join(ROOT, "dist", "src", "store", "open.js"))};
const store = openStore(process.argv[1]);
await store.memories.put([{ id: "p" + process.pid, namespace: "n", kind: "note", tags: [], createdAt: 1, meta: {}, codec: "raw", envelope: Uint8Array.of(1), originalLength: 1, checksum: 1, assetId: null }]);
await store.close();`;
    const runs = Array.from({ length: 6 }, () =>
      (async () => {
        const child = spawn(process.execPath, ["--input-type=module", "-e", script, path]);
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const { code } = await closedWithin(child, "a child writing to the fresh store");
        return { code, stderr };
      })(),
    );
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const store = openStore(path);
    assert.equal(await store.memories.count("n"), 6);
    await store.close();
  });
});
