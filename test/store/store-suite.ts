import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { memoryKey, type ApiKeyRecord, type ImportJob, type PageQuery, type RegisteredModel, type Store, type StoredAsset, type StoredMemory, type VersionInput } from "../../src/core/store.js";
import { collect } from "../helpers.js";

/** A memory as a writer passes it; `text` stands in for the envelope (one byte a character). */
export function memory(id: string, namespace = "ns", overrides: Partial<StoredMemory> = {}): StoredMemory {
  return {
    id,
    namespace,
    kind: "note",
    tags: ["a"],
    createdAt: 1,
    meta: { k: 1 },
    codec: "raw",
    envelope: Uint8Array.of(1, 2, 3),
    originalLength: 3,
    checksum: 7,
    assetId: null,
    ...overrides,
  };
}

/** A memory whose text another memory may hold too: the same hash, checksum and length mean the same text. */
function shared(id: string, namespace: string, text: string, overrides: Partial<StoredMemory> = {}): StoredMemory {
  const bytes = new TextEncoder().encode(text);
  const hash = new Uint8Array(16);
  for (let i = 0; i < bytes.length; i++) hash[i % 16] = ((hash[i % 16] as number) * 31 + (bytes[i] as number)) & 0xff;
  return memory(id, namespace, { envelope: bytes, originalLength: bytes.length, checksum: text.length * 7919, contentHash: hash, ...overrides });
}

function asset(seed: number, overrides: Partial<StoredAsset> = {}): StoredAsset {
  return { id: seed.toString(16).padStart(2, "0").repeat(32), kind: "zstd-dictionary", bytes: new Uint8Array(10 * seed).fill(seed), namespace: "ns", createdAt: seed, meta: {}, ...overrides };
}

function model(seed: number, name: string): RegisteredModel {
  return {
    fingerprint: seed.toString(16).padStart(2, "0").repeat(32),
    name,
    path: `/models/${name}.gguf`,
    size: 1000 * seed,
    mtime: seed,
    architecture: "llama",
    vocabularySize: 32000,
    contextLength: 4096,
    addedAt: seed,
  };
}

const bytesOf = (m: { envelope: Uint8Array } | undefined) => (m ? [...m.envelope] : undefined);
const ids = (items: readonly { id: string }[]) => items.map((m) => m.id);

/**
 * The behaviour every store implements (`core/store.ts`), run against a fresh store from `make`.
 * Modelled on `cacheSuite`: SQLite runs it now, a server store runs the same cases later.
 */
export function hashOf(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const hash = new Uint8Array(16);
  for (let i = 0; i < bytes.length; i++) hash[i % 16] = ((hash[i % 16] as number) * 31 + (bytes[i] as number)) & 0xff;
  return hash;
}

/** A memory with text `text` (the same text: the same hash, checksum and length, so the store dedupes it). */
export function textMemory(id: string, namespace: string, text: string, overrides: Partial<StoredMemory> = {}): StoredMemory {
  const bytes = new TextEncoder().encode(text);
  return memory(id, namespace, { envelope: bytes, originalLength: bytes.length, checksum: text.length * 7919, contentHash: hashOf(text), ...overrides });
}

