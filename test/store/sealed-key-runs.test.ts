import { strict as assert } from "node:assert";
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import type { Store, StoredMemory } from "../../src/core/store.js";
import { ErrorCode, MemzipError } from "../../src/errors.js";
import { contentKey, decodeRun, encodeRuns, idKey, mergePairs, seqsOf, sortPairs } from "../../src/store/key-runs.js";
import { openStore } from "../../src/store/open.js";
import { idHash } from "../../src/store/sqlite/database.js";
import { MIGRATIONS, SEALED_LAYOUT_STEP } from "../../src/store/sqlite-migrations.js";
import { CLI, ROOT, collect, readerOrSkip, spawnBounded, tempDir } from "../helpers.js";
import { hashOf, memory, textMemory } from "./store-suite.js";

function raw<T>(path: string, read: (db: Database.Database) => T, readonly = true): T {
  const db = new Database(path, { readonly });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

const tables = (path: string): string[] => raw(path, (db) => db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'sealed%' ORDER BY name").pluck().all() as string[]);
const hot = (path: string): number => raw(path, (db) => db.prepare("SELECT count(*) FROM memories").pluck().get() as number);

/** Every (key, seq) pair of a key run table, in order. */
function runPairs(path: string, table: string): [number, number][] {
  return raw(path, (db) => {
    const pairs: [number, number][] = [];
    for (const [firstKey, data] of db.prepare(`SELECT first_key, data FROM ${table} ORDER BY first_key`).raw().all() as [number, Buffer][]) {
      const run = decodeRun(data, firstKey);
      for (let i = 0; i < run.keys.length; i++) pairs.push([run.keys[i] as number, run.seqs[i] as number]);
    }
    return pairs;
  });
}

/** Replaces a key run table's pairs (a test stands in for a stale run: a key naming a seq that holds another row). */
function writeRun(path: string, table: string, pairs: [number, number][]): void {
  raw(
    path,
    (db) => {
      db.exec(`DELETE FROM ${table}`);
      const sorted = sortPairs({ keys: pairs.map((p) => p[0]), seqs: pairs.map((p) => p[1]) });
      for (const [firstKey, data] of encodeRuns(sorted)) db.prepare(`INSERT INTO ${table} (first_key, data) VALUES (?, ?)`).run(firstKey, Buffer.from(data));
    },
    false,
  );
}

const seqOf = (path: string, namespace: string, id: string): number | undefined =>
  raw(path, (db) => db.prepare("SELECT seq FROM memories m JOIN namespaces n ON n.n = m.ns WHERE n.name = ? AND m.id = ?").pluck().get(namespace, id) as number | undefined);
const nsNumber = (path: string, namespace: string): number => raw(path, (db) => db.prepare("SELECT n FROM namespaces WHERE name = ?").pluck().get(namespace) as number);

describe("key runs (store/key-runs.ts)", () => {
  it("sorted pairs round-trip through chunks; a key never straddles two chunks; a look-up gives every seq of a key", () => {
    const pairs = { keys: [] as number[], seqs: [] as number[] };
    // Keys 0..2^53 apart, and one key held by 7 seqs across where a 4-pair chunk would end.
    for (let i = 0; i < 30; i++) {
      pairs.keys.push(i < 5 ? i * 1000 : i < 12 ? 9000 : idKey(i * 77, -i * 123456789));
      pairs.seqs.push(1000 - i);
    }
    pairs.keys.push(2 ** 53 - 1);
    pairs.seqs.push(2 ** 40);
    const sorted = sortPairs(pairs);
    const chunks = encodeRuns(sorted, 4);
    const back = { keys: [] as number[], seqs: [] as number[] };
    for (const [firstKey, data] of chunks) {
      const run = decodeRun(data, firstKey);
      assert.equal(run.keys[0], firstKey);
      back.keys.push(...run.keys);
      back.seqs.push(...run.seqs);
      if (seqsOf(run, 9000).length > 0) assert.deepEqual(seqsOf(run, 9000), [989, 990, 991, 992, 993, 994, 995], "the 7 seqs of one key in one chunk");
      assert.deepEqual(seqsOf(run, 9001), []);
    }
    assert.deepEqual(back, sorted);
    assert.deepEqual(mergePairs(sorted, sortPairs({ keys: [9000, 5], seqs: [1, 2] })).keys.slice(0, 3), [0, 5, 1000]);
    assert.deepEqual(mergePairs(sorted, sorted), sorted, "a pair in both is kept once");
    assert.equal(idKey(3, -1), 3 * 2 ** 32 + 2 ** 32 - 1);
    assert.equal(contentKey(-5), 2 ** 32 - 5);
  });

  it("5,000 pairs of random 32-bit hashes in a few namespaces round-trip exactly", () => {
    let seed = 0x2545f491;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const pairs = { keys: [] as number[], seqs: [] as number[] };
    for (let i = 0; i < 5000; i++) {
      pairs.keys.push(idKey(1 + (next() % 3), next() | 0));
      pairs.seqs.push(1 + (next() % 100_000));
    }
    const sorted = sortPairs(pairs);
    const chunks = encodeRuns(sorted);
    const back = { keys: [] as number[], seqs: [] as number[] };
    for (const [firstKey, data] of chunks) {
      const run = decodeRun(data, firstKey);
      back.keys.push(...run.keys);
      back.seqs.push(...run.seqs);
    }
    assert.deepEqual(back, sorted);
  });

  it("a damaged chunk is E_STORE, never other pairs", () => {
    const [[firstKey, data]] = encodeRuns({ keys: [10, 20, 30], seqs: [1, 2, 3] }) as [[number, Uint8Array]];
    for (const at of [0, 3, 6, data.length - 1]) {
      const bad = data.slice();
      bad[at] = (bad[at] as number) ^ 0x10;
      assert.throws(
        () => decodeRun(bad, firstKey),
        (error: unknown) => error instanceof MemzipError && error.code === ErrorCode.STORE,
      );
    }
    assert.throws(() => decodeRun(data.subarray(0, 7), firstKey), (error: unknown) => error instanceof MemzipError && error.code === ErrorCode.STORE);
    // The row's key is outside the chunk's bytes: read under another first key, it is damage too, not shifted keys (review21 R2).
    for (const other of [firstKey - 1, firstKey + 1, 0]) {
      assert.throws(() => decodeRun(data, other), (error: unknown) => error instanceof MemzipError && error.code === ErrorCode.STORE);
    }
    assert.deepEqual([...decodeRun(data, firstKey).keys], [10, 20, 30]);
  });
});

describe("sealed rows' keys as sorted runs", () => {
  it("a damaged run chunk is made again from the blocks: by compact with nothing to seal, and by the next seal (review21 R1)", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const damage = (): void =>
      raw(
        path,
        (db) => {
          const [firstKey, data] = db.prepare("SELECT first_key, data FROM sealed_id_runs ORDER BY first_key LIMIT 1").raw().get() as [number, Buffer];
          data[20] = (data[20] as number) ^ 0x55;
          db.prepare("UPDATE sealed_id_runs SET data = ? WHERE first_key = ?").run(data, firstKey);
        },
        false,
      );
    {
      const store = openStore(path, { seal: true, blockRows: 64 });
      try {
        await store.memories.put(Array.from({ length: 300 }, (_, i) => textMemory(`n${i}`, "a", `note ${i} about the deploy`)));
        assert.equal(await store.seal?.(), 300);
      } finally {
        await store.close();
      }
    }
    const exact = runPairs(path, "sealed_id_runs");
    damage();
    assert.throws(() => runPairs(path, "sealed_id_runs"), (error: unknown) => error instanceof MemzipError && error.code === ErrorCode.STORE);
    let store = openStore(path, { seal: true, blockRows: 64 });
    try {
      await assert.rejects(store.memories.get("a", "n5"), (error: unknown) => error instanceof MemzipError && error.code === ErrorCode.STORE && /memzip compact/.test(error.hint ?? ""));
      // verify reads every row by seq: it names the damaged runs (it said the store was clean while half the ids failed).
      const damaged = (await store.damagedIndexes?.()) ?? [];
      assert.deepEqual(damaged.map((d) => [d.where, d.error.code]), [["sealed key runs (sealed_id_runs)", "E_STORE"]]);
      assert.match(damaged[0]?.error.hint ?? "", /memzip compact/);
      const cli = spawnBounded(process.execPath, [CLI, "verify", "--db", path, "--json"], { encoding: "utf8" });
      assert.equal(cli.status, 1, cli.stderr);
      // (These rows hold plain bytes, not envelopes: every memory fails too; the runs are listed apart.)
      const verified = JSON.parse(cli.stdout) as { checked: number; indexes?: { where: string; code: string }[] };
      assert.deepEqual([verified.checked, verified.indexes?.map((i) => [i.where, i.code])], [300, [["sealed key runs (sealed_id_runs)", "E_STORE"]]]);
      await store.compact();
      assert.deepEqual(await store.damagedIndexes?.(), []);
      assert.deepEqual(runPairs(path, "sealed_id_runs"), exact, "compact made the runs again, exactly");
      for (const i of [0, 5, 150, 299]) assert.equal(Buffer.from((await store.memories.get("a", `n${i}`))?.envelope ?? []).toString(), `note ${i} about the deploy`);
    } finally {
      await store.close();
    }
    // The same damage with a hot row waiting: the seal itself makes the runs again and seals the row.
    store = openStore(path, { seal: false });
    try {
      await store.memories.put([textMemory("zz-hot", "b", "a hot row")]);
    } finally {
      await store.close();
    }
    damage();
    store = openStore(path, { seal: true, blockRows: 64 });
    try {
      assert.equal(await store.seal?.(), 1);
      assert.equal(hot(path), 0);
      assert.equal(runPairs(path, "sealed_id_runs").length, 301);
      assert.equal(Buffer.from((await store.memories.get("b", "zz-hot"))?.envelope ?? []).toString(), "a hot row");
      assert.equal(Buffer.from((await store.memories.get("a", "n5"))?.envelope ?? []).toString(), "note 5 about the deploy");
    } finally {
      await store.close();
    }
  });

  it("a stale key (its row unsealed, deleted, its seq taken again by another id) never gives a wrong memory", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, blockRows: 2 });
    try {
      await store.memories.put([textMemory("a", "x", "text a"), textMemory("b", "x", "text b")]);
      assert.equal(await store.seal?.(), 2);
      assert.deepEqual(tables(path), ["sealed_content_runs", "sealed_expiry", "sealed_id_runs", "sealed_refs"]);
      const bSeq = runPairs(path, "sealed_id_runs").find(([key]) => key === idKey(nsNumber(path, "x"), idHash("b")))?.[1];
      assert.equal(bSeq, 2);
      // The delete unseals the block (the runs keep b -> 2), and c takes seq 2 again (the last seq was freed).
      assert.equal(await store.memories.delete("x", "b"), true);
      await store.memories.put([textMemory("c", "x", "text c")]);
      assert.equal(seqOf(path, "x", "c"), 2, "seq 2 taken again");
      assert.deepEqual(runPairs(path, "sealed_id_runs").map(([, seq]) => seq), [1, 2], "the runs are stale until the next seal");
      const check = async (label: string): Promise<void> => {
        assert.equal(await store.memories.get("x", "b"), undefined, label);
        assert.deepEqual(await store.memories.getMany([{ namespace: "x", id: "b" }]), [undefined], label);
        assert.deepEqual(await store.memories.namespacesOf("b"), [], label);
        assert.deepEqual([...(await store.memories.fingerprints("x", ["b", "c"])).keys()], ["c"], label);
        assert.equal(await store.memories.findContent("x", hashOf("text b"), 6 * 7919, 6), undefined, label);
        assert.equal((await store.memories.get("x", "c"))?.id, "c", label);
        assert.equal(Buffer.from((await store.memories.get("x", "c"))?.envelope ?? []).toString(), "text c", label);
      };
      await check("stale, c hot");
      assert.equal(await store.seal?.(), 2);
      await check("after the next seal");
      assert.deepEqual(
        runPairs(path, "sealed_id_runs").map(([, seq]) => seq).sort(),
        [1, 2],
        "the seal rewrote the runs: a and c",
      );
      // A run that names c's sealed row under b's key and under b's text (what a stale run could hold): still no b.
      const ns = nsNumber(path, "x");
      writeRun(path, "sealed_id_runs", [
        [idKey(ns, idHash("a")), 1],
        [idKey(ns, idHash("b")), 2],
        [idKey(ns, idHash("c")), 2],
      ]);
      writeRun(path, "sealed_content_runs", [
        [contentKey(6 * 7919), 1],
        [contentKey(6 * 7919), 2],
      ]);
      const fresh = openStore(path, { seal: true, blockRows: 2 });
      try {
        assert.equal(await fresh.memories.get("x", "b"), undefined);
        assert.equal(await fresh.memories.findContent("x", hashOf("text b"), 6 * 7919, 6), undefined);
        // A put of b makes a new memory: c is untouched, and b's text is no reference to c.
        await fresh.memories.put([textMemory("b", "x", "text b")]);
        assert.equal(Buffer.from((await fresh.memories.get("x", "b"))?.envelope ?? []).toString(), "text b");
        assert.equal((await fresh.memories.get("x", "b"))?.contentOf, null);
        assert.equal(Buffer.from((await fresh.memories.get("x", "c"))?.envelope ?? []).toString(), "text c");
        assert.equal(await fresh.memories.delete("x", "b"), true);
        assert.equal((await fresh.memories.get("x", "c"))?.id, "c", "deleting b leaves c");
        assert.equal(await fresh.memories.count(), 2);
      } finally {
        await fresh.close();
      }
    } finally {
      await store.close();
    }
  });

  it("ids across namespaces and across chunk boundaries: every look-up finds its own namespace's memory", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true });
    try {
      const namespaces = ["n1", "n2", "n3"];
      const ids = Array.from({ length: 1500 }, (_, i) => `id-${i}`);
      for (const namespace of namespaces) await store.memories.put(ids.map((id, i) => memory(id, namespace, { createdAt: i, envelope: new TextEncoder().encode(`${namespace}/${id}`), originalLength: 1, checksum: i })));
      await store.memories.put([memory("id-7", "n4", { envelope: Uint8Array.of(4) })]);
      assert.equal(await store.seal?.(), 4501);
      assert.ok(raw(path, (db) => db.prepare("SELECT count(*) FROM sealed_id_runs").pluck().get() as number) >= 4, "several chunks");
      await store.memories.put([memory("id-3", "n2", { envelope: new TextEncoder().encode("n2/id-3 hot") })]);
      assert.ok(hot(path) > 0);
      for (const namespace of namespaces) {
        const got = await store.memories.getMany(ids.map((id) => ({ namespace, id })));
        got.forEach((m, i) => {
          const want = namespace === "n2" && i === 3 ? "n2/id-3 hot" : `${namespace}/${ids[i]}`;
          assert.equal(Buffer.from(m?.envelope ?? []).toString(), want, `${namespace}/${ids[i]}`);
        });
      }
      assert.deepEqual(await store.memories.namespacesOf("id-7"), ["n1", "n2", "n3", "n4"]);
      assert.deepEqual(await store.memories.namespacesOf("id-1499"), ["n1", "n2", "n3"]);
      assert.equal(await store.memories.get("n4", "id-8"), undefined);
      assert.equal(await store.memories.delete("n1", "id-7"), true);
      assert.deepEqual(await store.memories.namespacesOf("id-7"), ["n2", "n3", "n4"]);
      assert.equal(Buffer.from((await store.memories.get("n3", "id-7"))?.envelope ?? []).toString(), "n3/id-7");
      await store.seal?.();
      assert.equal(runPairs(path, "sealed_id_runs").length, 4500, "4500 ids sealed, one deleted");
      assert.deepEqual(await store.memories.namespacesOf("id-7"), ["n2", "n3", "n4"]);
    } finally {
      await store.close();
    }
  });

  it("content de-duplication across sealed and hot rows: a new text a sealed row of its namespace holds becomes a reference; another namespace holds its own copy", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, blockRows: 2 });
    try {
      await store.memories.put([textMemory("h", "a", "the shared text"), textMemory("o", "a", "other text"), textMemory("p", "a", "third")]);
      await store.seal?.();
      assert.equal(hot(path), 0);
      await store.memories.put([textMemory("r1", "a", "the shared text")]);
      assert.equal((await store.memories.get("a", "r1"))?.contentOf, "h");
      assert.equal((await store.memories.findContent("a", hashOf("the shared text"), 15 * 7919, 15))?.id, "h");
      // Another namespace never finds the sealed holder: its copy holds its own envelope.
      await store.memories.put([textMemory("b1", "b", "the shared text")]);
      assert.equal((await store.memories.get("b", "b1"))?.contentOf, null);
      assert.equal(Buffer.from((await store.memories.get("b", "b1"))?.envelope ?? []).toString(), "the shared text");
      assert.equal((await store.memories.findContent("b", hashOf("the shared text"), 15 * 7919, 15))?.id, "b1");
      await store.seal?.();
      assert.equal(hot(path), 0);
      // Holder and reference sealed: a third copy (hot) refers to the sealed holder; deleting the holder hands its text on.
      await store.memories.put([textMemory("r2", "a", "the shared text")]);
      assert.equal((await store.memories.get("a", "r2"))?.contentOf, "h");
      assert.equal(await store.memories.delete("a", "h"), true);
      await store.seal?.();
      const r1 = await store.memories.get("a", "r1");
      const r2 = await store.memories.get("a", "r2");
      assert.equal(Buffer.from(r1?.envelope ?? []).toString(), "the shared text");
      assert.equal(Buffer.from(r2?.envelope ?? []).toString(), "the shared text");
      assert.equal([r1?.contentOf, r2?.contentOf].filter((x) => x === null).length, 1, "one of them holds the text now");
      assert.equal(runPairs(path, "sealed_content_runs").filter(([key]) => key === contentKey(15 * 7919)).length, 2, "one holder key for the text in each namespace (a, b)");
      assert.ok((await store.memories.findContent("a", hashOf("the shared text"), 15 * 7919, 15))?.id);
    } finally {
      await store.close();
    }
  });
});

