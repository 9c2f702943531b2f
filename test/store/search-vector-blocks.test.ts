import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { openStore } from "../../src/store/open.js";
import { SEARCH_FORMAT } from "../../src/store/sqlite/search-index.js";
import { decodeVectorBlock, encodeVectorBlock } from "../../src/store/sqlite/search-vector-blocks.js";
import type { SearchHit } from "../../src/search/search.js";
import { devCorpus, storeOf, tempDir } from "../helpers.js";
import { damagedStoreError } from "../../src/errors.js";

const QUERIES = [...[3, 17, 42, 77, 101, 150].map((i) => (devCorpus()[i]?.text ?? "").split(/\s+/).filter(Boolean).slice(2, 6).join(" ")), "database migration rollback", "用户"];

async function hits(engine: Engine): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const query of QUERIES) {
    for (const mode of ["hybrid", "keyword", "vector"] as const) {
      const found: SearchHit[] = await engine.searchMemories(query, { mode, limit: 8, namespaces: ["alpha", "beta"] });
      out.push([query, mode, found.map((h) => [h.namespace, h.id, h.score, h.similarity, h.vectorRank, h.keywordRank])]);
    }
  }
  return out;
}

/** Vectors held in blocks and in single rows, read with a second connection. */
function vectorHomes(file: string): { packed: number; blocks: number; loose: number } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      packed: db.prepare("SELECT coalesce(sum(n), 0) FROM search_vector_blocks").pluck().get() as number,
      blocks: db.prepare("SELECT count(*) FROM search_vector_blocks").pluck().get() as number,
      loose: db.prepare("SELECT count(*) FROM search_vectors").pluck().get() as number,
    };
  } finally {
    db.close();
  }
}

/** 24 memories of namespace "a" (m0..m23, "memory i about word<i>"), sealed in blocks with their vectors packed; the index refresher. */
async function packedMemories(engine: Engine): Promise<() => Promise<Awaited<ReturnType<Engine["searchIndex"]>>>> {
  await engine.rememberMany(Array.from({ length: 24 }, (_, i) => ({ id: `m${i}`, text: `memory ${i} about word${i} and the deploy`, namespace: "a" })));
  const refresh = async () => {
    const index = await engine.searchIndex();
    await index.refresh();
    return index;
  };
  await refresh();
  await engine.compact();
  await refresh();
  await engine.compact();
  return refresh;
}

async function keywordHits(engine: Engine, word: string): Promise<string[]> {
  return (await engine.searchMemories(word, { mode: "keyword", namespaces: ["a"], limit: 5 })).map((h) => h.id);
}

