import { strict as assert } from "node:assert";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { PageQuery, Store, StoredAsset, StoredMemory } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import { decodeRun } from "../../src/store/key-runs.js";
import { openStore } from "../../src/store/open.js";
import { MIGRATIONS } from "../../src/store/sqlite-migrations.js";
import { ROOT, collect, tempDir } from "../helpers.js";
import { hashOf, memory, storeSuite, textMemory } from "./store-suite.js";

const folder = mkdtempSync(join(tmpdir(), "memzip-sealed-suite-"));
after(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

// Every behaviour of the contract against sealed rows: every hot row is sealed after each write call, two rows a block.
storeSuite("sqlite sealed after every write, blocks of 2", async () => {
  const store = openStore(join(folder, `store-${files++}.db`), { sealAfterWrites: true, blockRows: 2 });
  assert.equal(store.readOnly, false);
  return store;
});
storeSuite("sqlite sealed after every write, blocks of 256", async () => openStore(join(folder, `store-${files++}.db`), { sealAfterWrites: true }));

/** Everything a store's memories aggregate answers about a fixed set of questions (seqs and cursors left out). */
async function readAll(store: Store, ids: readonly { namespace: string; id: string }[]): Promise<unknown> {
  const m = store.memories;
  const day = 86_400_000;
  const page = async (query: Omit<PageQuery, "limit" | "cursor">, limit = 3): Promise<string[]> => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const got = await m.page({ ...query, limit, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...got.items.map((x) => `${x.namespace}/${x.id}`));
      if (got.next === null) return seen;
      cursor = got.next;
    }
  };
  const fingerprints = async (ns: string) => Object.fromEntries(await m.fingerprints(ns, ids.map((r) => r.id)));
  return {
    get: await Promise.all(ids.map((r) => m.get(r.namespace, r.id))),
    many: await m.getMany(ids),
    missing: await m.get("alpha", "no-such-id"),
    semantic: await Promise.all(ids.map((r) => m.getSemantic(r.namespace, r.id))),
    history: await Promise.all(ids.map((r) => m.history(r.namespace, r.id))),
    historyUsage: [await m.historyUsage(), await m.historyUsage("alpha"), await m.historyUsage("beta")],
    scan: await collect(m.scan({ batchSize: 4 })),
    scanAlpha: (await collect(m.scan({ namespace: "alpha", batchSize: 3 }))).map((x) => x.id),
    scanFiltered: (await collect(m.scan({ batchSize: 2, filter: { tags: ["odd"], activeAt: 5 * day } }))).map((x) => x.id),
    list: [await m.list({}), await m.list({ namespace: "beta", limit: 3, offset: 1 }), await m.list({ kind: "chat" }), await m.list({ limit: 2, offset: 5 })],
    pages: [
      await page({}),
      await page({ namespaces: ["beta"] }),
      await page({ tags: ["odd"] }),
      await page({ anyTags: ["odd", "t3"] }),
      await page({ kind: "chat", namespaces: ["alpha", "beta"] }),
      await page({ meta: { group: 1 } }),
      await page({ createdFrom: 1005, createdBefore: 1015 }),
      await page({ updatedFrom: 150 }),
      await page({ activeAt: 5 * day }),
      await page({ expiredBy: 5 * day }),
      await page({ expiredBy: 5 * day, namespaces: ["beta"] }),
    ],
    counts: [await m.count(), await m.count("alpha"), await m.count("beta"), await m.count("none")],
    expired: [await m.countExpired(5 * day), await m.countExpired(5 * day, "alpha"), await m.countExpired(5 * day, "beta")],
    usage: [await m.usageByCodec(), await m.usageByCodec("alpha"), await m.usageByCodec("beta")],
    footprint: [await m.footprint(), await m.footprint("alpha"), await m.footprint("beta")],
    assets: [await store.assets.usage(), await store.assets.usage("alpha")],
    namespaces: await m.namespaces(),
    namespacesOf: await Promise.all(ids.map((r) => m.namespacesOf(r.id))),
    fingerprints: [await fingerprints("alpha"), await fingerprints("beta")],
    content: await Promise.all(TEXTS.flatMap((text) => ["alpha", "beta", "none"].map((ns) => m.findContent(ns, hashOf(text), text.length * 7919, text.length)))),
  };
}

const TEXTS = ["the first shared text", "a second text, shared across namespaces", "third text held once", "fourth"];

const DAY = 86_400_000;
const ASSET: StoredAsset = { id: "ab".repeat(32), kind: "zstd-dictionary", bytes: new Uint8Array(64).fill(9), namespace: "alpha", createdAt: 1, meta: {} };

