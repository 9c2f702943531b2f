import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Engine } from "../../src/engine.js";
import { seededRandom } from "../../src/core/stats.js";
import { FloatRows, TernaryRows } from "../../src/search/score-matrix.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { INDEX_BATCH, SearchIndex, type IndexProgress } from "../../src/search/search.js";
import { HashedNgramEmbedder } from "../../src/search/similarity.js";
import { SqliteSearchIndex } from "../../src/store/sqlite/search-index.js";
import type { PendingFrom, SearchIndexEntry } from "../../src/core/store.js";
import { openStore } from "../../src/store/open.js";
import { VECTOR_ENCODINGS } from "../../src/search/vector-encoding.js";
import { CLI, damageEnvelope, devCorpus, spawnBounded, tempDir } from "../helpers.js";

function randomUnit(random: () => number, dimensions: number): Float32Array {
  const v = Float32Array.from({ length: dimensions }, () => random() * 2 - 1);
  let norm = 0;
  for (const x of v) norm += x * x;
  return v.map((x) => x / Math.sqrt(norm));
}

describe("vector rows", () => {
  it("scores ternary codes as stored like their decoded float rows, across growth and compaction", () => {
    const random = seededRandom(5);
    // 254 dimensions: the last code byte is half used and rows are padded to whole words.
    const dimensions = 254;
    const ternary = new TernaryRows(dimensions, 4);
    const float = new FloatRows("ternary", dimensions, 4);
    const codes: Uint8Array[] = [];
    for (let i = 0; i < 37; i++) {
      const code = VECTOR_ENCODINGS.ternary.encode(randomUnit(random, dimensions));
      codes.push(code);
      assert.equal(ternary.append(code), i);
      assert.equal(float.append(code), i);
    }
    codes.push(new Uint8Array(codes[0]?.length ?? 0));
    ternary.append(codes[37] as Uint8Array);
    float.append(codes[37] as Uint8Array);
    const query = randomUnit(random, dimensions);
    const expected = float.scores(query);
    const got = ternary.scores(query);
    assert.equal(got.length, 38);
    for (let r = 0; r < 38; r++) assert.ok(Math.abs((got[r] as number) - (expected[r] as number)) < 1e-5, `row ${r}: ${got[r]} vs ${expected[r]}`);
    assert.equal(got[37], 0, "an all-zero row scores 0");
    assert.deepEqual(Array.from(ternary.vector(3)), Array.from(float.vector(3)));
    const keep = [36, 2, 17];
    const compacted = ternary.compacted(keep).scores(query);
    assert.deepEqual(Array.from(compacted), keep.map((r) => got[r]));
  });
  it("scores a query that weighs few code bytes by the sparse loop exactly as the dense loop does, bit for bit", () => {
    const embedder = new HashedNgramEmbedder(254);
    const corpus = devCorpus().map((r) => r.text);
    const rows = new TernaryRows(254, 8);
    for (let i = 0; i < 300; i++) rows.append(VECTOR_ENCODINGS.ternary.encode(embedder.embedOne((corpus[i % corpus.length] as string).slice(0, 80 + i))));
    // One short word weighs a handful of the 64 code bytes; a long text nearly all of them.
    for (const text of ["cat", "storage engine", "graph databases and vector indexes", (corpus[3] as string).slice(0, 400)]) {
      const query = embedder.embedOne(text);
      const dense = Array.from(rows.scores(query, undefined, "dense"));
      const sparse = Array.from(rows.scores(query, undefined, "sparse"));
      const auto = Array.from(rows.scores(query));
      assert.ok(dense.some((s) => s !== 0), text);
      assert.deepEqual(sparse, dense, text);
      assert.deepEqual(auto, dense, text);
    }
  });
  it("a query over more than 1,040 dimensions (the bounded scan's 16-bit lanes could wrap) gets the dense scores", () => {
    const dimensions = 1100;
    const flat = new Float32Array(dimensions).fill(1 / Math.sqrt(dimensions));
    const rows = new TernaryRows(dimensions, 16);
    for (let i = 0; i < 40; i++) rows.append(VECTOR_ENCODINGS.ternary.encode(flat));
    const dense = Array.from(rows.scores(flat, undefined, "dense"));
    assert.ok(dense.every((s) => s > 0.99), "every row matches the query");
    assert.deepEqual(Array.from(rows.scores(flat, 0.5, "bounded")), dense);
    assert.deepEqual(Array.from(rows.scores(flat, 0.5, "auto")), dense);
  });
  it("the bounded SIMD scan gives the dense scores, bit for bit, to every row at or above the floor, and a value below it to the others", () => {
    const embedder = new HashedNgramEmbedder(256);
    const corpus = devCorpus().map((r) => r.text);
    const random = seededRandom(23);
    const rows = new TernaryRows(256, 16);
    const texts: string[] = [];
    // 1,000 rows (growth across blocks of 16, a last partial block), near-duplicates for ties, an all-zero row, then a compaction.
    for (let i = 0; i < 1001; i++) {
      const source = corpus[i % corpus.length] as string;
      const text = i % 7 === 3 ? (texts[i - 1] as string) : source.slice(Math.floor(random() * 40), 40 + Math.floor(random() * 200));
      texts.push(text);
      rows.append(VECTOR_ENCODINGS.ternary.encode(embedder.embedOne(text)));
    }
    rows.append(new Uint8Array(64));
    const keep = Array.from({ length: 1002 }, (_, r) => r).filter((r) => r % 5 !== 1);
    let checked = 0;
    for (const table of [rows, rows.compacted(keep) as TernaryRows]) {
      // Short and long n-gram queries (a few code bytes, nearly all), texts that are rows (ties at the top), and a dense random unit vector.
      const queries = ["cat", "storage engine", "graph databases and vector indexes", texts[10] as string, texts[500] as string, (corpus[3] as string).slice(0, 400)].map((t) => embedder.embedOne(t));
      queries.push(randomUnit(random, 256));
      for (const [q, query] of queries.entries()) {
        const dense = Array.from(table.scores(query, undefined, "dense"));
        for (const floor of [0.3, 0.1, 0.05, 1e-9, Math.max(...dense)]) {
          const view = table.scores(query, floor, "bounded");
          const bounded = Array.from(view);
          assert.equal(bounded.length, dense.length);
          for (let r = 0; r < dense.length; r++) {
            const d = dense[r] as number;
            if (d >= floor) {
              assert.ok(Object.is(bounded[r], d), `query ${q} floor ${floor} row ${r}: ${bounded[r]} vs ${d}`);
              checked++;
            } else assert.ok((bounded[r] as number) < floor, `query ${q} floor ${floor} row ${r}: ${bounded[r]} is not below the floor`);
          }
          // `exact` gives the other rows their dense scores, in the same view.
          table.exact(Array.from({ length: dense.length }, (_, r) => r));
          assert.deepEqual(Array.from(view), dense);
        }
      }
    }
    assert.ok(checked > 500, `only ${checked} rows at or above a floor`);
  });
});