const FIXTURE = join(ROOT, "test", "fixtures", "store-sealed-tables.db");
const FIXTURE_FULL = join(ROOT, "test", "fixtures", "store-sealed-tables-full.db");
interface Expected {
  memories: (Omit<StoredMemory, "envelope" | "contentHash"> & { envelope: string; contentHash: string | null })[];
}
const expected = (): Expected => JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "store-sealed-tables.expected.json"), "utf8")) as Expected;
const comparable = (m: StoredMemory | undefined) => m && { ...m, envelope: Buffer.from(m.envelope).toString("hex"), contentHash: m.contentHash ? Buffer.from(m.contentHash).toString("hex") : m.contentHash };

async function everyMemory(store: Store, want: Expected["memories"]): Promise<void> {
  for (const m of want) assert.deepEqual(comparable(await store.memories.get(m.namespace, m.id)), m, `${m.namespace}/${m.id}`);
  const order = (list: { namespace: string; id: string }[]) => [...list].sort((a, b) => `${a.namespace}/${a.id}`.localeCompare(`${b.namespace}/${b.id}`));
  assert.deepEqual(order((await collect(store.memories.scan())).map((m) => comparable(m) as Expected["memories"][number])), order(want));
  assert.deepEqual((await store.memories.namespacesOf("m7")).length, want.filter((m) => m.id === "m7").length);
  for (const m of want) if (m.contentOf === null && m.contentHash) assert.ok(await store.memories.findContent(m.namespace, Buffer.from(m.contentHash, "hex"), m.checksum, m.originalLength), `holder ${m.id}`);
}