/** 24 memories in two namespaces: shared texts (references within a namespace; a text in both namespaces is held by each), tags, meta, kinds, expiries, an asset, history, semantic features. */
async function fill(store: Store): Promise<{ namespace: string; id: string }[]> {
  await store.assets.put(ASSET);
  const batch: StoredMemory[] = [];
  for (let i = 0; i < 24; i++) {
    const namespace = i % 3 === 0 ? "beta" : "alpha";
    const text = i % 5 === 0 ? (TEXTS[(i / 5) % 2] as string) : i === 7 ? (TEXTS[2] as string) : `memory number ${i} ${"x".repeat(i)}`;
    batch.push(
      textMemory(`m${i}`, namespace, text, {
        kind: i % 4 === 0 ? "chat" : "note",
        tags: i % 2 ? ["odd", `t${i % 4}`] : [],
        meta: i % 3 === 1 ? { group: 1 } : i % 3 === 2 ? { group: "1", deep: { z: [i] } } : {},
        createdAt: 1000 + i,
        ...(i % 6 === 1 ? { expiresAt: (i % 4) * DAY } : {}),
        ...(i % 7 === 2 ? { language: "en" } : {}),
        ...(i % 8 === 3 ? { codec: "zstd-dict", assetId: ASSET.id } : {}),
        ...(i === 4 ? { semantic: { summary: "sum", entities: [{ text: "Alice", type: "person", start: 0, end: 5 }], source: "test" } } : {}),
      }),
    );
  }
  await store.memories.put(batch);
  // A rewrite with history (m2, replaced at 200) and a second namespace holding a shared text.
  await store.memories.put([
    textMemory("m2", "alpha", "m2 rewritten", {
      createdAt: 1002,
      replaces: { kind: "note", tags: [], meta: {}, replacedAt: 200, codec: "raw", payload: new TextEncoder().encode("old m2"), originalLength: 18, checksum: "memory number 2 xx".length * 7919 },
    }),
    textMemory("m0", "alpha", TEXTS[0] as string, { createdAt: 1100 }),
  ]);
  return [...batch.map((b) => ({ namespace: b.namespace, id: b.id })), { namespace: "alpha", id: "m0" }];
}

/** Every (key, seq) pair of a key run table, in order. */
function runPairs(path: string, table: string): [number, number][] {
  const db = new Database(path, { readonly: true });
  try {
    const pairs: [number, number][] = [];
    for (const [firstKey, data] of db.prepare(`SELECT first_key, data FROM ${table} ORDER BY first_key`).raw().all() as [number, Buffer][]) {
      const run = decodeRun(data, firstKey);
      for (let i = 0; i < run.keys.length; i++) pairs.push([run.keys[i] as number, run.seqs[i] as number]);
    }
    return pairs;
  } finally {
    db.close();
  }
}