describe("incremental search index", () => {
  it("after seeded adds, rewrites and deletes gives the same hits as a full rebuild, and never returns a deleted memory", async () => {
    const random = seededRandom(17);
    const corpus = devCorpus().map((r) => r.text);
    const words = corpus.join(" ").split(/\s+/).filter((w) => /^[A-Za-z]{5,}$/.test(w));
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const text = () => {
      const source = pick(corpus);
      const from = Math.floor(random() * Math.max(1, source.length - 200));
      return `${source.slice(from, from + 60 + Math.floor(random() * 200))} ${pick(words)}`;
    };
    const namespaces = ["a", "b"];
    await using dir = tempDir();
    const db = join(dir.path, "incremental.db");
    await using engine = Engine.open({ db, cache: "off", codecs: ["raw"] });
    const live = new Map<string, string>();
    const deleted = new Set<string>();
    let next = 0;
    const add = async () => {
      const namespace = pick(namespaces);
      const id = `m${next++}`;
      await engine.remember({ id, namespace, text: text() });
      live.set(id, namespace);
      deleted.delete(`${namespace}/${id}`);
    };
    for (let i = 0; i < 60; i++) await add();
    await engine.searchMemories("warm", { limit: 1 });
    const index = await engine.searchIndex();
    // 30 rounds of 50 changes, most of them rewrites: more than 256 tombstones and a quarter of the rows, so the in-memory index compacts on the way.
    for (let round = 0; round < 30; round++) {
      for (let op = 0; op < 50; op++) {
        const roll = random();
        const ids = [...live.keys()];
        if (roll < 0.2 || ids.length < 20) await add();
        else if (roll < 0.35) {
          const id = pick(ids);
          const namespace = live.get(id) as string;
          await engine.forget(id, namespace);
          live.delete(id);
          deleted.add(`${namespace}/${id}`);
        } else {
          const id = pick(ids);
          await engine.remember({ id, namespace: live.get(id) as string, text: text() });
        }
      }
      const queries = [`${pick(words)} ${pick(words)}`, pick(words), `${pick(words)} ${pick(words)} ${pick(words)}`];
      const incremental = [];
      for (const query of queries) {
        incremental.push(await engine.searchMemories(query, { limit: 10 }));
        incremental.push(await engine.searchMemories(query, { limit: 5, mode: "vector", minSimilarity: 0 }));
        incremental.push(await engine.searchMemories(query, { limit: 5, namespace: "b", mode: "keyword" }));
      }
      const someId = pick([...live.keys()]);
      incremental.push(await engine.relatedMemories(someId, { namespace: live.get(someId) as string, limit: 5, minSimilarity: 0 }));
      assert.equal(await index.loadedRows(), live.size, `round ${round}: one row a live memory`);
      // A new index over a read-only connection to the same file loads every vector: the full rebuild.
      // (A second engine would not do: opening one writes, and the first would then reload in full too.)
      const connection = new Database(db, { readonly: true });
      try {
        const rebuilt = new SearchIndex(new SqliteSearchIndex(connection), new HashedNgramEmbedder(), () => Promise.reject(new Error("nothing is pending")));
        const full = [];
        for (const query of queries) {
          full.push(await rebuilt.search(query, { limit: 10 }));
          full.push(await rebuilt.search(query, { limit: 5, mode: "vector", minSimilarity: 0 }));
          full.push(await rebuilt.search(query, { limit: 5, namespace: "b", mode: "keyword" }));
        }
        full.push(await rebuilt.related(someId, live.get(someId) as string, { namespace: live.get(someId) as string, limit: 5, minSimilarity: 0 }));
        assert.deepEqual(incremental, full, `round ${round}`);
      } finally {
        connection.close();
      }
      for (const hits of incremental) for (const hit of hits) assert.ok(!deleted.has(`${hit.namespace}/${hit.id}`), `round ${round}: deleted ${hit.namespace}/${hit.id} returned`);
      assert.ok(incremental.some((hits) => hits.length > 0), `round ${round}: some query finds something`);
    }
  });
});

