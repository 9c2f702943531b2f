import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CONTEXT_MODEL_DEFAULTS } from "../../src/codec/cm/context-model.js";
import { encodeSnapshot } from "../../src/codec/cm/snapshot.js";
import { openEnvelope, sealEnvelope } from "../../src/codec/envelope.js";
import { CODEC_IDS } from "../../src/codec/ids.js";
import type { StoredAsset } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import { isMemzipError } from "../../src/errors.js";
import { openStore } from "../../src/store/open.js";
import { devCorpus, ROOT, storeOf, tempDir } from "../helpers.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const utf8 = new TextEncoder();

/**
 * Two cm snapshots whose ids share their first byte (a version 2 envelope's whole asset reference)
 * but not their first 4 bytes (so the store takes both): the second learned from other records, one
 * marker record varied until the hash collides (about 256 tries of a sha256).
 */
function collidingSnapshots(): [StoredAsset, StoredAsset] {
  const records = devCorpus().map((r) => utf8.encode(r.text));
  const params = { params: { ...CONTEXT_MODEL_DEFAULTS, tableBits: 16 } };
  const first = encodeSnapshot(records.slice(0, 12), params);
  const firstId = sha256(first);
  for (let k = 0; k < 100_000; k++) {
    const second = encodeSnapshot([...records.slice(12, 24), utf8.encode(`marker ${k}`)], params);
    const id = sha256(second);
    if (id.slice(0, 2) === firstId.slice(0, 2) && id.slice(0, 8) !== firstId.slice(0, 8)) {
      const asset = (bytes: Uint8Array, id: string, namespace: string): StoredAsset => ({ id, kind: "cm-snapshot", bytes, namespace, createdAt: 1, meta: { samples: 12 } });
      return [asset(first, firstId, "a"), asset(second, id, "b")];
    }
  }
  throw new Error("no colliding snapshot found");
}