describe("search vectors packed per sealed block", () => {
  it("encodes and decodes a block exactly, and refuses a damaged one", () => {
    const seqs = [3, 4, 9, 300, 70_000, 2 ** 40];
    const vectors = seqs.map((seq, i) => Uint8Array.from({ length: 64 }, (_, j) => (seq * 31 + i * 7 + j * 13) & 0xff));
    const data = encodeVectorBlock({ seqs, vectors });
    const back = decodeVectorBlock(data);
    assert.deepEqual(back.seqs, seqs);
    assert.deepEqual(back.vectors, vectors);
    assert.throws(() => encodeVectorBlock({ seqs: [5, 5], vectors: [new Uint8Array(4), new Uint8Array(4)] }), /ascend/);
    assert.throws(() => encodeVectorBlock({ seqs: [1, 2], vectors: [new Uint8Array(4), new Uint8Array(3)] }), /one width/);
    const damaged = Buffer.from(data);
    damaged[damaged.length - 2] = (damaged[damaged.length - 2] as number) ^ 0xff;
    assert.throws(() => decodeVectorBlock(damaged), (e: unknown) => /the search index is damaged \(a vector block: /.test((e as Error).message) && /--reindex/.test((e as { hint?: string }).hint ?? ""));
    assert.throws(() => decodeVectorBlock(Buffer.concat([Buffer.from([9]), data.subarray(1)])), /version 9/);
  });

  it("gives the hits of an unpacked index, through deletes, rewrites, new memories, a fresh process and compacts", async () => {
    await using dir = tempDir();
    const records = devCorpus()
      .slice(0, 160)
      .map((r, i) => ({ id: `m${i}`, text: r.text, namespace: i % 4 === 0 ? "beta" : "alpha" }));
    const options = { cache: "off", autoTrainAfter: 1_000_000 } as const;
    const plainFile = join(dir.path, "plain.db");
    const sealedFile = join(dir.path, "sealed.db");
    const plain = Engine.create({ store: openStore(plainFile), ...options });
    let sealed = Engine.create({ store: openStore(sealedFile, { seal: true, blockRows: 16 }), ...options });
    try {
      for (const engine of [plain, sealed]) await engine.rememberMany(records);
      assert.equal(await storeOf(sealed).seal?.(), records.length);
      const expected = await hits(plain);
      assert.ok(expected.filter((e) => (e as [string, string, unknown[]])[2].length > 0).length >= 12, "most searches find something");
      assert.deepEqual(await hits(sealed), expected);
      // The first build indexed everything: every sealed block's vectors went into one row each.
      assert.deepEqual(vectorHomes(sealedFile), { packed: records.length, blocks: records.length / 16, loose: 0 });
      assert.equal(vectorHomes(plainFile).packed, 0);
      assert.equal(await (await sealed.searchIndex()).vectorBytes(), records.length * 64, "vector payload as encoded, packed or not");

      // A delete and a rewrite of packed memories, and a new memory: the same hits as the unpacked index.
      const top = await plain.searchMemories(QUERIES[0] as string, { limit: 2, namespaces: ["alpha", "beta"] });
      assert.equal(top.length, 2);
      for (const engine of [plain, sealed]) {
        await engine.forget((top[0] as SearchHit).id, (top[0] as SearchHit).namespace);
        await engine.update("m21", { text: "deploy on friday after the database migration rollback" }, "alpha");
        await engine.remember({ id: "extra", text: QUERIES.join(". "), namespace: "beta" });
      }
      const changed = await hits(plain);
      assert.notDeepEqual(changed, expected);
      assert.deepEqual(await hits(sealed), changed, "after writes into packed blocks");
      const afterWrites = vectorHomes(sealedFile);
      assert.ok(afterWrites.blocks < records.length / 16, "the blocks written into lost their packed vectors");
      assert.equal(afterWrites.packed + afterWrites.loose, records.length + 1 - 1, "every memory has exactly one vector");

      // compact seals what the writes unsealed and packs their vectors again.
      await sealed.compact();
      assert.deepEqual(await hits(sealed), changed, "after compact");
      const compacted = vectorHomes(sealedFile);
      assert.equal(compacted.loose, 0);
      assert.equal(compacted.packed, records.length);

      // A fresh process reads the packed vectors.
      await sealed.close();
      sealed = Engine.open({ db: sealedFile, ...options });
      assert.deepEqual(await hits(sealed), changed, "a fresh process");
      assert.equal(await (await sealed.searchIndex()).pending(), 0);
    } finally {
      await plain.close();
      await sealed.close();
    }
  });

  it("a long-lived engine indexes again the memories of a vector block a write dropped (review21 S1)", async () => {
    await using dir = tempDir();
    const file = join(dir.path, "live.db");
    const engine = Engine.create({ store: openStore(file, { seal: true, blockRows: 8 }), cache: "off", autoTrainAfter: 1_000_000 });
    try {
      const refresh = await packedMemories(engine);
      const keyword = (word: string) => keywordHits(engine, word);
      assert.deepEqual(await keyword("word9"), ["m9"]);
      // A write that changes no text unseals m10's block (its rows hot, still covered by their vector block); the
      // engine settles; then a neighbour's delete drops the vector block: its other memories must be pending again.
      await engine.update("m10", { tags: ["x"] }, "a");
      await refresh();
      await engine.forget("m12", "a");
      const index = await refresh();
      assert.equal(await index.pending(), 0);
      for (const i of [8, 9, 10, 11, 13, 14, 15]) assert.deepEqual(await keyword(`word${i}`), [`m${i}`], `word${i}`);
      assert.deepEqual(await keyword("word12"), []);
    } finally {
      await engine.close();
    }
  });

  it("a dropped vector block whose range holds rows sealed again in other blocks makes the next look a full one", async () => {
    await using dir = tempDir();
    const file = join(dir.path, "resealed.db");
    const engine = Engine.create({ store: openStore(file, { seal: true, blockRows: 8 }), cache: "off", autoTrainAfter: 1_000_000 });
    try {
      const refresh = await packedMemories(engine);
      // m10's block goes hot (its vector block stays), then another connection seals those rows in blocks of 4:
      // the vector block of rows 8..15 now spans two memory blocks.
      await engine.update("m10", { tags: ["x"] }, "a");
      const other = openStore(file, { seal: true, blockRows: 4 });
      try {
        assert.equal(await other.seal?.(), 8);
      } finally {
        await other.close();
      }
      await refresh();
      // m9's block (rows 8..11) is unsealed and m9 deleted: the vector block goes, and rows 12..15, sealed, lose their vectors.
      await engine.forget("m9", "a");
      const index = await refresh();
      assert.equal(await index.pending(), 0);
      const keyword = (word: string) => keywordHits(engine, word);
      for (const i of [8, 10, 11, 12, 13, 14, 15]) assert.deepEqual(await keyword(`word${i}`), [`m${i}`], `word${i}`);
    } finally {
      await engine.close();
    }
  });

  it("drops an index of the previous format at open and rebuilds it on the next search", async () => {
    await using dir = tempDir();
    const file = join(dir.path, "old.db");
    const records = devCorpus()
      .slice(0, 64)
      .map((r, i) => ({ id: `m${i}`, text: r.text, namespace: "alpha" }));
    const options = { cache: "off", autoTrainAfter: 1_000_000 } as const;
    const engine = Engine.create({ store: openStore(file, { seal: true, blockRows: 16 }), ...options });
    let expected: unknown[];
    try {
      await engine.rememberMany(records);
      await storeOf(engine).seal?.();
      expected = await hits(engine);
    } finally {
      await engine.close();
    }
    // Make it a format-2 index: no vector blocks, every vector a row, format 2 in search_meta.
    const raw = new Database(file);
    raw.exec("DROP TABLE search_vector_blocks; UPDATE search_meta SET value = '2' WHERE key = 'format'");
    raw.close();
    const reopened = Engine.open({ db: file, ...options });
    try {
      const index = await reopened.searchIndex();
      assert.equal(await index.pending(), records.length, "the old index was dropped: everything is indexed again");
      const check = new Database(file, { readonly: true });
      try {
        assert.equal(check.prepare("SELECT value FROM search_meta WHERE key = 'format'").pluck().get(), String(SEARCH_FORMAT));
      } finally {
        check.close();
      }
      assert.deepEqual(await hits(reopened), expected);
      assert.deepEqual(vectorHomes(file), { packed: records.length, blocks: records.length / 16, loose: 0 });
    } finally {
      await reopened.close();
    }
  });
});

describe("a damaged keyword index", () => {
  it("is named as the search index with --reindex as the fix, not a backup (trial44: 'the store file is damaged … restore from a backup')", () => {
    // What better-sqlite3 threw once `search_terms_data` lost its rows (made with sqlite3, which lets a shadow table be changed).
    const thrown = Object.assign(new Error('fts5: corruption found reading blob 10 from table "search_terms"'), { code: "SQLITE_CORRUPT_VTAB" });
    const error = damagedStoreError(thrown);
    assert.match(error?.message ?? "", /^the search index is damaged \(SQLITE_CORRUPT_VTAB: /);
    assert.match(error?.hint ?? "", /--reindex/);
    assert.doesNotMatch(error?.hint ?? "", /backup/);
    // Damage elsewhere still points at a backup.
    assert.match(damagedStoreError(Object.assign(new Error("database disk image is malformed"), { code: "SQLITE_CORRUPT" }))?.hint ?? "", /backup/);
  });
});