/** A store of the dev corpus's first 11 memories (indexed first when `indexed`), the last one's envelope then damaged (E_CHECKSUM). */
async function elevenWithOneDamaged(dir: string, indexed: boolean): Promise<{ db: string; texts: { id: string; text: string }[]; damaged: { id: string; text: string } }> {
  const db = join(dir, "store.db");
  const texts = devCorpus().slice(0, 11);
  const damaged = texts[10] as { id: string; text: string };
  const engine = Engine.open({ db, cache: "off", workers: 0, autoTrainAfter: 0 });
  try {
    await engine.rememberMany(texts.map(({ id, text }) => ({ id, text })));
    if (indexed) await engine.searchMemories("anything");
  } finally {
    await engine.close();
  }
  damageEnvelope(db, damaged.id);
  return { db, texts, damaged };
}

describe("a hit the CLI cannot read", () => {
  it("is listed with its error instead of failing the search (trial44)", async () => {
    using dir = tempDir();
    // Indexed while it read; then its payload is damaged (E_CHECKSUM on reading it).
    const { db, damaged } = await elevenWithOneDamaged(dir.path, true);
    const words = damaged.text.split(/\s+/).slice(0, 8).join(" ");
    const searched = spawnBounded(process.execPath, [CLI, "search", words, "--db", db, "--json"], { encoding: "utf8", env: { ...process.env, MEMZIP_CACHE: "off" } });
    assert.equal(searched.status, 0, searched.stderr);
    const hit = (JSON.parse(searched.stdout) as { hits: { id: string; preview: string; previewOf: string }[] }).hits.find((h) => h.id === damaged.id);
    assert.equal(hit?.previewOf, "unreadable", searched.stdout);
    assert.match(hit?.preview ?? "", /^E_CHECKSUM: /);
  });
});