const OLD_TABLES = ["sealed_content", "sealed_expiry", "sealed_ids", "sealed_refs"];
const RUN_TABLES = ["sealed_content_runs", "sealed_expiry", "sealed_id_runs", "sealed_refs"];

describe("a store sealed by the build with sealed_ids / sealed_content (test/fixtures/store-sealed-tables*.db, made by e7b3801)", () => {
  it("opens, reads and writes every memory through the old tables, and its next seal moves the keys into runs", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    copyFileSync(FIXTURE, path);
    const want = expected().memories;
    assert.deepEqual(tables(path), OLD_TABLES);
    assert.equal(raw(path, (db) => db.pragma("user_version", { simple: true })), SEALED_LAYOUT_STEP + 1, "the version e7b3801 writes");
    assert.ok(hot(path) > 0 && hot(path) < want.length, "some rows hot, some sealed");
    const store = openStore(path, { seal: true });
    try {
      await everyMemory(store, want);
      assert.deepEqual(tables(path), OLD_TABLES, "reads move nothing");
      // A write to a sealed row before the move (its block comes back; the old tables' keys of it go stale).
      const hotIds = new Set(raw(path, (db) => db.prepare("SELECT n.name || '/' || m.id FROM memories m JOIN namespaces n ON n.n = m.ns").pluck().all() as string[]));
      const target = want.find((m) => m.contentOf === null && !hotIds.has(`${m.namespace}/${m.id}`));
      assert.ok(target);
      await store.memories.put([textMemory(target.id, target.namespace, "written by this build")]);
      const rewritten = comparable(await store.memories.get(target.namespace, target.id)) as Expected["memories"][number];
      assert.equal(Buffer.from(rewritten.envelope, "hex").toString(), "written by this build");
      // What the handed-over references read now comes from the store itself; everything else is as the fixture says.
      const now = async () => Promise.all(want.map(async (m) => (m === target ? rewritten : m.contentOf === target.id && m.namespace === target.namespace ? (comparable(await store.memories.get(m.namespace, m.id)) as Expected["memories"][number]) : m)));
      const before = await now();
      await everyMemory(store, before);
      assert.ok(((await store.seal?.()) ?? 0) > 0);
      assert.deepEqual(tables(path), RUN_TABLES, "the seal moved the keys");
      assert.equal(hot(path), 0);
      await everyMemory(store, before);
      assert.equal(runPairs(path, "sealed_id_runs").length, want.length);
      assert.equal(raw(path, (db) => db.pragma("integrity_check", { simple: true })), "ok");
      assert.equal(raw(path, (db) => db.pragma("user_version", { simple: true })), MIGRATIONS.length);
      const reader = openStore(path);
      try {
        await everyMemory(reader, before);
      } finally {
        await reader.close();
      }
    } finally {
      await store.close();
    }
  });

  it("a store of that layout sealed whole moves its keys at the next seal (compact) with no row to seal", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    copyFileSync(FIXTURE_FULL, path);
    const want = expected().memories;
    assert.equal(hot(path), 0);
    const store = openStore(path, { seal: true });
    try {
      await everyMemory(store, want);
      assert.equal(await store.seal?.(), 0, "no row to seal");
      assert.deepEqual(tables(path), RUN_TABLES);
      assert.equal(runPairs(path, "sealed_id_runs").length, want.length);
      assert.equal(runPairs(path, "sealed_content_runs").length, want.filter((m) => m.contentOf === null).length);
      await everyMemory(store, want);
      assert.equal(raw(path, (db) => db.pragma("integrity_check", { simple: true })), "ok");
    } finally {
      await store.close();
    }
  });

  it("is read where it cannot be written (a read-only open reads the old tables as they are)", async (t) => {
    const asNobody = readerOrSkip(t);
    if (asNobody === undefined) return;
    await using dir = tempDir();
    const folder = join(dir.path, "ro");
    mkdirSync(folder);
    const path = join(folder, "store.db");
    copyFileSync(FIXTURE, path);
    chmodSync(path, 0o444);
    chmodSync(folder, 0o555);
    chmodSync(dir.path, 0o755);
    try {
      const script = `import { openStore } from ${JSON.stringify(join(ROOT, "dist", "src", "store", "open.js"))};
const store = openStore(process.argv[1], { readOnly: true });
const want = JSON.parse(process.argv[2]);
const got = [];
for (const [namespace, id] of want) { const m = await store.memories.get(namespace, id); got.push(m ? Buffer.from(m.envelope).toString("hex") : null); }
console.log(JSON.stringify({ readOnly: store.readOnly, got }));
await store.close();`;
      const want = expected().memories;
      const child = spawnBounded(process.execPath, ["--input-type=module", "-e", script, path, JSON.stringify(want.map((m) => [m.namespace, m.id]))], { encoding: "utf8", ...asNobody });
      assert.equal(child.status, 0, child.stderr);
      const read = JSON.parse(child.stdout) as { readOnly: boolean; got: (string | null)[] };
      assert.deepEqual(read, { readOnly: true, got: want.map((m) => m.envelope) });
      assert.deepEqual(tables(path), OLD_TABLES, "nothing written");
    } finally {
      chmodSync(folder, 0o755);
      chmodSync(path, 0o644);
    }
  });
});
