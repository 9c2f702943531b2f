import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assetRef, type Asset, type Codec } from "../../src/codec/codec.js";
import { CURRENT_MODEL_VERSION } from "../../src/codec/cm/context-model.js";
import { encodeSnapshot, loadSnapshot, readSnapshotHeader } from "../../src/codec/cm/snapshot.js";
import { decodeEnvelope, encodeEnvelope } from "../../src/codec/envelope-codec.js";
import { openEnvelope, sealEnvelope } from "../../src/codec/envelope.js";
import { createCodecs } from "../../src/codec/registry.js";
import { createCmCodec } from "../../src/codec/cm.js";
import { seededRandom } from "../../src/core/stats.js";
import { ROOT, devCorpus } from "../helpers.js";

const FIXTURES = [2, 3, 4, 5, 6, 7, 8].map((version) => ({ version, dir: join(ROOT, "test", "fixtures", `cm-v${version}`) }));

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

  for (const { version, dir } of FIXTURES) {
    it(`envelopes written by model version ${version} (its snapshot and envelopes, by the code that introduced it) still decode exactly, and code the same again`, () => {
      const old = asset(readFileSync(join(dir, "snapshot.bin")));
      const { snapshotSha256, records } = JSON.parse(readFileSync(join(dir, "envelopes.json"), "utf8")) as { snapshotSha256: string; records: FixtureRecord[] };
      assert.equal(old.id, snapshotSha256);
      assert.equal(readSnapshotHeader(old.bytes).version, version);
      assert.ok(records.length >= 15);
      for (const record of records) {
        const decoded = decodeEnvelope(Buffer.from(record.envelope, "base64"), codecs.byId, () => old, 1 << 24);
        assert.equal(Buffer.from(decoded).toString("utf8"), record.text);
        const again = encodeEnvelope(codecs.byName.get(record.codec) as Codec, Buffer.from(record.text, "utf8"), old);
        // New encodes write envelope version 2: the same payload, under the header version it was recorded with (1 before version 6's fixture).
        const opened = openEnvelope(again as Uint8Array, 1 << 24);
        const recordedVersion = openEnvelope(Buffer.from(record.envelope, "base64"), 1 << 24).version === 1 ? 1 : 2;
        const asRecorded = recordedVersion === 1 ? sealEnvelope(opened.codecId, Buffer.from(record.text, "utf8"), opened.payload, { asset: assetRef(old) }, 1) : (again as Uint8Array);
        assert.equal(Buffer.from(asRecorded).toString("base64"), record.envelope, `${record.codec} codes "${record.text.slice(0, 20)}…" differently`);
      }
    });
  }

  it("new snapshots use the current model; every version round-trips held-out records", () => {
    const encoder = new TextEncoder();
    const texts = devCorpus().map((r) => encoder.encode(r.text));
    const params = { tableBits: 18, matchBits: 16 };
    const current = asset(encodeSnapshot(texts.slice(0, 120), { params }));
    const older = [2, 3].map((version) => asset(encodeSnapshot(texts.slice(0, 120), { params, version: version as 2 | 3 })));
    assert.equal(readSnapshotHeader(current.bytes).version, CURRENT_MODEL_VERSION);
    assert.deepEqual(older.map((a) => readSnapshotHeader(a.bytes).version), [2, 3]);
    assert.deepEqual(older.map((a) => loadSnapshot(a.bytes).model.version), [2, 3]);
    const cm = codecs.byName.get("cm") as Codec;
    // One snapshot at a time: the codec keeps two loaded models, and alternating three would retrain on every record.
    for (const a of [current, ...older]) {
      for (const text of texts.slice(1500, 1540)) {
        const envelope = encodeEnvelope(cm, text, a) as Uint8Array;
        assert.ok(Buffer.from(decodeEnvelope(envelope, codecs.byId, () => a, 1 << 24)).equals(text));
      }
    }
  });

  for (const version of [4, 5, 6, 7, 8] as const) {
    it(`model version ${version} round-trips random records (bytes, UTF-8 of 1-4 bytes a character with broken sequences, repeats), each coded alone from the frozen state, and rolls back exactly`, () => {
      const encoder = new TextEncoder();
      const texts = devCorpus().map((r) => encoder.encode(r.text));
      const snapshot = asset(encodeSnapshot(texts.slice(0, 200), { params: { tableBits: 18, matchBits: 16 }, version }));
      const random = seededRandom(404 + version);
      const records: Uint8Array[] = [];
      for (let i = 0; i < 150; i++) {
        const kind = i % 5;
        const length = Math.floor(random() * 600);
        if (kind === 0) records.push(Uint8Array.from({ length }, () => Math.floor(random() * 256)));
        else if (kind === 1) records.push(encoder.encode(Array.from({ length: length / 3 }, () => String.fromCodePoint(0x4e00 + Math.floor(random() * 400))).join("")));
        else if (kind === 2) records.push(Buffer.concat(Array.from({ length: 1 + Math.floor(random() * 8) }, () => texts[Math.floor(random() * 200)] as Uint8Array)).subarray(0, length));
        else if (kind === 3) records.push(Buffer.concat([texts[1500 + i] as Uint8Array, Uint8Array.from({ length: length % 17 }, () => Math.floor(random() * 256))]));
        else {
          // Characters of every UTF-8 length, cut anywhere, with stray continuation and lead bytes between them.
          const pieces: Uint8Array[] = [];
          for (let k = 0; k < length / 4; k++) {
            const r = random();
            if (r < 0.1) pieces.push(Uint8Array.of(0x80 + Math.floor(random() * 64)));
            else if (r < 0.15) pieces.push(Uint8Array.of(0xc0 + Math.floor(random() * 64)));
            else {
              const cp = [0x41 + Math.floor(random() * 26), 0xe9 + Math.floor(random() * 100), 0x4e00 + Math.floor(random() * 300), 0x1f600 + Math.floor(random() * 50)][Math.floor(random() * 4)] as number;
              const bytes = encoder.encode(String.fromCodePoint(cp));
              pieces.push(random() < 0.1 ? bytes.subarray(0, Math.max(1, bytes.length - 1)) : bytes);
            }
          }
          records.push(Buffer.concat(pieces));
        }
      }
      const cm = createCmCodec();
      const payloads = records.map((r) => cm.encode(r, snapshot) as Uint8Array);
      const fresh = createCmCodec();
      for (let i = records.length - 1; i >= 0; i--) {
        const record = records[i] as Uint8Array;
        assert.ok(Buffer.from(fresh.decode(payloads[i] as Uint8Array, record.length, snapshot)).equals(record), `record ${i} (kind ${i % 5}) does not round-trip`);
        assert.ok(Buffer.from(fresh.encode(record, snapshot) as Uint8Array).equals(payloads[i] as Uint8Array), `record ${i} codes differently after others`);
      }
    });
  }
});