describe("envelope format version 2 in a store", () => {
  it("two snapshots sharing the hint byte: each memory decodes to its own text, by its row and by its envelope alone; a missing asset is E_MISSING_ASSET", async () => {
    using dir = tempDir();
    const [a, b] = collidingSnapshots();
    const engine = Engine.open({ db: join(dir.path, "s.db"), cmBase: false, cache: "off", workers: 0 });
    const texts = devCorpus().slice(200, 206).map((r) => r.text);
    const envelopes = new Map<string, Uint8Array>();
    try {
      const store = storeOf(engine);
      await store.assets.put(a);
      await store.assets.put(b);
      await store.assets.setActive("a", "cm-snapshot", a.id);
      await store.assets.setActive("b", "cm-snapshot", b.id);
      for (const [i, text] of texts.entries()) {
        const namespace = i % 2 === 0 ? "a" : "b";
        const result = await engine.remember({ id: `m${i}`, namespace, text }, { codec: "cm" });
        assert.equal(result.codec, "cm", `m${i}`);
        const row = await engine.memory(`m${i}`, namespace);
        assert.equal(row.assetId, (namespace === "a" ? a : b).id);
        const opened = openEnvelope(row.envelope, 1 << 20);
        assert.equal(opened.version, 2);
        assert.deepEqual([...(opened.asset ?? [])], [Number.parseInt(a.id.slice(0, 2), 16)], "both namespaces' envelopes carry the same 1-byte hint");
        envelopes.set(text, row.envelope);
      }
      for (const [i, text] of texts.entries()) assert.equal(await engine.recall(`m${i}`), text);
      // Without a row (an export, the API's decode): each candidate the hint names is tried; only the right one passes the checksum.
      for (const [text, envelope] of envelopes) assert.equal(Buffer.from(await engine.decodeBytes(envelope)).toString("utf8"), text);
      assert.deepEqual(await engine.verify(), { checked: texts.length, failed: 0, failures: [] });
      // Sealed: the block rebuilds each version 2 header from the row (its asset's first byte), the texts come back the same.
      await engine.compact();
      for (const [i, text] of texts.entries()) {
        assert.equal(await engine.recall(`m${i}`), text);
        assert.deepEqual(Buffer.from((await engine.memory(`m${i}`)).envelope), Buffer.from(envelopes.get(text) as Uint8Array));
      }
    } finally {
      await engine.close();
    }

    // A store without either snapshot: nothing the hint may name, E_MISSING_ASSET; with only the other one, the
    // wrong candidate never returns text: it fails the checksum (E_CHECKSUM) or, when the wrong model's decode runs far
    // past the end of the payload, the decode itself (E_FORMAT) — which of the two depends on the model's bits (model
    // version 5 gave E_CHECKSUM here, version 6 E_FORMAT).
    const other = Engine.open({ db: join(dir.path, "other.db"), cmBase: false, cache: "off", workers: 0 });
    try {
      const [text, envelope] = [...envelopes][0] as [string, Uint8Array];
      assert.ok(text.length > 0);
      await assert.rejects(other.decodeBytes(envelope), (e) => isMemzipError(e, "E_MISSING_ASSET"));
      await storeOf(other).assets.put(b);
      await assert.rejects(other.decodeBytes(envelope), (e) => isMemzipError(e, "E_CHECKSUM") || isMemzipError(e, "E_FORMAT"));
      await storeOf(other).assets.put(a);
      assert.equal(Buffer.from(await other.decodeBytes(envelope)).toString("utf8"), text);
    } finally {
      await other.close();
    }
  });

  it("a memory written with the shipped base reads back however many stored snapshots share the base's hint byte (review23 E1: the 16-candidate cap cut the base off)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "s.db");
    const text = devCorpus()[300]?.text as string;
    let engine = Engine.open({ db, cmBase: true, cache: "off", workers: 0 });
    try {
      assert.equal((await engine.remember({ id: "m", namespace: "n", text }, { codec: "cm" })).codec, "cm");
      const row = await engine.memory("m", "n");
      assert.equal(row.assetId, null, "coded with the shipped base: the row records no stored asset");
      const hint = Buffer.from(openEnvelope(row.envelope, 1 << 20).asset ?? []).toString("hex");
      // 17 snapshots of other namespaces whose ids start with that byte: one snapshot, varied by trailing bytes its loader ignores.
      const records = devCorpus().slice(0, 3).map((r) => utf8.encode(r.text));
      const snapshot = encodeSnapshot(records, { params: { ...CONTEXT_MODEL_DEFAULTS, tableBits: 16 } });
      const store = storeOf(engine);
      for (let k = 0, made = 0; made < 17; k++) {
        const bytes = new Uint8Array(snapshot.length + 4);
        bytes.set(snapshot);
        new DataView(bytes.buffer).setUint32(snapshot.length, k);
        const id = sha256(bytes);
        if (id.slice(0, 2) !== hint) continue;
        await store.assets.put({ id, kind: "cm-snapshot", bytes, namespace: `o${made}`, createdAt: 1, meta: { samples: 3 } });
        await store.assets.setActive(`o${made}`, "cm-snapshot", id);
        made++;
      }
    } finally {
      await engine.close();
    }
    engine = Engine.open({ db, cmBase: true, cache: "off", workers: 0 });
    try {
      assert.equal(await engine.recall("m", { namespace: "n" }), text);
      assert.equal(Buffer.from(await engine.decodeBytes((await engine.memory("m", "n")).envelope)).toString("utf8"), text, "without its row too: the bases come first");
    } finally {
      await engine.close();
    }
  });

  it("a store written with version 1 envelopes reads as before, takes version 2 writes beside them, and seals both", async () => {
    using dir = tempDir();
    const path = join(dir.path, "v1.db");
    copyFileSync(join(ROOT, "test", "fixtures", "store-v1.db"), path);
    const want = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "store-v1.expected.json"), "utf8")) as { memories: { id: string; namespace: string; text: string; codec: string }[] };
    const store = openStore(path, { seal: true });
    const engine = Engine.create({ store, cache: "off", workers: 0, cmBase: false });
    try {
      for (const m of want.memories) {
        assert.equal((await engine.memory(m.id, m.namespace)).envelope[0], 0xb7, `${m.id} is a version 1 envelope`);
        assert.equal(await engine.recall(m.id, { namespace: m.namespace }), m.text);
      }
      // New writes beside them are version 2, with the namespace's dictionary (named by its hint) where it wins.
      const fresh = want.memories.map((m, i) => ({ id: `new-${i}`, namespace: m.namespace, text: `${m.text} (again)` }));
      for (const m of fresh) await engine.remember(m, { codec: m.namespace === "alpha" ? "zstd-dict" : "zstd" });
      let dict = 0;
      for (const m of fresh) {
        const row = await engine.memory(m.id, m.namespace);
        const opened = openEnvelope(row.envelope, 1 << 20);
        assert.equal(opened.version, 2, m.id);
        if (opened.codecId === CODEC_IDS["zstd-dict"]) {
          dict++;
          assert.equal(opened.asset?.length, 1);
        }
        assert.equal(await engine.recall(m.id, { namespace: m.namespace }), m.text);
      }
      assert.ok(dict > 0, "some new memory is coded with the v1 store's dictionary");
      const all = [...want.memories, ...fresh];
      const before = await Promise.all(all.map(async (m) => (await engine.memory(m.id, m.namespace)).envelope));
      await engine.compact();
      for (const [i, m] of all.entries()) {
        assert.equal(await engine.recall(m.id, { namespace: m.namespace }), m.text);
        assert.deepEqual(Buffer.from((await engine.memory(m.id, m.namespace)).envelope), Buffer.from(before[i] as Uint8Array), `${m.id} envelope byte for byte`);
      }
      assert.equal((await engine.verify()).failed, 0);
    } finally {
      await engine.close();
    }
  });

  it("a version 1 envelope written today (sealEnvelope's version 1) and its version 2 twin decode to the same text", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "s.db"), cmBase: false, cache: "off", workers: 0 });
    try {
      const text = utf8.encode("The deploy to staging failed because the Redis URL was missing from the env file.");
      for (const version of [1, 2] as const) {
        const envelope = sealEnvelope(CODEC_IDS.raw, text, text, {}, version);
        assert.equal(Buffer.from(await engine.decodeBytes(envelope)).toString("utf8"), new TextDecoder().decode(text));
      }
    } finally {
      await engine.close();
    }
  });
});