describe("a memory whose text cannot be read when search indexes it", () => {
  it("is left out, never indexed without its text, and tried again: by a new index at once, by the same one after retryUnreadableMs", async () => {
    using dir = tempDir();
    const db = join(dir.path, "store.db");
    const texts: Record<string, string> = { m1: "the harbour crane was inspected on monday", m2: "quarterly lighthouse lamp replacement schedule", m3: "harbour pilots rota for the winter" };
    {
      await using engine = Engine.open({ db, cache: "off", workers: 0, codecs: ["raw"] });
      await engine.rememberMany(Object.entries(texts).map(([id, text]) => ({ id, text, namespace: id === "m3" ? "b" : "a" })));
    }
    const connection = new Database(db);
    try {
      let broken = true;
      const asked: string[] = [];
      const source = (refs: readonly { id: string }[]) =>
        Promise.resolve(
          refs.map(({ id }) => {
            asked.push(id);
            return id === "m2" && broken ? { unreadable: { code: ErrorCode.MISSING_MODEL, message: "the model is gone", hint: "register it again" } } : { text: texts[id] as string };
          }),
        );
      const embedder = new HashedNgramEmbedder();
      const patient = new SearchIndex(new SqliteSearchIndex(connection), embedder, source);
      assert.equal(await patient.refresh(), 2);
      assert.deepEqual(patient.unreadable().map(({ id, namespace, code }) => ({ id, namespace, code })), [{ id: "m2", namespace: "a", code: ErrorCode.MISSING_MODEL }]);
      assert.deepEqual(patient.unreadable(["b"]), []);
      // Not indexed without its text: its words find nothing, and related names why.
      assert.deepEqual((await patient.search("lighthouse lamp replacement")).map((h) => h.id), []);
      await assert.rejects(patient.related("m2", "a"), (error: unknown) => isMemzipError(error, ErrorCode.MISSING_MODEL) && /not in the search index: its text cannot be read \(the model is gone\)/.test(error.message) && error.hint === "register it again");
      // It reads again, but this index tries it only after a minute: nothing is asked meanwhile.
      broken = false;
      asked.length = 0;
      assert.equal(await patient.refresh(), 0);
      assert.deepEqual(asked, []);
      // An index that retries at once (as a new one does) asks again once it fails, and indexes it when it reads.
      broken = true;
      const eager = new SearchIndex(new SqliteSearchIndex(connection), embedder, source, { retryUnreadableMs: 0 });
      const progress: IndexProgress[] = [];
      assert.equal(await eager.refresh((p) => progress.push(p)), 0);
      assert.deepEqual(progress.at(-1), { indexed: 0, unreadable: 1, total: 1 });
      broken = false;
      asked.length = 0;
      assert.equal(await eager.refresh(), 1);
      assert.deepEqual(asked, ["m2"]);
      assert.deepEqual(eager.unreadable(), []);
      assert.deepEqual((await eager.search("lighthouse lamp replacement")).map((h) => h.id), ["m2"]);
      assert.equal(await eager.pending(), 0);
    } finally {
      connection.close();
    }
  });

  it("costs one listing a walk for each memory left out, writes nothing for a batch it could not read, keeps the store's settled point, and is never confused by a seq a deleted memory left (review of 2d4136b)", async () => {
    using dir = tempDir();
    const store = openStore(join(dir.path, "store.db"));
    const engine = Engine.create({ store, cache: "off", workers: 0, codecs: ["raw"], autoTrainAfter: 0 });
    try {
      const text = (i: number) => `memory number ${i} about the ${["harbour", "lighthouse", "ferry"][i % 3]} rota word${i}`;
      // Two whole batches and 88 more: the first two batches cannot be read, nor the last memory (2 B + 1 left out).
      const B = INDEX_BATCH;
      const last = `m${2 * B + 87}`;
      await engine.rememberMany(Array.from({ length: 2 * B + 88 }, (_, i) => ({ id: `m${i}`, text: text(i) })));
      const broken = (id: string) => Number(id.slice(1)) < 2 * B || id === last;
      const later = new Map([["reused", "the reused seq memory about kelp farming"], ["new", "a new memory about the tide tables"]]);
      const listed: { seq: number; id: string }[] = [];
      let puts = 0;
      const base = store.search;
      const counted = new Proxy(base, {
        get: (target, name) => {
          if (name === "pending")
            return async (key: string, limit: number, from?: PendingFrom) => {
              const rows = await target.pending(key, limit, from);
              listed.push(...rows);
              return rows;
            };
          if (name === "put")
            return (key: string, entries: readonly SearchIndexEntry[]) => {
              puts++;
              return target.put(key, entries);
            };
          const value: unknown = Reflect.get(target, name, target);
          return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const source = (refs: readonly { id: string }[]) =>
        Promise.resolve(refs.map(({ id }) => (broken(id) ? { unreadable: { code: ErrorCode.CHECKSUM, message: "damaged" } } : { text: later.get(id) ?? text(Number(id.slice(1))) })));
      const index = new SearchIndex(counted, new HashedNgramEmbedder(), source);
      assert.equal(await index.refresh(), 87);
      assert.equal(index.unreadable().length, 2 * B + 1);
      // Each memory listed once (the code before listed the left-out ones again with every batch).
      assert.equal(listed.length, 2 * B + 88);
      // The first two batches read nothing and wrote nothing (on PostgreSQL a write reloads every index).
      assert.equal(puts, 1);
      const seqOfLast = listed.find((m) => m.id === last)?.seq;
      // The build's walk settles nothing (it began under no key: review of 16da429); the next walks once more, lists the
      // left-out ones once without reading them, and settles.
      listed.length = 0;
      assert.equal(await index.refresh(), 0);
      assert.equal(listed.length, 2 * B + 1);
      assert.equal(puts, 1);
      // The last one is deleted and its seq may go to the next memory: that one is indexed, never passed over as it.
      await engine.forget(last);
      await engine.remember({ id: "reused", text: later.get("reused") as string });
      listed.length = 0;
      assert.equal(await index.refresh(), 1);
      assert.deepEqual(listed.map((m) => m.id), ["reused"]);
      assert.equal(listed[0]?.seq, seqOfLast, "the new memory took the deleted one's seq (else this case tests nothing)");
      assert.deepEqual((await index.search("kelp farming")).map((h) => h.id), ["reused"]);
      // After one write the store looks only at what changed since its walk ended: the new memory, not the left-out ones again.
      listed.length = 0;
      await engine.remember({ id: "new", text: later.get("new") as string });
      assert.equal(await index.refresh(), 1);
      assert.deepEqual(listed.map((m) => m.id), ["new"]);
    } finally {
      await engine.close();
    }
  });

  for (const when of ["while new memories are indexed", "while the index is first built"] as const) {
    it(`a memory rewritten below the walk's cursor ${when} is indexed by the next refresh (review of 16da429)`, async () => {
      using dir = tempDir();
      const store = openStore(join(dir.path, "store.db"));
      const engine = Engine.create({ store, cache: "off", workers: 0, codecs: ["raw"], autoTrainAfter: 0 });
      try {
        const texts = new Map<string, string>();
        const remember = async (records: { id: string; text: string }[]) => {
          for (const r of records) texts.set(r.id, r.text);
          await engine.rememberMany(records);
        };
        const first = when === "while new memories are indexed";
        await remember(Array.from({ length: first ? 2000 : 600 }, (_, i) => ({ id: `m${i}`, text: `memory ${i} about the harbour crane` })));
        // m5 changes in place on the index's own connection: its seq kept, its vector dropped (as when a summary is
        // written to it; the trigger fires on a new checksum here, which the test's source does not read).
        const db = (store as unknown as { database: { db: Database.Database } }).database.db;
        const rewrite = () => {
          db.prepare("UPDATE memories SET checksum = checksum + 1 WHERE id = 'm5'").run();
          texts.set("m5", "zeppelin mooring mast inspection");
        };
        // Batches read since the test armed the rewrite (-1: not armed).
        let batches = first ? -1 : 0;
        const source = async (refs: readonly { id: string }[]) => {
          if (batches >= 0 && ++batches === 2 && first) rewrite();
          return refs.map(({ id }) => ({ text: texts.get(id) as string }));
        };
        const index = new SearchIndex(store.search, new HashedNgramEmbedder(), source);
        if (first) {
          await index.refresh();
          // More than one batch: the rewrite comes while the second is read.
          await remember(Array.from({ length: INDEX_BATCH + 600 }, (_, i) => ({ id: `n${i}`, text: `new memory ${i} about the ferry` })));
          batches = 0;
        }
        let progressed = 0;
        // While the index is first built: between its first write (which sets the index's key) and its next look-up.
        const onProgress = () => {
          if (!first && ++progressed === 1) rewrite();
        };
        assert.equal(await index.refresh(onProgress), first ? INDEX_BATCH + 600 : 600);
        assert.equal(await index.refresh(), 1, "m5 rewritten during the walk");
        assert.deepEqual((await index.search("zeppelin mooring mast inspection")).map((h) => h.id), ["m5"]);
        assert.equal(await index.pending(), 0);
      } finally {
        await engine.close();
      }
    });
  }

  it("the CLI searches the rest and warns with its id, error and fix; related on it answers its error", async () => {
    using dir = tempDir();
    // Damaged before any search indexed it.
    const { db, texts, damaged } = await elevenWithOneDamaged(dir.path, false);
    const other = texts[3] as { id: string; text: string };
    const words = other.text.split(/\s+/).slice(0, 8).join(" ");
    const env = { ...process.env, MEMZIP_CACHE: "off" };
    const human = spawnBounded(process.execPath, [CLI, "search", words, "--db", db], { encoding: "utf8", env });
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, new RegExp(other.id));
    assert.match(human.stderr, new RegExp(`memzip: warning: 1 memory was not searched: its text cannot be read: "${damaged.id}" \\(namespace "default"\\): E_CHECKSUM: `));
    assert.match(human.stderr, /\n {2}fix: /);
    const json = spawnBounded(process.execPath, [CLI, "search", words, "--db", db, "--json"], { encoding: "utf8", env });
    assert.equal(json.status, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as { unsearchable: { id: string; code: string }[]; hits: { id: string }[] };
    assert.deepEqual(answer.unsearchable.map(({ id, code }) => ({ id, code })), [{ id: damaged.id, code: "E_CHECKSUM" }]);
    assert.ok(answer.hits.some((h) => h.id === other.id), json.stdout);
    const related = spawnBounded(process.execPath, [CLI, "related", damaged.id, "--db", db], { encoding: "utf8", env });
    assert.notEqual(related.status, 0);
    assert.match(related.stderr, new RegExp(`E_CHECKSUM: memory "${damaged.id}" is not in the search index: its text cannot be read`));
  });
});

describe("bounded vector scan in search", () => {
  it("returns the same hits, scores and similarities as the dense scan, for every mode, floor and tie", async () => {
    const random = seededRandom(29);
    const corpus = devCorpus().map((r) => r.text);
    const words = corpus.join(" ").split(/\s+/).filter((w) => /^[A-Za-z]{5,}$/.test(w));
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    await using dir = tempDir();
    const db = join(dir.path, "bounded.db");
    const texts: string[] = [];
    {
      await using engine = Engine.open({ db, cache: "off", codecs: ["raw"] });
      for (let i = 0; i < 500; i++) {
        const source = pick(corpus);
        const from = Math.floor(random() * Math.max(1, source.length - 150));
        // Every fifth memory repeats an earlier text (equal vectors: ties broken by seq), some are two words.
        const text = i % 5 === 4 ? pick(texts) : i % 11 === 0 ? `${pick(words)} ${pick(words)}` : source.slice(from, from + 30 + Math.floor(random() * 150));
        texts.push(text);
        await engine.remember({ id: `m${i}`, namespace: i % 3 === 0 ? "b" : "a", text });
      }
      await engine.searchMemories("warm", { limit: 1 });
    }
    const queries = [pick(words), `${pick(words)} ${pick(words)}`, `${pick(words)} ${pick(words)} ${pick(words)}`, pick(texts), pick(texts), (texts[4] as string).slice(0, 20)];
    const run = async () => {
      const connection = new Database(db, { readonly: true });
      try {
        const index = new SearchIndex(new SqliteSearchIndex(connection), new HashedNgramEmbedder(), () => Promise.reject(new Error("nothing is pending")));
        const out = [];
        for (const query of queries) {
          out.push(await index.search(query, { limit: 10 }));
          out.push(await index.search(query, { limit: 20, mode: "vector" }));
          out.push(await index.search(query, { limit: 20, mode: "vector", minSimilarity: 0.12 }));
          out.push(await index.search(query, { limit: 10, mode: "hybrid", minSimilarity: 0.5, namespace: "b" }));
          out.push(await index.search(query, { limit: 10, mode: "keyword" }));
        }
        for (const id of ["m4", "m5", "m34"]) out.push(await index.related(id, "a", { limit: 10, minSimilarity: 0.2 }));
        return out;
      } finally {
        connection.close();
      }
    };
    const bounded = await run();
    const scores = Object.getOwnPropertyDescriptor(TernaryRows.prototype, "scores")?.value as TernaryRows["scores"];
    // The reference: every scan forced to the dense loop (all rows exact).
    TernaryRows.prototype.scores = function (this: TernaryRows, query: Float32Array) {
      return scores.call(this, query, undefined, "dense");
    };
    let dense;
    try {
      dense = await run();
    } finally {
      TernaryRows.prototype.scores = scores;
    }
    assert.deepEqual(bounded, dense);
    const hits = bounded.flat();
    assert.ok(hits.length > 200, `${hits.length} hits`);
    // Equal similarities among the hits of one query (repeated texts): the ties are compared too.
    assert.ok(bounded.some((list) => list.some((h, i) => i > 0 && h.similarity === list[i - 1]?.similarity)), "some tie");
    assert.ok(hits.some((h) => h.similarity < 0.3 && h.keywordRank !== undefined), "a keyword hit below the floor, whose similarity the bounded scan had to fill in exactly");
  });
});
