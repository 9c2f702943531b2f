import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Asset, Codec } from "../../src/codec/codec.js";
import { CURRENT_MODEL_VERSION } from "../../src/codec/cm/context-model.js";
import { encodeSnapshot, loadSnapshot, readSnapshotHeader } from "../../src/codec/cm/snapshot.js";
import { decodeEnvelope, encodeEnvelope } from "../../src/codec/envelope-codec.js";
import { createCodecs } from "../../src/codec/registry.js";
import { ROOT, devCorpus } from "../helpers.js";

const FIXTURE = join(ROOT, "test", "fixtures", "cm-v2");

interface FixtureRecord {
  codec: "cm" | "cm-ref";
  text: string;
  envelope: string;
}

function asset(bytes: Uint8Array): Asset {
  return { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot", bytes };
}

describe("cm model versions", () => {
  const codecs = createCodecs({ zstdLevel: 19 });
  const old = asset(readFileSync(join(FIXTURE, "snapshot.bin")));
  const { snapshotSha256, records } = JSON.parse(readFileSync(join(FIXTURE, "envelopes.json"), "utf8")) as { snapshotSha256: string; records: FixtureRecord[] };

  it("envelopes written by the first model (snapshot version 2) still decode exactly, and code the same again", () => {
    assert.equal(old.id, snapshotSha256);
    assert.equal(readSnapshotHeader(old.bytes).version, 2);
    assert.ok(records.length >= 15);
    for (const record of records) {
      const decoded = decodeEnvelope(Buffer.from(record.envelope, "base64"), codecs.byId, () => old, 1 << 24);
      assert.equal(Buffer.from(decoded).toString("utf8"), record.text);
      const again = encodeEnvelope(codecs.byName.get(record.codec) as Codec, Buffer.from(record.text, "utf8"), old);
      assert.equal(Buffer.from(again as Uint8Array).toString("base64"), record.envelope, `${record.codec} codes "${record.text.slice(0, 20)}…" differently`);
    }
  });

  it("new snapshots use the current model; both versions round-trip held-out records", () => {
    const encoder = new TextEncoder();
    const texts = devCorpus().map((r) => encoder.encode(r.text));
    const params = { tableBits: 18, matchBits: 16 };
    const current = asset(encodeSnapshot(texts.slice(0, 120), { params }));
    const first = asset(encodeSnapshot(texts.slice(0, 120), { params, version: 2 }));
    assert.equal(readSnapshotHeader(current.bytes).version, CURRENT_MODEL_VERSION);
    assert.equal(readSnapshotHeader(first.bytes).version, 2);
    assert.equal(loadSnapshot(first.bytes).model.version, 2);
    const cm = codecs.byName.get("cm") as Codec;
    for (const text of texts.slice(1500, 1540)) {
      for (const a of [current, first]) {
        const envelope = encodeEnvelope(cm, text, a) as Uint8Array;
        assert.ok(Buffer.from(decodeEnvelope(envelope, codecs.byId, () => a, 1 << 24)).equals(text));
      }
    }
  });
});
