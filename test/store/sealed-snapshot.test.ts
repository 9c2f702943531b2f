import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Store, StoredAsset } from "../../src/core/store.js";
import { openStore } from "../../src/store/open.js";
import type { SqliteDatabase } from "../../src/store/sqlite/database.js";
import type { SealedRows } from "../../src/store/sqlite/sealed.js";
import { collect, tempDir } from "../helpers.js";
import { hashOf, textMemory } from "./store-suite.js";

// Review 11, finding 1: a read of both homes (hot `memories`, sealed blocks) must be one snapshot.
// A hook on the reader's sealed side runs another connection's seal or unseal between the read's
// hot statement and its sealed one (as another process committing at that instant would: the
// reader is synchronous, so the commit is there for its next statement). Neither changes a
// memory, so every read must answer exactly what it answered undisturbed.

const ASSET: StoredAsset = { id: "cd".repeat(32), kind: "zstd-dictionary", bytes: new Uint8Array(64).fill(5), namespace: "a", createdAt: 1, meta: {} };
const KEY = "test-key";

const database = (store: Store): SqliteDatabase => (store as unknown as { database: SqliteDatabase }).database;

type Action = "seal" | "unseal";

/** Runs `action` on the writer the first time the reader calls `method` of its sealed rows, then the method itself. */
function hook(reader: Store, writer: Store, method: keyof SealedRows, action: Action): { fired: () => boolean } {
  const sealed = database(reader).sealed as unknown as Record<string, (...args: unknown[]) => unknown>;
  const original = sealed[method] as (...args: unknown[]) => unknown;
  let fired = false;
  sealed[method] = function (this: unknown, ...args: unknown[]) {
    if (!fired) {
      fired = true;
      const w = database(writer);
      // seal: the hot rows h0, h1 move into a block; unseal: the block of m0 (seq 1) moves back into memories.
      if (action === "seal") assert.equal(w.sealed.seal(), 2);
      else w.write(() => w.sealed.unsealAt(1));
    }
    return original.apply(this, args);
  };
  return { fired: () => fired };
}

/** Writer (seals, blocks of 4) and reader on one file: m0..m7 sealed (two blocks), h0 and h1 hot; a search index over every row. */
async function stores(dir: string): Promise<{ writer: Store; reader: Store }> {
  const path = join(dir, "store.db");
  const writer = openStore(path, { seal: true, blockRows: 4 });
  await writer.assets.put(ASSET);
  await writer.memories.put(Array.from({ length: 8 }, (_, i) => textMemory(`m${i}`, i === 6 ? "b" : "a", `text number ${i}`, { assetId: i < 3 ? ASSET.id : null, ...(i % 2 ? { expiresAt: 50 } : {}) })));
  // m0 rewritten (a version in its history) and described (semantic features).
  await writer.memories.put([
    textMemory("m0", "a", "text number 0, again", {
      assetId: ASSET.id,
      semantic: { summary: "sum", entities: [{ text: "Alice", type: "person", start: 0, end: 5 }], source: "test" },
      replaces: { kind: "note", tags: [], meta: {}, replacedAt: 200, codec: "raw", payload: new TextEncoder().encode("text number 0"), originalLength: 13, checksum: 13 * 7919 },
    }),
  ]);
  assert.equal(await writer.seal?.(), 8);
  await writer.memories.put([textMemory("h0", "a", "hot zero", { expiresAt: 40, assetId: ASSET.id }), textMemory("h1", "b", "hot one")]);
  const reader = openStore(path);
  // Vectors for every row but h1 (so one is pending, and the index holds KEY).
  const pending = await reader.search.pending(KEY, 100);
  assert.equal(pending.length, 10);
  await writer.search.put(KEY, pending.filter((p) => p.id !== "h1").map((p) => ({ seq: p.seq, vector: Uint8Array.of(p.seq), terms: `t${p.seq}` })));
  return { writer, reader };
}

const READS: { name: string; method: keyof SealedRows; action: Action; read: (s: Store) => Promise<unknown> }[] = [
  { name: "get", method: "any", action: "unseal", read: (s) => s.memories.get("a", "m0") },
  { name: "getMany", method: "any", action: "unseal", read: (s) => s.memories.getMany([{ namespace: "a", id: "m0" }, { namespace: "a", id: "m1" }, { namespace: "a", id: "h0" }]) },
  { name: "count", method: "count", action: "seal", read: async (s) => [await s.memories.count(), await s.memories.count("a")] },
  { name: "countExpired", method: "countExpired", action: "seal", read: (s) => s.memories.countExpired(100) },
  { name: "list (seal)", method: "rowsAfter", action: "seal", read: (s) => s.memories.list({ namespace: "a" }) },
  { name: "list (unseal)", method: "rowsAfter", action: "unseal", read: (s) => s.memories.list({}) },
  { name: "page (seal)", method: "rowsAfter", action: "seal", read: (s) => s.memories.page({ limit: 100 }) },
  { name: "page (unseal)", method: "rowsAfter", action: "unseal", read: (s) => s.memories.page({ namespaces: ["a"], limit: 100 }) },
  { name: "expired page", method: "expiredSeqs", action: "seal", read: (s) => s.memories.page({ expiredBy: 100, limit: 100 }) },
  { name: "scan (seal)", method: "rowsAfter", action: "seal", read: (s) => collect(s.memories.scan()) },
  { name: "scan (unseal)", method: "rowsAfter", action: "unseal", read: (s) => collect(s.memories.scan({ batchSize: 100 })) },
  { name: "namespacesOf", method: "byIdAnyNamespace", action: "unseal", read: (s) => s.memories.namespacesOf("m0") },
  { name: "fingerprints", method: "byId", action: "unseal", read: async (s) => [...(await s.memories.fingerprints("a", ["m0", "m1", "h0"]))] },
  { name: "findContent", method: "holder", action: "unseal", read: (s) => s.memories.findContent("a", hashOf("text number 1"), 13 * 7919, 13) },
  { name: "getSemantic", method: "any", action: "unseal", read: (s) => s.memories.getSemantic("a", "m0") },
  { name: "history", method: "byId", action: "unseal", read: (s) => s.memories.history("a", "m0") },
  { name: "usageByCodec", method: "usageByCodec", action: "seal", read: (s) => s.memories.usageByCodec() },
  { name: "footprint", method: "usageByCodec", action: "seal", read: (s) => s.memories.footprint() },
  { name: "asset usage", method: "assetCounts", action: "seal", read: (s) => s.assets.usage() },
  { name: "search vectors", method: "any", action: "unseal", read: (s) => s.search.vectors(KEY) },
  { name: "search pending", method: "rowsAfter", action: "unseal", read: async (s) => [await s.search.pending(`${KEY}-other`, 100)] },
  { name: "search countPending", method: "count", action: "seal", read: (s) => s.search.countPending(`${KEY}-other`) },
];

describe("sealed rows: every read of both homes is one snapshot", () => {
  for (const { name, method, action, read } of READS) {
    it(`${name}: another connection's ${action} between its statements changes nothing`, async () => {
      await using dir = tempDir();
      const { writer, reader } = await stores(dir.path);
      try {
        const undisturbed = await read(reader);
        const { fired } = hook(reader, writer, method, action);
        const during = await read(reader);
        assert.ok(fired(), `the hook on ${method} ran`);
        assert.deepEqual(during, undisturbed);
        assert.deepEqual(await read(reader), undisturbed, "and after it");
      } finally {
        await reader.close();
        await writer.close();
      }
    });
  }
});