function rawCount(path: string, table: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

describe("sealed blocks of the SQLite store", () => {
  it("seals every hot row into verified blocks; every read gives the same values; bytes of rows equal, the file smaller", async () => {
    await using dir = tempDir();
    const plain = openStore(join(dir.path, "plain.db"), { seal: false });
    const path = join(dir.path, "sealed.db");
    const sealed = openStore(path, { seal: true, blockRows: 3 });
    try {
      const ids = await fill(plain);
      await fill(sealed);
      const before = await readAll(sealed, ids);
      assert.deepEqual(before, await readAll(plain, ids));
      const holders = rawCount(path, "memories WHERE content_of IS NULL");
      assert.equal(await sealed.seal?.(), 25);
      assert.equal(rawCount(path, "memories"), 0);
      assert.equal(rawCount(path, "memory_blocks"), 9, "25 rows, 3 a block");
      assert.equal(runPairs(path, "sealed_id_runs").length, 25, "every sealed row's id key in the runs");
      assert.equal(runPairs(path, "sealed_content_runs").length, holders, "every sealed holder's checksum in the runs");
      assert.equal(await sealed.seal?.(), 0, "nothing hot is left to seal");
      assert.deepEqual(await readAll(sealed, ids), before);
      // A second connection (a fresh one, no cached block) reads the same.
      const reader = openStore(path);
      try {
        assert.deepEqual(await readAll(reader, ids), before);
      } finally {
        await reader.close();
      }
    } finally {
      await plain.close();
      await sealed.close();
    }
  });

  it("unseals before every write: delete, rewrite, recode (compare-and-set), hand-over, dedupe and expiry give what an unsealed store gives", async () => {
    await using dir = tempDir();
    const plain = openStore(join(dir.path, "plain.db"), { seal: false });
    const path = join(dir.path, "sealed.db");
    const sealed = openStore(path, { seal: true, blockRows: 2 });
    try {
      const ids = await fill(plain);
      await fill(sealed);
      const both = async (what: string, work: (store: Store) => Promise<unknown>, reseal = true): Promise<void> => {
        assert.equal(rawCount(path, "memories") > 0 && reseal, false, `${what}: all sealed before`);
        assert.deepEqual(await work(sealed), await work(plain), what);
        assert.deepEqual(await readAll(sealed, ids), await readAll(plain, ids), what);
        if (reseal) await sealed.seal?.();
      };
      await sealed.seal?.();
      // m0 (alpha) holds TEXTS[0]; m5 (alpha) m10 (alpha) m15 (beta)... read it: deleting the holder hands its envelope over.
      // Blocks of 2 in seq order: (m14, m15), and m15 reads m5's text from the block (m4, m5).
      await both("rewrite beside a sealed reference: its holder's block comes back too", (s) => s.memories.put([textMemory("m14", "alpha", "m14 again", { createdAt: 1014 })]));
      await both("delete a sealed holder with sealed references", (s) => s.memories.delete("alpha", "m0"));
      await both("delete a sealed reference", (s) => s.memories.delete("alpha", "m10"));
      await both("delete what is not there", (s) => s.memories.delete("beta", "m1"));
      await both("rewrite a sealed holder (its references take the envelope)", (s) => s.memories.put([textMemory("m5", "alpha", "m5 says something else", { createdAt: 1005 })]));
      await both("a new memory whose text a sealed row holds becomes a reference", (s) => s.memories.put([textMemory("new1", "alpha", TEXTS[2] as string)]));
      await both("a new memory whose text only another namespace's sealed row holds holds its own", (s) => s.memories.put([textMemory("new2", "beta", TEXTS[2] as string)]));
      const stored = await sealed.memories.get("alpha", "m8");
      assert.ok(stored);
      const recode = (version: number) => [{ namespace: "alpha", id: "m8", version, codec: "zstd", envelope: Uint8Array.of(7, 7), assetId: null }];
      await both("recode a sealed memory at its version", (s) => s.memories.replaceEnvelopes(recode(stored.version ?? 0)));
      await both("recode at a stale version is skipped", (s) => s.memories.replaceEnvelopes(recode(stored.version ?? 0)));
      await both("history of a sealed memory grows", (s) =>
        s.memories.put([
          textMemory("m2", "alpha", "m2 third text", {
            createdAt: 1002,
            replaces: { kind: "note", tags: [], meta: {}, replacedAt: 300, codec: "raw", payload: Uint8Array.of(1), originalLength: 12, checksum: "m2 rewritten".length * 7919 },
          }),
        ]),
      );
      await both("expired memories deleted as compact does", async (s) => {
        const expired = (await s.memories.page({ expiredBy: 5 * DAY, limit: 100 })).items;
        for (const x of expired) await s.memories.delete(x.namespace, x.id);
        return expired.map((x) => x.id);
      });
      await both("an asset sealed rows use is not deleted", (s) => s.assets.delete(ASSET.id));
      await both("an asset sealed rows use is not deleted in a batch either", (s) => s.assets.deleteUnused([ASSET.id]));
      await both("writes to hot and sealed rows in one batch", (s) => s.memories.put([textMemory("m9", "alpha", "nine"), textMemory("new1", "beta", "new text"), textMemory("new2", "alpha", "nine")]), false);
      assert.equal(rawCount(path, "memories") > 0, true);
      await sealed.seal?.();
      assert.deepEqual(await readAll(sealed, [...ids, { namespace: "beta", id: "new1" }, { namespace: "alpha", id: "new2" }]), await readAll(plain, [...ids, { namespace: "beta", id: "new1" }, { namespace: "alpha", id: "new2" }]));
    } finally {
      await plain.close();
      await sealed.close();
    }
  });

  it("a reader keeps its snapshot across a seal, and a scan in progress reads on across it", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const writer = openStore(path, { seal: true, blockRows: 4 });
    const reader = openStore(path);
    try {
      await writer.memories.put(Array.from({ length: 30 }, (_, i) => textMemory(`r${i}`, i % 2 ? "alpha" : "beta", `text ${i} ${"y".repeat(i)}`)));
      const all = (await collect(reader.memories.scan())).map((x) => x.id);
      assert.equal(all.length, 30);
      const before = await reader.memories.get("alpha", "r1");
      // A plain connection with a read transaction open sees the rows hot until it ends; the seal commits meanwhile.
      const raw = new Database(path);
      raw.exec("BEGIN");
      assert.equal(raw.prepare("SELECT count(*) FROM memories").pluck().get(), 30);
      const scan = reader.memories.scan({ batchSize: 5 })[Symbol.asyncIterator]();
      const seen: string[] = [];
      for (let i = 0; i < 7; i++) seen.push(((await scan.next()).value as StoredMemory).id);
      assert.equal(await writer.seal?.(), 30);
      assert.equal(raw.prepare("SELECT count(*) FROM memories").pluck().get(), 30, "the snapshot holds");
      raw.exec("COMMIT");
      assert.equal(raw.prepare("SELECT count(*) FROM memories").pluck().get(), 0);
      assert.equal(raw.prepare("SELECT sum(n) FROM memory_blocks").pluck().get(), 30);
      raw.close();
      for (let next = await scan.next(); !next.done; next = await scan.next()) seen.push(next.value.id);
      assert.deepEqual(seen, all, "the scan read on from its cursor in the sealed blocks");
      assert.deepEqual(await reader.memories.get("alpha", "r1"), before);
      // The reader's cached blocks go when the writer unseals and rewrites.
      await writer.memories.put([textMemory("r3", "alpha", "changed")]);
      assert.equal((await reader.memories.get("alpha", "r3"))?.originalLength, "changed".length);
      assert.equal((await reader.memories.get("alpha", "r1"))?.originalLength, before?.originalLength);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it("a store made by an earlier release upgrades (an additive step) and seals with every memory exact", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "v1.db");
    copyFileSync(join(ROOT, "test", "fixtures", "store-v1.db"), path);
    const want = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "store-v1.expected.json"), "utf8")) as { memories: { id: string; namespace: string; text: string }[] };
    const store = openStore(path, { seal: true, firstSealRows: 1 });
    const engine = Engine.create({ store, cache: "off", workers: 0 });
    try {
      const exported = async () => ({
        memories: await collect(store.memories.scan()),
        texts: await Promise.all(want.memories.map((m) => engine.recall(m.id, { namespace: m.namespace }))),
        footprint: await store.memories.footprint(),
        assets: await store.assets.usage(),
      });
      const before = await exported();
      assert.deepEqual(before.texts, want.memories.map((m) => m.text));
      assert.equal(await store.seal?.(), want.memories.length);
      assert.equal(rawCount(path, "memories"), 0);
      assert.deepEqual(await exported(), before);
      await engine.compact();
      assert.deepEqual(await exported(), before);
      const raw = new Database(path, { readonly: true });
      assert.equal(raw.pragma("user_version", { simple: true }), MIGRATIONS.length);
      assert.equal(raw.pragma("integrity_check", { simple: true }), "ok");
      raw.close();
    } finally {
      await engine.close();
    }
  });

  it("a row the block codec cannot hold exactly stays hot (and the holder of such a reference); every other row seals, and every read is the same", async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    const store = openStore(path, { seal: true, blockRows: 2 });
    try {
      // 2^60, 1e300 and 1.5 are not safe integers: packed-block.ts refuses such a row rather than store it inexactly.
      // r (a reference, createdAt 1.5) reads its text from h: h stays hot with it.
      await store.memories.put([
        memory("big", "ns", { createdAt: 2 ** 60 }),
        textMemory("small", "ns", "small text"),
        textMemory("huge", "ns", "huge text", { createdAt: 1e300 }),
        textMemory("h", "ns", "a shared text"),
        textMemory("x", "ns", "x text"),
        textMemory("r", "ns", "a shared text", { createdAt: 1.5 }),
        textMemory("y", "ns", "y text"),
      ]);
      const before = await collect(store.memories.scan());
      assert.equal((before.find((m) => m.id === "r") as StoredMemory).contentOf, "h");
      assert.equal(await store.seal?.(), 3);
      const raw = new Database(path, { readonly: true });
      assert.deepEqual(raw.prepare("SELECT id FROM memories ORDER BY seq").pluck().all(), ["big", "huge", "h", "r"]);
      assert.deepEqual(raw.prepare("SELECT first_seq, last_seq FROM memory_blocks ORDER BY last_seq").raw().all(), [[2, 2], [5, 5], [7, 7]]);
      raw.close();
      assert.deepEqual(await collect(store.memories.scan()), before);
      assert.deepEqual(await store.memories.get("ns", "r"), before[5]);
      await store.memories.delete("ns", "big");
      assert.equal(await store.seal?.(), 0);
      assert.deepEqual(await collect(store.memories.scan()), before.slice(1));
      // Every row refused: nothing sealed, no table made.
      const other = join(dir.path, "refused.db");
      const refused = openStore(other, { seal: true });
      await refused.memories.put([memory("f", "ns", { createdAt: 0.5 })]);
      assert.equal(await refused.seal?.(), 0);
      await refused.close();
      assert.equal(rawCount(other, "sqlite_schema WHERE name = 'memory_blocks'"), 0);
    } finally {
      await store.close();
    }
  });

  it("an id, tag or meta value that starts with U+FEFF seals and reads back as it was (the block's decoder dropped it: every seal failed E_STORE)", async () => {
    await using dir = tempDir();
    const store = openStore(join(dir.path, "store.db"), { seal: true, blockRows: 2, firstSealRows: 1 });
    try {
      await store.memories.put([textMemory("\ufeffbom-id", "ns", "one"), textMemory("plain", "ns", "two", { tags: ["\ufefftag"], meta: { k: "\ufeffv" } }), textMemory("\ufeff", "ns", "three")]);
      const before = await collect(store.memories.scan());
      assert.equal(await store.seal?.(), 3);
      assert.deepEqual(await collect(store.memories.scan()), before);
      assert.equal((await store.memories.get("ns", "\ufeffbom-id"))?.id, "\ufeffbom-id");
      assert.equal(await store.memories.get("ns", "bom-id"), undefined);
      assert.deepEqual((await store.memories.get("ns", "plain"))?.tags, ["\ufefftag"]);
    } finally {
      await store.close();
    }
  });

  it("a namespace's sizes count sealed rows by their blocks' sums and charge references (within it, and an earlier build's across namespaces) as rows do", async () => {
    await using dir = tempDir();
    const paths = { plain: join(dir.path, "plain.db"), sealed: join(dir.path, "sealed.db") };
    const shared = ["a text an earlier build shared across namespaces", "second shared text", "a text b repeats within b"];
    for (const path of Object.values(paths)) {
      const store = openStore(path, { seal: false });
      const rows: StoredMemory[] = [];
      // Blocks of 2 in seq order: b's plain rows fill blocks of their own; a's holders and b's references share mixed ones.
      for (let i = 0; i < 6; i++) rows.push(textMemory(`plain${i}`, "b", `b's own text number ${i} ${"y".repeat(i * 3)}`, { createdAt: 10 + i }));
      rows.push(textMemory("h", "a", shared[0] as string), textMemory("r", "b", shared[0] as string), textMemory("h2", "a", shared[1] as string));
      rows.push(textMemory("x", "a", "a's own"), textMemory("r2", "b", shared[1] as string), textMemory("r2again", "b", shared[1] as string));
      rows.push(textMemory("w1", "b", shared[2] as string), textMemory("w2", "b", shared[2] as string), textMemory("w3", "b", shared[2] as string));
      await store.memories.put(rows);
      await store.close();
      // What an earlier build wrote: b's rows refer to a's holders (the first two of them to h2).
      const raw = new Database(path);
      for (const [holder, reference] of [["h", "r"], ["h2", "r2"], ["h2", "r2again"]]) {
        raw.prepare("UPDATE memories SET content_of = (SELECT seq FROM memories WHERE id = ?), envelope = x'' WHERE id = ?").run(holder, reference);
      }
      raw.close();
    }
    const plain = openStore(paths.plain, { seal: false });
    const sealed = openStore(paths.sealed, { seal: true, blockRows: 2 });
    try {
      const sizes = async (store: Store) => ({
        usage: [await store.memories.usageByCodec("a"), await store.memories.usageByCodec("b")],
        footprint: [await store.memories.footprint("a"), await store.memories.footprint("b")],
      });
      const expected = await sizes(plain);
      // b: its own texts, w1's (w2 and w3 refer to it) and a's two texts it reads, each once.
      const own = Array.from({ length: 6 }, (_, i) => `b's own text number ${i} ${"y".repeat(i * 3)}`.length).reduce((x, y) => x + y, 0);
      assert.equal(expected.footprint[1]?.envelopeBytes, own + (shared[2] as string).length + (shared[0] as string).length + (shared[1] as string).length);
      assert.equal(await sealed.seal?.(), 15);
      assert.ok(rawCount(paths.sealed, "sealed_refs") >= 4, "the references are sealed");
      assert.equal(rawCount(paths.sealed, "memories"), 0);
      assert.deepEqual(await sizes(sealed), expected);
      // A fresh connection (no block cached) reads the same.
      const reader = openStore(paths.sealed);
      try {
        assert.deepEqual(await sizes(reader), expected);
      } finally {
        await reader.close();
      }
    } finally {
      await plain.close();
      await sealed.close();
    }
  });
});