export function storeSuite(name: string, make: () => Promise<Store>): void {
  const withStore = (title: string, body: (store: Store) => Promise<void>): void => {
    it(title, async () => {
      const store = await make();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
  };

  describe(`${name} store`, () => {
    withStore("puts, gets (one and many), counts, lists and fingerprints memories, every field intact", async (store) => {
      assert.equal(store.readOnly, false);
      assert.equal(typeof store.location, "string");
      const full = memory("a", "ns", { kind: "chat", tags: ["x", "y"], createdAt: 1234, meta: { source: "s", n: 2 }, language: "en" });
      assert.deepEqual(await store.memories.put([full, memory("b", "ns", { kind: "doc" }), memory("c", "other")]), new Set());
      const got = await store.memories.get("ns", "a");
      assert.ok(got);
      assert.deepEqual(
        [got.id, got.namespace, got.kind, got.tags, got.createdAt, got.meta, got.codec, [...got.envelope], got.originalLength, got.checksum, got.assetId, got.language, got.contentOf],
        ["a", "ns", "chat", ["x", "y"], 1234, { source: "s", n: 2 }, "raw", [1, 2, 3], 3, 7, null, "en", null],
      );
      assert.equal(typeof got.version, "number");
      assert.equal(await store.memories.get("ns", "zz"), undefined);
      assert.equal(await store.memories.get("nowhere", "a"), undefined);
      const many = await store.memories.getMany([
        { namespace: "other", id: "c" },
        { namespace: "ns", id: "missing" },
        { namespace: "ns", id: "a" },
        { namespace: "nowhere", id: "a" },
      ]);
      assert.deepEqual(many.map((m) => m && `${m.namespace}/${m.id}`), ["other/c", undefined, "ns/a", undefined]);
      assert.deepEqual(await store.memories.getMany([]), []);
      assert.equal(await store.memories.count(), 3);
      assert.equal(await store.memories.count("ns"), 2);
      assert.equal(await store.memories.count("nowhere"), 0);
      assert.deepEqual(await store.memories.namespaces(), ["ns", "other"]);
      assert.deepEqual(ids(await store.memories.list({})), ["a", "b", "c"]);
      assert.deepEqual(ids(await store.memories.list({ namespace: "ns" })), ["a", "b"]);
      assert.deepEqual(ids(await store.memories.list({ kind: "doc" })), ["b"]);
      assert.deepEqual(ids(await store.memories.list({ limit: 1, offset: 1 })), ["b"]);
      assert.deepEqual(await store.memories.list({ namespace: "nowhere" }), []);
      const summary = (await store.memories.list({ namespace: "ns", limit: 1 }))[0] as unknown as Record<string, unknown>;
      assert.ok(!("envelope" in summary), "a summary carries no envelope");
      assert.deepEqual(await store.memories.fingerprints("ns", ["a", "zz", "c"]), new Map([["a", { checksum: 7, originalLength: 3 }]]));
      assert.deepEqual(await store.memories.fingerprints("nowhere", ["a"]), new Map());
    });

    withStore("keeps namespaces apart: the same id in two namespaces", async (store) => {
      await store.memories.put([memory("x", "b", { envelope: Uint8Array.of(2) }), memory("x", "a", { envelope: Uint8Array.of(1) })]);
      assert.deepEqual(await store.memories.namespacesOf("x"), ["a", "b"]);
      assert.deepEqual(await store.memories.namespacesOf("y"), []);
      assert.deepEqual(bytesOf(await store.memories.get("a", "x")), [1]);
      assert.deepEqual(bytesOf(await store.memories.get("b", "x")), [2]);
      await store.memories.put([memory("x", "a", { envelope: Uint8Array.of(3) })]);
      assert.deepEqual(bytesOf(await store.memories.get("b", "x")), [2], "a rewrite in a leaves b alone");
      assert.equal(await store.memories.delete("a", "x"), true);
      assert.equal(await store.memories.delete("a", "x"), false);
      assert.equal(await store.memories.delete("nowhere", "x"), false);
      assert.deepEqual(bytesOf(await store.memories.get("b", "x")), [2]);
      assert.deepEqual(await store.memories.namespacesOf("x"), ["b"]);
    });

    withStore("a rewrite raises the version; replaceEnvelopes applies only at the version read", async (store) => {
      await store.memories.put([memory("m"), memory("n"), memory("gone")]);
      const m = await store.memories.get("ns", "m");
      const gone = await store.memories.get("ns", "gone");
      const n0 = await store.memories.get("ns", "n");
      assert.ok(m?.version !== undefined && gone?.version !== undefined && n0?.version !== undefined);
      await store.memories.put([{ ...memory("n"), meta: { touched: true } }]);
      const n = await store.memories.get("ns", "n");
      assert.ok(n?.version !== undefined && n.version > n0.version, "a rewrite raises the version");
      await store.memories.delete("ns", "gone");
      const update = { namespace: "ns", codec: "zstd", envelope: Uint8Array.of(9), assetId: null };
      const applied = await store.memories.replaceEnvelopes([
        { ...update, id: "m", version: m.version },
        { ...update, id: "n", version: n0.version },
        { ...update, id: "gone", version: gone.version },
        { ...update, namespace: "nowhere", id: "m", version: m.version },
      ]);
      assert.equal(applied, 1);
      const after = await store.memories.get("ns", "m");
      assert.deepEqual([after?.codec, bytesOf(after)], ["zstd", [9]]);
      assert.ok((after?.version as number) > m.version, "the rewrite raised the version");
      assert.deepEqual([(await store.memories.get("ns", "n"))?.codec, (await store.memories.get("ns", "n"))?.meta], ["raw", { touched: true }], "a stale rewrite changes nothing");
      assert.equal(await store.memories.get("ns", "gone"), undefined, "a deleted memory stays deleted");
      assert.equal(await store.memories.replaceEnvelopes([{ ...update, id: "m", version: m.version }]), 0, "the old version no longer matches");
      assert.equal(await store.memories.replaceEnvelopes([]), 0);
    });

    withStore("keeps history: a replaced text becomes a numbered, dated version; a stale replace is refused; delete drops it", async (store) => {
      const version = (text: string, over: Partial<VersionInput> = {}): VersionInput => ({
        kind: "note", tags: ["a"], meta: { k: 1 }, replacedAt: 100, codec: "raw", payload: new TextEncoder().encode(text), originalLength: text.length, checksum: 7, ...over,
      });
      assert.deepEqual(await store.memories.history("ns", "a"), []);
      await store.memories.put([memory("a", "ns", { createdAt: 50 }), memory("b", "ns"), memory("a", "other")]);
      // v1 (checksum 7) replaced at 100 by checksum 8; v2 (checksum 8) replaced at 200 in the same batch as another write.
      await store.memories.put([memory("a", "ns", { checksum: 8, createdAt: 50, replaces: version("abc", { language: "en" }) })]);
      await store.memories.put([
        memory("b", "ns", { tags: [] }),
        memory("a", "ns", { checksum: 9, originalLength: 4, createdAt: 50, replaces: version("xyz", { kind: "chat", tags: [], meta: {}, replacedAt: 200, checksum: 8, codec: "zstd-delta" }) }),
      ]);
      const kept = await store.memories.history("ns", "a");
      assert.deepEqual(
        kept.map((v) => [v.version, v.kind, v.tags, v.meta, v.language, v.createdAt, v.replacedAt, v.codec, new TextDecoder().decode(v.payload), v.originalLength, v.checksum]),
        [
          [1, "note", ["a"], { k: 1 }, "en", 50, 100, "raw", "abc", 3, 7],
          [2, "chat", [], {}, undefined, 100, 200, "zstd-delta", "xyz", 3, 8],
        ],
      );
      assert.deepEqual(await store.memories.history("other", "a"), []);
      assert.deepEqual(await store.memories.historyUsage(), { versions: 2, originalBytes: 6, storedBytes: 6 });
      assert.deepEqual(await store.memories.historyUsage("other"), { versions: 0, originalBytes: 0, storedBytes: 0 });
      // The row holds checksum 9 now: a write that says it replaces checksum 8 is refused, and writes nothing.
      await assert.rejects(store.memories.put([memory("b", "ns", { checksum: 5 }), memory("a", "ns", { checksum: 10, replaces: version("q", { checksum: 8 }) })]), { code: "E_CONFLICT", message: /changed while/ });
      assert.equal((await store.memories.get("ns", "b"))?.checksum, 7);
      assert.equal((await store.memories.history("ns", "a")).length, 2);
      assert.equal(await store.memories.delete("ns", "a"), true);
      assert.deepEqual(await store.memories.history("ns", "a"), []);
      assert.deepEqual(await store.memories.historyUsage("ns"), { versions: 0, originalBytes: 0, storedBytes: 0 });
      // A memory written again under a deleted id starts a new history.
      await store.memories.put([memory("a", "ns")]);
      await store.memories.put([memory("a", "ns", { checksum: 8, replaces: version("abc") })]);
      assert.deepEqual((await store.memories.history("ns", "a")).map((v) => v.version), [1]);
    });

    withStore("refuses a write whose expectation of the row no longer holds (E_CONFLICT, nothing of the batch written)", async (store) => {
      // Two writers both saw no row "k": the first commits, the second (expecting none) is refused and its batch rolled back.
      await store.memories.put([memory("k", "ns", { checksum: 11, expected: null })]);
      await assert.rejects(store.memories.put([memory("other", "ns", { expected: null }), memory("k", "ns", { checksum: 12, expected: null })]), {
        code: "E_CONFLICT",
        message: /memory k was created by another writer while this write was prepared/,
      });
      assert.equal((await store.memories.get("ns", "k"))?.checksum, 11);
      assert.equal(await store.memories.get("ns", "other"), undefined);
      // A writer that saw checksum 11 (same text, new metadata) is refused once another writer changed the text.
      await store.memories.put([memory("k", "ns", { checksum: 13, expected: { checksum: 11, originalLength: 3 } })]);
      await assert.rejects(store.memories.put([memory("k", "ns", { checksum: 11, tags: ["b"], expected: { checksum: 11, originalLength: 3 } })]), { code: "E_CONFLICT", message: /changed while/ });
      assert.equal((await store.memories.get("ns", "k"))?.checksum, 13);
      // A row deleted since the writer looked is refused too; an expectation of none in another namespace holds.
      await store.memories.put([memory("gone", "ns")]);
      assert.equal(await store.memories.delete("ns", "gone"), true);
      await assert.rejects(store.memories.put([memory("gone", "ns", { expected: { checksum: 7, originalLength: 3 } })]), { code: "E_CONFLICT", message: /was deleted/ });
      await store.memories.put([memory("k", "other", { expected: null })]);
      // Within one batch the second write of a memory expects the first's row.
      await store.memories.put([memory("b1", "ns", { checksum: 20, expected: null }), memory("b1", "ns", { checksum: 21, expected: { checksum: 20, originalLength: 3 } })]);
      assert.equal((await store.memories.get("ns", "b1"))?.checksum, 21);
      // Matching expectations write; none given writes whatever the row holds (as before).
      await store.memories.put([memory("k", "ns", { checksum: 14, expected: { checksum: 13, originalLength: 3 } }), memory("k", "other", { checksum: 15 })]);
      assert.deepEqual([(await store.memories.get("ns", "k"))?.checksum, (await store.memories.get("other", "k"))?.checksum], [14, 15]);
    });

    withStore("refuses a write whose expected version is not the row's: a change of metadata alone is seen (E_CONFLICT)", async (store) => {
      await store.memories.put([memory("v", "ns", { checksum: 30, meta: { a: 1 } })]);
      const read = (await store.memories.get("ns", "v")) as StoredMemory;
      assert.equal(typeof read.version, "number");
      const seen = { checksum: read.checksum, originalLength: read.originalLength, version: read.version as number };
      // Another writer changes the meta only: same text, so only the version tells the rows apart.
      await store.memories.put([memory("v", "ns", { checksum: 30, meta: { a: 1, b: 2 } })]);
      await assert.rejects(store.memories.put([memory("v", "ns", { checksum: 30, meta: { a: 1, c: 3 }, expected: seen })]), { code: "E_CONFLICT", message: /memory v changed while/ });
      assert.deepEqual((await store.memories.get("ns", "v"))?.meta, { a: 1, b: 2 });
      // Read again, the expectation holds and the write lands.
      const again = (await store.memories.get("ns", "v")) as StoredMemory;
      assert.notEqual(again.version, read.version);
      await store.memories.put([memory("v", "ns", { checksum: 30, meta: { a: 1, b: 2, c: 3 }, expected: { checksum: 30, originalLength: again.originalLength, version: again.version as number } })]);
      assert.deepEqual((await store.memories.get("ns", "v"))?.meta, { a: 1, b: 2, c: 3 });
    });

    withStore("deletes with an expected version only while the row is at it (E_CONFLICT, nothing deleted, otherwise)", async (store) => {
      await store.memories.put([memory("d", "ns", { meta: { a: 1 } })]);
      const read = (await store.memories.get("ns", "d")) as StoredMemory;
      await store.memories.put([memory("d", "ns", { meta: { a: 2 } })]);
      await assert.rejects(store.memories.delete("ns", "d", read.version), { code: "E_CONFLICT", message: /memory d changed while this delete was prepared/ });
      assert.deepEqual((await store.memories.get("ns", "d"))?.meta, { a: 2 }, "nothing deleted");
      const again = (await store.memories.get("ns", "d")) as StoredMemory;
      assert.equal(await store.memories.delete("ns", "d", again.version), true);
      assert.equal(await store.memories.get("ns", "d"), undefined);
      assert.equal(await store.memories.delete("ns", "d", again.version), false, "a missing row is false, as without a version");
    });

    withStore("a memory deleted and written again under its id never matches a version read before: no rewrite, update or delete meant for the old one lands on it", async (store) => {
      // The same row twice: a writer (a recode, an update, a conditional forget) read the first one, then the id was
      // forgotten and remembered again before that writer committed.
      await store.memories.put([memory("x", "ns", { meta: { v: 1 } }), memory("y", "ns", { meta: { v: 1 } })]);
      const old = (await store.memories.get("ns", "x")) as StoredMemory;
      const oldY = (await store.memories.get("ns", "y")) as StoredMemory;
      await store.memories.delete("ns", "x");
      await store.memories.delete("ns", "y");
      // A new text for x; y again with its old text (the same checksum and length) and new meta.
      await store.memories.put([memory("x", "ns", { envelope: Uint8Array.of(4, 5, 6, 7), originalLength: 4, checksum: 9, meta: { v: 2 } }), memory("y", "ns", { meta: { v: 2 } })]);
      const fresh = (await store.memories.get("ns", "x")) as StoredMemory;
      assert.notEqual(fresh.version, old.version, "a row written again has a version no earlier row of its id had");
      // A recode of the old text, prepared from the first read: the old text's envelope must not replace the new one.
      const recode = { namespace: "ns", codec: "zstd", envelope: Uint8Array.of(1, 2, 3), assetId: null };
      assert.equal(await store.memories.replaceEnvelopes([{ ...recode, id: "x", version: old.version as number }, { ...recode, id: "y", version: oldY.version as number }]), 0);
      assert.deepEqual(bytesOf(await store.memories.get("ns", "x")), [4, 5, 6, 7], "the new text's envelope is kept");
      // An update merged from the first read (same text as y now holds): refused, the new meta kept.
      const seenY = { checksum: oldY.checksum, originalLength: oldY.originalLength, version: oldY.version as number };
      await assert.rejects(store.memories.put([memory("y", "ns", { meta: { v: 1, patched: true }, expected: seenY })]), { code: "E_CONFLICT" });
      assert.deepEqual((await store.memories.get("ns", "y"))?.meta, { v: 2 });
      // A forget conditional on the first read: refused, nothing deleted.
      await assert.rejects(store.memories.delete("ns", "y", oldY.version), { code: "E_CONFLICT" });
      await assert.rejects(store.memories.delete("ns", "x", old.version), { code: "E_CONFLICT" });
      assert.deepEqual([(await store.memories.get("ns", "x"))?.meta, (await store.memories.get("ns", "y"))?.meta], [{ v: 2 }, { v: 2 }]);
    });

    withStore("deduplicates content: a second memory of the namespace with the same text is a reference reading the holder's envelope", async (store) => {
      const text = "a text two memories share";
      const hashOfText = shared("?", "?", text).contentHash as Uint8Array;
      assert.deepEqual(await store.memories.put([shared("h", "a", text)]), new Set());
      const references = await store.memories.put([shared("r", "a", text, { envelope: Uint8Array.of(1) }), shared("own", "a", "another text")]);
      assert.deepEqual(references, new Set([memoryKey("a", "r")]));
      const holder = await store.memories.get("a", "h");
      const reference = await store.memories.get("a", "r");
      assert.deepEqual(bytesOf(reference), bytesOf(holder), "the reference reads the holder's envelope");
      assert.equal(reference?.contentOf, "h");
      assert.equal(holder?.contentOf, null);
      assert.ok(reference?.contentHash && reference.contentHash.length > 0);
      const found = await store.memories.findContent("a", hashOfText, text.length * 7919, text.length);
      assert.deepEqual(found && { ...found, envelope: [...found.envelope] }, { namespace: "a", id: "h", codec: "raw", storedBytes: text.length, envelope: [...new TextEncoder().encode(text)] });
      assert.equal(await store.memories.findContent("a", hashOfText, 1, text.length), undefined, "another checksum is another text");
      assert.equal(await store.memories.findContent("b", hashOfText, text.length * 7919, text.length), undefined, "another namespace finds nothing");
      assert.equal(await store.memories.findContent("nowhere", hashOfText, text.length * 7919, text.length), undefined);
      // Hand-over on delete: the holder goes, the reference still reads the same envelope and holds it now.
      assert.equal(await store.memories.delete("a", "h"), true);
      const handed = await store.memories.get("a", "r");
      assert.deepEqual(bytesOf(handed), [...new TextEncoder().encode(text)]);
      assert.equal(handed?.contentOf, null);
      assert.equal((await store.memories.findContent("a", hashOfText, text.length * 7919, text.length))?.id, "r");
      // A rewrite of a holder's envelope is what its references read; a reference itself is never rewritten.
      await store.memories.put([shared("r2", "a", text)]);
      const [holderNow, referenceNow] = await store.memories.getMany([{ namespace: "a", id: "r" }, { namespace: "a", id: "r2" }]);
      assert.equal(referenceNow?.contentOf, "r");
      const update = { codec: "zstd", envelope: Uint8Array.of(4, 2), assetId: null };
      assert.equal(await store.memories.replaceEnvelopes([{ ...update, namespace: "a", id: "r2", version: referenceNow?.version as number }]), 0);
      assert.equal(await store.memories.replaceEnvelopes([{ ...update, namespace: "a", id: "r", version: holderNow?.version as number }]), 1);
      const follower = await store.memories.get("a", "r2");
      assert.deepEqual([follower?.codec, bytesOf(follower)], ["zstd", [4, 2]]);
    });

    withStore("addresses content within a namespace only: another namespace's copy of a text keeps its own envelope", async (store) => {
      const text = "The user prefers green tea, no sugar.";
      const hashOfText = shared("?", "?", text).contentHash as Uint8Array;
      const own = [...new TextEncoder().encode(text)];
      assert.deepEqual(await store.memories.put([shared("tea", "agent-7", text)]), new Set());
      // B writes A's exact text (alone, and in a batch with a second copy of its own): no reference to A's row.
      assert.deepEqual(await store.memories.put([shared("tea", "agent-8", text), shared("tea2", "agent-8", text)]), new Set([memoryKey("agent-8", "tea2")]));
      const [a, b, b2] = await store.memories.getMany([{ namespace: "agent-7", id: "tea" }, { namespace: "agent-8", id: "tea" }, { namespace: "agent-8", id: "tea2" }]);
      assert.equal(b?.contentOf, null, "B holds its own envelope");
      assert.deepEqual(bytesOf(b), own);
      assert.equal(b2?.contentOf, "tea", "B's second copy refers to B's row");
      assert.equal((await store.memories.findContent("agent-8", hashOfText, text.length * 7919, text.length))?.namespace, "agent-8");
      assert.equal((await store.memories.findContent("agent-7", hashOfText, text.length * 7919, text.length))?.namespace, "agent-7");
      // A second write of the text in A still dedupes, to A's row.
      assert.deepEqual(await store.memories.put([shared("tea-again", "agent-7", text)]), new Set([memoryKey("agent-7", "tea-again")]));
      assert.equal((await store.memories.get("agent-7", "tea-again"))?.contentOf, "tea");
      // Deleting A's holder hands its text to A's reference; B is untouched.
      assert.equal(await store.memories.delete("agent-7", "tea"), true);
      assert.deepEqual([(await store.memories.get("agent-7", "tea-again"))?.contentOf, bytesOf(await store.memories.get("agent-7", "tea-again"))], [null, own]);
      assert.deepEqual([(await store.memories.get("agent-8", "tea"))?.contentOf, bytesOf(await store.memories.get("agent-8", "tea"))], [null, own]);
      assert.deepEqual(bytesOf(a), own);
      // A text released in one namespace within a batch is not handed to a memory of another namespace that names it.
      await store.memories.put([shared("x", "agent-7", "released text")]);
      await assert.rejects(store.memories.put([shared("x", "agent-7", "x's new text"), shared("y", "agent-8", "released text", { envelope: new Uint8Array(0) })]), { code: "E_STORE" });
      assert.equal(await store.memories.get("agent-8", "y"), undefined);
      assert.deepEqual(bytesOf(await store.memories.get("agent-7", "x")), [...new TextEncoder().encode("released text")], "the failed batch wrote nothing");
    });

    withStore("hands a holder's envelope over when the holder takes another text, in the same batch too", async (store) => {
      const old = "the old text of X";
      await store.memories.put([shared("X", "ns", old), shared("R", "ns", old)]);
      // X changes its text: R, which referenced it, now holds the old text.
      await store.memories.put([shared("X", "ns", "X says something else")]);
      assert.deepEqual(bytesOf(await store.memories.get("ns", "R")), [...new TextEncoder().encode(old)]);
      assert.equal((await store.memories.get("ns", "R"))?.contentOf, null);
      // One batch: X2 changes its text and Y names X2's old text with an empty envelope (it was found as X2's).
      await store.memories.put([shared("X2", "ns", "second old text")]);
      await store.memories.put([shared("X2", "ns", "second new text"), shared("Y", "ns", "second old text", { envelope: new Uint8Array(0) })]);
      assert.deepEqual(bytesOf(await store.memories.get("ns", "Y")), [...new TextEncoder().encode("second old text")]);
      assert.deepEqual(bytesOf(await store.memories.get("ns", "X2")), [...new TextEncoder().encode("second new text")]);
    });

    withStore("a failing batch writes nothing", async (store) => {
      await assert.rejects(store.memories.put([memory("x"), memory("y", "ns", { assetId: "missing-asset" })]), { code: "E_MISSING_ASSET" });
      await assert.rejects(store.memories.put([memory("z", "ns", { kind: "poem" as "note" })]), { code: "E_INVALID_INPUT" });
      assert.equal(await store.memories.count(), 0);
    });

    withStore("keeps summaries and entities beside a memory", async (store) => {
      const semantic = { summary: "short", entities: [{ type: "person", text: "Ann", start: 0, end: 3 }], source: "test/model" };
      await store.memories.put([memory("s", "ns", { semantic }), memory("plain")]);
      assert.deepEqual(await store.memories.getSemantic("ns", "s"), semantic);
      assert.equal(await store.memories.getSemantic("ns", "plain"), undefined);
      assert.equal(await store.memories.getSemantic("nowhere", "s"), undefined);
      await store.memories.delete("ns", "s");
      assert.equal(await store.memories.getSemantic("ns", "s"), undefined);
    });

    withStore("a new text written without summary and entities drops the old text's; a write of the same text keeps them (trial44)", async (store) => {
      const semantic = { summary: "the old plan", entities: [{ type: "place", text: "Oslo", start: 0, end: 4 }], source: "test/model" };
      await store.memories.put([memory("s", "ns", { semantic }), memory("t", "ns", { semantic, checksum: 8 })]);
      // Metadata only (the same text): the features stay.
      await store.memories.put([memory("s", "ns", { tags: ["b"] })]);
      assert.deepEqual(await store.memories.getSemantic("ns", "s"), semantic);
      // Another text with no features of its own (semantic off, or its backend down): they described a text that is gone.
      await store.memories.put([memory("s", "ns", { envelope: Uint8Array.of(4, 5, 6, 7), originalLength: 4, checksum: 9 })]);
      assert.equal(await store.memories.getSemantic("ns", "s"), undefined);
      // Another text with its own: those.
      const fresh = { ...semantic, summary: "groceries" };
      await store.memories.put([memory("t", "ns", { envelope: Uint8Array.of(4, 5, 6, 8), originalLength: 4, checksum: 10, semantic: fresh })]);
      assert.deepEqual(await store.memories.getSemantic("ns", "t"), fresh);
    });

    withStore("scans in insertion order in batches, by namespace, across writes between batches, and stops when aborted", async (store) => {
      const all = Array.from({ length: 25 }, (_, i) => memory(`m${i}`, i % 2 ? "odd" : "even"));
      await store.memories.put(all);
      assert.deepEqual(ids(await collect(store.memories.scan())), ids(all));
      assert.deepEqual(ids(await collect(store.memories.scan({ batchSize: 3 }))), ids(all));
      assert.deepEqual(ids(await collect(store.memories.scan({ namespace: "odd", batchSize: 4 }))), ids(all.filter((_, i) => i % 2)));
      assert.deepEqual(await collect(store.memories.scan({ namespace: "nowhere" })), []);
      const first = (await collect(store.memories.scan({ batchSize: 1 })))[0];
      assert.deepEqual(bytesOf(first), [1, 2, 3]);
      // The caller may write while a scan is under way (nothing stays open between batches).
      const seen: string[] = [];
      for await (const m of store.memories.scan({ batchSize: 5 })) {
        seen.push(m.id);
        if (m.id === "m2") {
          await store.memories.delete("even", "m10");
          await store.memories.put([memory("late", "even")]);
        }
      }
      assert.deepEqual(seen, [...ids(all).filter((id) => id !== "m10"), "late"]);
      // The event loop runs between batches.
      let ran = false;
      setImmediate(() => (ran = true));
      let ranBeforeLast = false;
      for await (const m of store.memories.scan({ batchSize: 2 })) if (m.id === "late") ranBeforeLast = ran;
      assert.ok(ranBeforeLast);
      const controller = new AbortController();
      const read: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const m of store.memories.scan({ batchSize: 4, signal: controller.signal })) {
            read.push(m.id);
            if (read.length === 6) controller.abort();
          }
        })(),
        { name: "AbortError" },
      );
      assert.equal(read.length, 6, "nothing is yielded after the abort");
      await assert.rejects(collect(store.memories.scan({ signal: AbortSignal.abort() })), { name: "AbortError" });
    });

    withStore("counts a codec's memories whose rows name no stored asset, per namespace (cm coded with a base shipped with memzip)", async (store) => {
      const snapshot = asset(1, { kind: "cm-snapshot", namespace: "a" });
      await store.assets.put(snapshot);
      await store.memories.put([
        memory("b1", "b", { codec: "cm" }),
        memory("a1", "a", { codec: "cm" }),
        memory("a2", "a", { codec: "cm" }),
        memory("own", "a", { codec: "cm", assetId: snapshot.id }),
        memory("z", "c", { codec: "zstd" }),
        memory("r", "c"),
        // The same text in two namespaces: each holds it.
        textMemory("t1", "a", "a text both read", { codec: "cm" }),
        textMemory("t2", "c", "a text both read", { codec: "cm" }),
      ]);
      assert.deepEqual(await store.memories.countWithoutAsset("cm"), [
        { namespace: "a", memories: 3 },
        { namespace: "b", memories: 1 },
        { namespace: "c", memories: 1 },
      ]);
      assert.deepEqual(await store.memories.countWithoutAsset("cm", "a"), [{ namespace: "a", memories: 3 }]);
      assert.deepEqual(await store.memories.countWithoutAsset("cm", "nowhere"), []);
      assert.deepEqual(await store.memories.countWithoutAsset("zstd"), [{ namespace: "c", memories: 1 }]);
      assert.deepEqual(await store.memories.countWithoutAsset("llm"), []);
    });

    withStore("accounts bytes by codec and footprint; a text in two namespaces is held (and charged) in each", async (store) => {
      const text = "a text both namespaces read";
      await store.assets.put(asset(1));
      await store.memories.put([
        shared("h", "a", text),
        memory("z", "a", { codec: "zstd", envelope: Uint8Array.of(1), assetId: asset(1).id }),
        shared("r", "b", text),
        memory("own", "b", { envelope: Uint8Array.of(1, 2), originalLength: 2 }),
      ]);
      await store.assets.put(asset(2, { namespace: "a" }));
      const n = text.length;
      assert.deepEqual(await store.memories.usageByCodec(), [
        { codec: "raw", memories: 3, originalBytes: n + n + 2, storedBytes: n + n + 2 },
        { codec: "zstd", memories: 1, originalBytes: 3, storedBytes: 1 },
      ]);
      assert.deepEqual(await store.memories.usageByCodec("b"), [{ codec: "raw", memories: 2, originalBytes: n + 2, storedBytes: n + 2 }]);
      assert.deepEqual(await store.memories.usageByCodec("nowhere"), []);
      assert.deepEqual(await store.memories.footprint(), { memories: 4, originalBytes: 2 * n + 5, envelopeBytes: 2 * n + 3, assetBytes: 10, unusedAssetBytes: 20 });
      assert.deepEqual(await store.memories.footprint("a"), { memories: 2, originalBytes: n + 3, envelopeBytes: n + 1, assetBytes: 10, unusedAssetBytes: 20 });
      assert.deepEqual(await store.memories.footprint("b"), { memories: 2, originalBytes: n + 2, envelopeBytes: n + 2, assetBytes: 0, unusedAssetBytes: 0 });
    });

    withStore("keeps assets: put, get, by reference, list, usage, active per namespace, learned-from, guarded delete", async (store) => {
      const one = asset(1, { meta: { samples: 42 } });
      const two = asset(2, { namespace: null });
      await store.assets.put(one);
      await store.assets.put(two);
      await store.assets.put({ ...one, bytes: Uint8Array.of(0) });
      const got = await store.assets.get(one.id);
      assert.deepEqual(got && { ...got, bytes: [...got.bytes] }, { ...one, bytes: [...one.bytes] }, "an asset with the same id is kept as it was");
      assert.equal(await store.assets.get("ff".repeat(32)), undefined);
      assert.equal((await store.assets.getByRef(Buffer.from(two.id.slice(0, 8), "hex")))?.id, two.id);
      assert.equal(await store.assets.getByRef(Uint8Array.of(0xee, 0xee, 0xee, 0xee)), undefined);
      await assert.rejects(store.assets.put(asset(1, { id: `${one.id.slice(0, 16)}${"ee".repeat(24)}` })), { code: "E_STORE" });
      // A version 2 hint (the first id byte) names every asset starting with it, oldest first; the store takes a second
      // asset sharing the hint (its 4-byte reference differs).
      const sharing = asset(3, { id: `01ee${"33".repeat(30)}`, createdAt: 3 });
      await store.assets.put(sharing);
      assert.deepEqual(await store.assets.idsByHint(Uint8Array.of(0x01)), [one.id, sharing.id]);
      assert.deepEqual(await store.assets.idsByHint(Uint8Array.of(0x02)), [two.id]);
      assert.deepEqual(await store.assets.idsByHint(Uint8Array.of(0x01, 0xee)), [sharing.id]);
      assert.deepEqual(await store.assets.idsByHint(Uint8Array.of(0xee)), []);
      assert.equal(await store.assets.delete(sharing.id), true);
      assert.deepEqual(ids(await store.assets.list()), [one.id, two.id]);
      await store.memories.put([memory("a", "ns", { assetId: one.id }), memory("b", "other", { assetId: one.id })]);
      assert.deepEqual(await store.assets.usage(), [
        { id: one.id, kind: "zstd-dictionary", namespace: "ns", size: 10, memories: 2 },
        { id: two.id, kind: "zstd-dictionary", namespace: null, size: 20, memories: 0 },
      ]);
      assert.deepEqual((await store.assets.usage("other")).map((u) => u.memories), [1, 0]);
      assert.deepEqual((await store.assets.usage("nowhere")).map((u) => u.memories), [0, 0]);
      assert.equal(await store.assets.active("ns", "zstd-dictionary"), undefined);
      assert.equal(await store.assets.isActive(one.id), false);
      await store.assets.setActive("ns", "zstd-dictionary", one.id);
      await store.assets.setActive("fresh", "cm-snapshot", two.id);
      assert.equal(await store.assets.active("ns", "zstd-dictionary"), one.id);
      assert.equal(await store.assets.active("ns", "cm-snapshot"), undefined);
      assert.equal(await store.assets.active("fresh", "cm-snapshot"), two.id);
      assert.equal(await store.assets.isActive(one.id), true);
      assert.equal(await store.assets.learnedFrom("ns", "zstd-dictionary"), 42);
      assert.equal(await store.assets.learnedFrom("nowhere", "zstd-dictionary"), 0);
      // A training measured against the active asset and lost: the active one stays, learnedFrom counts the training.
      assert.equal(await store.assets.keepActive("ns", "zstd-dictionary", two.id, 90), false, "not the active asset: nothing changes");
      assert.equal(await store.assets.keepActive("nowhere", "zstd-dictionary", one.id, 90), false);
      assert.equal(await store.assets.learnedFrom("ns", "zstd-dictionary"), 42);
      assert.equal(await store.assets.keepActive("ns", "zstd-dictionary", one.id, 90), true);
      assert.equal(await store.assets.learnedFrom("ns", "zstd-dictionary"), 90);
      assert.equal(await store.assets.active("ns", "zstd-dictionary"), one.id);
      assert.equal(await store.assets.learnedFrom("fresh", "cm-snapshot"), Number(two.meta.samples ?? 0), "another namespace's count stays");
      await store.assets.setActive("ns", "zstd-dictionary", one.id);
      await assert.rejects(store.assets.setActive("ns", "zstd-dictionary", "ff".repeat(32)), { code: "E_MISSING_ASSET" });
      assert.equal(await store.assets.delete(one.id), false, "refused while memories need it");
      assert.ok(await store.assets.get(one.id));
      await store.memories.delete("ns", "a");
      await store.memories.delete("other", "b");
      assert.equal(await store.assets.delete(one.id), true);
      assert.equal(await store.assets.delete(one.id), false);
      assert.equal(await store.assets.get(one.id), undefined);
      assert.equal(await store.assets.active("ns", "zstd-dictionary"), undefined, "the namespace stops writing with it");
      assert.equal(await store.assets.isActive(one.id), false);
      assert.equal(await store.assets.learnedFrom("ns", "zstd-dictionary"), 42, "kept after the asset is pruned");
      assert.equal(await store.assets.keepActive("ns", "zstd-dictionary", one.id, 7), false, "a removed asset is active nowhere");
      // A first training that lost to what the namespace writes with (no asset of the kind): counted, nothing made active.
      assert.equal(await store.assets.keepActive("ns", "zstd-dictionary", null, 99), true);
      assert.equal(await store.assets.learnedFrom("ns", "zstd-dictionary"), 99);
      assert.equal(await store.assets.active("ns", "zstd-dictionary"), undefined);
      assert.equal(await store.assets.keepActive("other", "cm-snapshot", null, 12), true, "a namespace that never had one");
      assert.equal(await store.assets.learnedFrom("other", "cm-snapshot"), 12);
      assert.equal(await store.assets.keepActive("fresh", "cm-snapshot", null, 5), false, "an asset was activated meanwhile: nothing changes");
      assert.equal(await store.assets.learnedFrom("fresh", "cm-snapshot"), Number(two.meta.samples ?? 0));
      assert.equal(await store.assets.active("fresh", "cm-snapshot"), two.id);
      assert.equal(await store.assets.keepActive("nowhere", "cm-snapshot", null, 5), false);
    });

    withStore("deletes many assets at once, each only where no memory needs it (deleteUnused)", async (store) => {
      // More assets than one batch of the SQLite store's, so that the batches and the lookups across them are tested.
      const many = Array.from({ length: 2_050 }, (_, i) => asset(10 + i, { id: (i + 0x10000).toString(16).padStart(8, "0").padEnd(64, "a"), createdAt: i, bytes: Uint8Array.of(i & 0xff) }));
      for (const a of many) await store.assets.put(a);
      const kept = new Set([0, 999, 1_000, 2_049].map((i) => many[i]?.id as string));
      await store.memories.put([...kept].map((assetId, i) => memory(`m${i}`, i % 2 === 0 ? "ns" : "other", { assetId })));
      const active = many[5]?.id as string;
      await store.assets.setActive("ns", "zstd-dictionary", active);
      const asked = [...many.map((a) => a.id), "ff".repeat(32)];
      const removed = await store.assets.deleteUnused(asked);
      assert.deepEqual(new Set(removed), new Set(many.map((a) => a.id).filter((id) => !kept.has(id))), "every asset no memory needs, and only those");
      assert.equal(removed.length, many.length - kept.size, "each once; the unknown id is left out");
      assert.deepEqual(ids(await store.assets.list()).sort(), [...kept].sort());
      assert.equal(await store.assets.active("ns", "zstd-dictionary"), undefined, "a namespace stops writing with a removed asset");
      assert.deepEqual(await store.assets.deleteUnused([]), []);
      await store.memories.delete("ns", "m0");
      assert.deepEqual(await store.assets.deleteUnused([...kept]), [many[0]?.id], "a memory's delete frees its asset");
    });

    withStore("registers models by content and name, and inference set-ups", async (store) => {
      const first = model(1, "tiny");
      await store.models.put(first);
      await store.models.put(model(2, "small"));
      assert.deepEqual(await store.models.get("tiny"), first);
      assert.deepEqual(await store.models.get(first.fingerprint), first);
      assert.equal(await store.models.get("nothing"), undefined);
      assert.deepEqual(await store.models.getByRef(Buffer.from(first.fingerprint.slice(0, 8), "hex")), first);
      assert.equal(await store.models.getByRef(Uint8Array.of(9, 9, 9, 9)), undefined);
      await store.models.put({ ...first, name: "renamed", path: "/elsewhere.gguf", size: 5, mtime: 6, architecture: "ignored" });
      assert.deepEqual(await store.models.get(first.fingerprint), { ...first, name: "renamed", path: "/elsewhere.gguf", size: 5, mtime: 6 });
      assert.deepEqual((await store.models.list()).map((m) => m.name), ["renamed", "small"]);
      await assert.rejects(store.models.put(model(3, "small")), { code: "E_USAGE" });
      await assert.rejects(store.models.put({ ...model(1, "clash"), fingerprint: `${first.fingerprint.slice(0, 8)}${"ee".repeat(28)}` }), { code: "E_STORE" });
      const engine = { id: "ab".repeat(32), runtime: "node-llama-cpp 3 cpu", settings: { topK: 64, windowTokens: 512, carryTokens: 64 }, createdAt: 5 };
      await store.models.putEngine(engine);
      await store.models.putEngine({ ...engine, runtime: "ignored" });
      assert.deepEqual(await store.models.getEngineByRef(Buffer.from(engine.id.slice(0, 8), "hex")), engine);
      assert.equal(await store.models.getEngineByRef(Uint8Array.of(1, 1, 1, 1)), undefined);
      // Forgetting one model leaves the other; forgetting it again is a no-op; its name and reference are free again.
      assert.equal(await store.models.delete(first.fingerprint), true);
      assert.equal(await store.models.delete(first.fingerprint), false);
      assert.equal(await store.models.get("renamed"), undefined);
      assert.equal(await store.models.getByRef(Buffer.from(first.fingerprint.slice(0, 8), "hex")), undefined);
      assert.deepEqual((await store.models.list()).map((m) => m.name), ["small"]);
      await store.models.put({ ...model(4, "renamed"), fingerprint: `${first.fingerprint.slice(0, 8)}${"ee".repeat(28)}` });
      assert.deepEqual((await store.models.list()).map((m) => m.name), ["small", "renamed"]);
    });

    withStore("keeps import jobs: create, update, get, newest first", async (store) => {
      const job = (id: string, startedAt: number): ImportJob => ({
        id, kind: "jsonl", source: `/data/${id}.jsonl`, sourceSize: 100, sourceMtime: 5, namespace: "ns", status: "running", position: 0, line: 0, startedAt, updatedAt: startedAt, owner: `linux:boot:1:${id.length}:7`,
      });
      await store.jobs.create(job("old", 1));
      await store.jobs.create({ ...job("new", 2), owner: null });
      await store.jobs.update("old", { position: 50, line: 3 });
      await store.jobs.update("old", { status: "interrupted" });
      const old = await store.jobs.get("old");
      assert.deepEqual(old && { ...old, updatedAt: 0 }, { ...job("old", 1), position: 50, line: 3, status: "interrupted", updatedAt: 0 });
      // The process that runs it: kept, replaced by a resume's, absent where none was made.
      assert.equal((await store.jobs.get("new"))?.owner, null);
      await store.jobs.update("new", { status: "running", owner: "linux:boot:1:9:9" });
      assert.equal((await store.jobs.get("new"))?.owner, "linux:boot:1:9:9");
      // Two resumes that read the same row: the first takes it, the second (same row as read) is refused.
      const seen = (await store.jobs.get("old")) as ImportJob;
      assert.equal(await store.jobs.claim("old", seen, "linux:boot:1:1:1"), true);
      assert.equal(await store.jobs.claim("old", seen, "linux:boot:1:2:2"), false);
      const taken = await store.jobs.get("old");
      assert.deepEqual([taken?.status, taken?.owner, taken?.position], ["running", "linux:boot:1:1:1", 50]);
      // A row not as read (another status, owner or last save) is not taken; as read, it is.
      await store.jobs.update("new", { status: "interrupted" });
      const row = (await store.jobs.get("new")) as ImportJob;
      assert.equal(await store.jobs.claim("new", { ...row, status: "running" }, null), false, "another status");
      assert.equal(await store.jobs.claim("new", { ...row, owner: "linux:boot:1:3:3" }, null), false, "another owner");
      assert.equal(await store.jobs.claim("new", { ...row, updatedAt: row.updatedAt - 1 }, null), false, "another save");
      assert.equal(await store.jobs.claim("new", row, null), true);
      const resumed = await store.jobs.get("new");
      assert.deepEqual([resumed?.status, resumed?.owner], ["running", null]);
      assert.ok((old?.updatedAt ?? 0) > 1, "an update stamps the time");
      assert.equal(await store.jobs.get("none"), undefined);
      assert.deepEqual(ids(await store.jobs.list()), ["new", "old"]);
      assert.deepEqual(ids(await store.jobs.list(1)), ["new"]);
    });

    withStore("keeps a search index: pending, vectors and terms under one key, following deletes and rewrites", async (store) => {
      const search = store.search;
      await store.memories.put([memory("a"), memory("b"), memory("c", "other")]);
      const token = await search.changeToken();
      assert.equal(await search.changeToken(), token, "nothing changed");
      const pending = await search.pending("k1", 10);
      assert.deepEqual(pending.map((p) => `${p.namespace}/${p.id}`), ["ns/a", "ns/b", "other/c"]);
      assert.equal(await search.countPending("k1"), 3);
      assert.deepEqual((await search.pending("k1", 2)).length, 2);
      const [a, b, c] = pending.map((p) => p.seq) as [number, number, number];
      // A walk goes on after the last seq it listed, under the index's key or another's.
      assert.deepEqual((await search.pending("k1", 10, { after: a })).map((p) => p.seq), [b, c]);
      assert.deepEqual((await search.pending("k1", 1, { after: b })).map((p) => p.seq), [c]);
      assert.deepEqual(await search.pending("k1", 10, { after: c }), []);
      assert.deepEqual((await search.pending("k1", 10, { after: a, full: true })).map((p) => p.seq), [b, c]);
      await search.put("k1", [
        { seq: a, vector: Uint8Array.of(1, 1), terms: "atlas migration friday" },
        { seq: b, vector: Uint8Array.of(2, 2), terms: "budget friday 周五" },
      ]);
      assert.notEqual(await search.changeToken(), token, "a write changes the token");
      assert.deepEqual((await search.pending("k1", 10)).map((p) => p.seq), [c]);
      assert.equal(await search.countPending("k1"), 1);
      assert.equal(await search.countPending("k2"), 3, "another key: everything is pending");
      assert.equal((await search.pending("k2", 10)).length, 3);
      assert.deepEqual((await search.pending("k2", 10, { after: a })).map((p) => p.seq), [b, c]);
      assert.deepEqual((await search.pending("k1", 10, { after: c })).map((p) => p.seq), []);
      const vectors = await search.vectors("k1");
      assert.deepEqual({ ...vectors, vectors: vectors.vectors.map((v) => [...v]) }, { seqs: [a, b], ids: ["a", "b"], namespaces: ["ns", "ns"], vectors: [[1, 1], [2, 2]] });
      assert.deepEqual(await search.vectors("k2"), { seqs: [], ids: [], namespaces: [], vectors: [] });
      assert.deepEqual((await search.matching("friday")).sort((x, y) => x - y), [a, b]);
      assert.deepEqual(await search.matching("周五"), [b]);
      assert.deepEqual(await search.matching("nothing"), []);
      assert.equal(await search.documentFrequency("friday"), 2);
      assert.equal(await search.documentFrequency("atlas"), 1);
      assert.equal(await search.documentFrequency("nothing"), 0);
      assert.equal(await search.indexedCount(), 2);
      // A count against a bound: exact up to it, "more" past it.
      assert.equal(await search.indexedCount(5), 2);
      assert.equal(await search.indexedCount(2), 2);
      assert.ok((await search.indexedCount(1)) > 1);
      assert.ok((await search.indexedCount(0)) > 0);
      assert.equal(await search.vectorBytes(), 4);
      const bytes = await search.bytes();
      assert.ok(bytes.vectors > 0 && bytes.terms > 0 && bytes.other >= 0, JSON.stringify(bytes));
      await search.compact();
      assert.deepEqual((await search.matching("friday")).sort((x, y) => x - y), [a, b], "compact keeps the index");
      // A re-put replaces a memory's terms.
      await search.put("k1", [{ seq: a, vector: Uint8Array.of(3, 3), terms: "atlas done" }]);
      assert.deepEqual(await search.matching("friday"), [b]);
      // A deleted or rewritten memory leaves the index; the same text rewritten stays.
      let before = await search.changeToken();
      await store.memories.delete("ns", "b");
      assert.notEqual(await search.changeToken(), before);
      assert.deepEqual(await search.matching("friday"), []);
      await store.memories.put([memory("a", "ns", { meta: { only: "metadata" } })]);
      assert.equal(await search.indexedCount(), 1, "same text: still indexed");
      await store.memories.put([memory("a", "ns", { checksum: 8 })]);
      assert.equal(await search.indexedCount(), 0, "another text: indexed again later");
      assert.deepEqual((await search.pending("k1", 10)).map((p) => p.id), ["a", "c"]);
      // Writing under another key drops the index first; clear empties it.
      await search.put("k1", [{ seq: c, vector: Uint8Array.of(4), terms: "one" }]);
      await search.put("k2", [{ seq: a, vector: Uint8Array.of(5), terms: "two" }]);
      assert.deepEqual((await search.vectors("k2")).ids, ["a"]);
      assert.deepEqual(await search.matching("one"), []);
      before = await search.changeToken();
      await search.clear();
      assert.notEqual(await search.changeToken(), before);
      assert.equal(await search.indexedCount(), 0);
      assert.equal(await search.countPending("k2"), 2);
      assert.equal(await search.vectorBytes(), 0);
    });

    withStore("pages memories by filters with a cursor that holds while others write", async (store) => {
      const day = 86_400_000;
      await store.memories.put([
        memory("a", "ns", { tags: ["x", "y"], createdAt: 1 * day }),
        memory("b", "other", { tags: ["x"], createdAt: 2 * day }),
        memory("c", "ns", { kind: "chat", tags: [], createdAt: 3 * day }),
        memory("d", "ns", { tags: ["y"], createdAt: 4 * day }),
        memory("e", "third", { tags: ["x", "y"], createdAt: 5 * day }),
      ]);
      const all = async (query: Omit<PageQuery, "cursor">): Promise<string[]> => {
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const page = await store.memories.page({ ...query, ...(cursor === undefined ? {} : { cursor }) });
          assert.ok(page.items.length <= query.limit);
          seen.push(...page.items.map((m) => `${m.namespace}/${m.id}`));
          if (page.next === null) return seen;
          cursor = page.next;
        }
        throw new Error("paging did not end");
      };
      assert.deepEqual(await all({ limit: 2 }), ["ns/a", "other/b", "ns/c", "ns/d", "third/e"]);
      assert.deepEqual(await all({ limit: 1, namespaces: ["ns", "third"] }), ["ns/a", "ns/c", "ns/d", "third/e"]);
      assert.deepEqual(await all({ limit: 10, namespaces: [] }), []);
      assert.deepEqual(await all({ limit: 10, namespaces: ["nobody"] }), []);
      assert.deepEqual(await all({ limit: 10, kind: "chat" }), ["ns/c"]);
      assert.deepEqual(await all({ limit: 10, tags: ["x", "y"] }), ["ns/a", "third/e"]);
      assert.deepEqual(await all({ limit: 10, tags: ["y"], namespaces: ["ns"] }), ["ns/a", "ns/d"]);
      assert.deepEqual(await all({ limit: 10, createdFrom: 2 * day, createdBefore: 4 * day }), ["other/b", "ns/c"]);
      const first = await store.memories.page({ limit: 2 });
      assert.deepEqual(first.items.map((m) => m.id), ["a", "b"]);
      assert.deepEqual(first.items[0]?.tags, ["x", "y"]);
      // Writes and deletes between pages move nothing already seen into the next page.
      await store.memories.delete("ns", "c");
      await store.memories.put([memory("f", "ns")]);
      const second = await store.memories.page({ limit: 10, cursor: first.next as string });
      assert.deepEqual(second.items.map((m) => m.id), ["d", "e", "f"]);
      assert.equal(second.next, null);
      await assert.rejects(store.memories.page({ limit: 1, cursor: "not a cursor" }), { code: "E_USAGE" });
    });

    withStore("filters pages by tags any/all, updated time, meta equality and expiry; scans by the same filter", async (store) => {
      const day = 86_400_000;
      await store.memories.put([
        memory("a", "ns", { tags: ["x", "y"], createdAt: 1 * day, meta: { team: "core", n: 1, ok: true, deep: { z: [1, 2] }, score: 0.8333333333333334, pi: Math.PI, big: 2 ** 60 } }),
        memory("b", "ns", { tags: ["x"], createdAt: 2 * day, meta: { team: "web", n: 2, ok: false }, expiresAt: 10 * day }),
        memory("c", "ns", { tags: [], createdAt: 3 * day, meta: { score: 0.833333333333333 } }),
        memory("d", "other", { tags: ["z"], createdAt: 4 * day, meta: { team: "core", n: "1" }, expiresAt: 20 * day }),
      ]);
      const page = async (query: Omit<PageQuery, "limit">): Promise<string[]> => ids((await store.memories.page({ limit: 100, ...query })).items);
      // tags: every one given; anyTags: at least one.
      assert.deepEqual(await page({ tags: ["x", "y"] }), ["a"]);
      assert.deepEqual(await page({ anyTags: ["y", "z"] }), ["a", "d"]);
      assert.deepEqual(await page({ anyTags: ["x"], tags: ["y"] }), ["a"]);
      assert.deepEqual(await page({ anyTags: [] }), ["a", "b", "c", "d"]);
      // meta: each key equal to the JSON value, types kept apart (1 is not "1", true is not 1).
      assert.deepEqual(await page({ meta: { team: "core" } }), ["a", "d"]);
      assert.deepEqual(await page({ meta: { team: "core", n: 1 } }), ["a"]);
      assert.deepEqual(await page({ meta: { n: "1" } }), ["d"]);
      assert.deepEqual(await page({ meta: { ok: true } }), ["a"]);
      assert.deepEqual(await page({ meta: { ok: false } }), ["b"]);
      assert.deepEqual(await page({ meta: { deep: { z: [1, 2] } } }), ["a"]);
      assert.deepEqual(await page({ meta: { team: "nobody" } }), []);
      // Numbers as numbers, to the last digit (trial41: SQLite compared 15 digits and matched neither score where
      // PostgreSQL matched one: rm --where deleted different memories on the two stores).
      assert.deepEqual(await page({ meta: { score: 0.8333333333333334 } }), ["a"]);
      assert.deepEqual(await page({ meta: { score: 0.833333333333333 } }), ["c"]);
      assert.deepEqual(await page({ meta: { pi: Math.PI, big: 2 ** 60 } }), ["a"]);
      assert.deepEqual(await page({ meta: { pi: 3.14159265358979 } }), []);
      // Expiry: activeAt leaves out what expired by then; expiredBy keeps only that.
      assert.equal((await store.memories.get("ns", "b"))?.expiresAt, 10 * day);
      assert.equal((await store.memories.get("ns", "a"))?.expiresAt, undefined);
      assert.deepEqual(await page({ activeAt: 9 * day }), ["a", "b", "c", "d"]);
      assert.deepEqual(await page({ activeAt: 10 * day }), ["a", "c", "d"]);
      assert.deepEqual(await page({ activeAt: 30 * day }), ["a", "c"]);
      assert.deepEqual(await page({ expiredBy: 10 * day }), ["b"]);
      assert.deepEqual(await page({ expiredBy: 20 * day, namespaces: ["other"] }), ["d"]);
      // countExpired: the same numbers, counted in the store.
      assert.deepEqual(
        await Promise.all([store.memories.countExpired(9 * day), store.memories.countExpired(10 * day), store.memories.countExpired(20 * day)]),
        [0, 1, 2],
      );
      assert.deepEqual(
        await Promise.all([store.memories.countExpired(20 * day, "ns"), store.memories.countExpired(20 * day, "other"), store.memories.countExpired(20 * day, "nobody")]),
        [1, 1, 0],
      );
      // Updated time: the creation, until a new text replaces the old one (its replacement time).
      assert.deepEqual(await page({ updatedFrom: 2 * day, updatedBefore: 4 * day }), ["b", "c"]);
      const replaces = { kind: "note" as const, tags: [], meta: {}, replacedAt: 50 * day, codec: "raw", payload: Uint8Array.of(1, 2, 3), originalLength: 3, checksum: 7 };
      await store.memories.put([memory("c", "ns", { tags: [], createdAt: 3 * day, meta: {}, envelope: Uint8Array.of(4, 5), originalLength: 2, checksum: 8, replaces })]);
      assert.deepEqual(await page({ updatedFrom: 50 * day }), ["c"]);
      assert.deepEqual(await page({ updatedBefore: 4 * day }), ["a", "b"]);
      // An update can clear the expiry.
      await store.memories.put([memory("b", "ns", { tags: ["x"], createdAt: 2 * day, meta: { team: "web", n: 2, ok: false } })]);
      assert.equal((await store.memories.get("ns", "b"))?.expiresAt, undefined);
      assert.deepEqual(await page({ expiredBy: 15 * day }), []);
      assert.equal(await store.memories.countExpired(15 * day, "ns"), 0);
      // scan takes the same filter (and its namespace with it).
      assert.deepEqual(ids(await collect(store.memories.scan({ filter: { meta: { team: "core" } } }))), ["a", "d"]);
      assert.deepEqual(ids(await collect(store.memories.scan({ namespace: "ns", filter: { anyTags: ["x", "z"] } }))), ["a", "b"]);
      assert.deepEqual(ids(await collect(store.memories.scan({ batchSize: 1, filter: { activeAt: 25 * day } }))), ["a", "b", "c"]);
      assert.deepEqual(ids(await collect(store.memories.scan({ filter: { namespaces: [] } }))), []);
    });

    withStore("keeps API keys by hash: put, look up, list, revoke once", async (store) => {
      const key = (id: string, seed: number, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
        id,
        hash: new Uint8Array(32).fill(seed),
        role: "write",
        namespaces: ["ns"],
        label: null,
        createdAt: seed,
        revokedAt: null,
        ...overrides,
      });
      await store.keys.put(key("k1", 1, { label: "agent one", namespaces: ["a", "b"] }));
      await store.keys.put(key("k2", 2, { role: "admin", namespaces: ["*"] }));
      await assert.rejects(store.keys.put(key("k1", 3)), { code: "E_USAGE" });
      await assert.rejects(store.keys.put(key("k3", 1)), { code: "E_USAGE" }, "the same hash twice");
      const found = await store.keys.byHash(new Uint8Array(32).fill(1));
      assert.deepEqual(found && { ...found, hash: [...found.hash] }, { ...key("k1", 1, { label: "agent one", namespaces: ["a", "b"] }), hash: [...new Uint8Array(32).fill(1)] });
      assert.equal(await store.keys.byHash(new Uint8Array(32).fill(9)), undefined);
      assert.deepEqual((await store.keys.list()).map((k) => [k.id, k.role, k.namespaces]), [["k1", "write", ["a", "b"]], ["k2", "admin", ["*"]]]);
      assert.equal(await store.keys.revoke("k1", 50), true);
      assert.equal(await store.keys.revoke("k1", 60), false, "revoked once");
      assert.equal(await store.keys.revoke("nope", 60), false);
      assert.equal((await store.keys.byHash(new Uint8Array(32).fill(1)))?.revokedAt, 50);
    });

    withStore("reports its usage, compacts, and closes", async (store) => {
      await store.memories.put(Array.from({ length: 50 }, (_, i) => memory(`m${i}`, "ns", { envelope: new Uint8Array(200).fill(i) })));
      const usage = await store.usage();
      assert.ok(usage.fileBytes > 50 * 200, JSON.stringify(usage));
      assert.ok(usage.indexBytes >= 0 && usage.indexBytes < usage.fileBytes);
      for (let i = 0; i < 40; i++) await store.memories.delete("ns", `m${i}`);
      await store.compact();
      assert.ok((await store.usage()).fileBytes <= usage.fileBytes);
      assert.equal(await store.memories.count(), 10);
      assert.deepEqual(bytesOf(await store.memories.get("ns", "m45")), [...new Uint8Array(200).fill(45)]);
    });
  });
}
