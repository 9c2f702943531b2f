import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { assetRef } from "../../src/codec/codec.js";
import { createCmCodec } from "../../src/codec/cm.js";
import { BASE_MODELS, baseAsset, baseAssetByRef, baseModelFile, baseTrainingTexts, currentBaseAsset, isBaseAsset, shippedAssets, type BaseModel } from "../../src/codec/cm/base.js";
import { readSnapshotHeader, encodeSnapshot } from "../../src/codec/cm/snapshot.js";
import { decodeEnvelope, encodeEnvelope } from "../../src/codec/envelope-codec.js";
import { openEnvelope, sealEnvelope } from "../../src/codec/envelope.js";
import { isMemzipError } from "../../src/errors.js";
import { devCorpus } from "../helpers.js";

const fixture = JSON.parse(readFileSync(new URL("../../../test/fixtures/cm-base-v1/envelopes.json", import.meta.url), "utf8")) as { assetId: string; cases: { text: string; envelope: string }[] };

describe("cm base models shipped with memzip", () => {
  it("every shipped base is rebuilt byte for byte from the dev corpus by its recipe (npm run train:cm-base)", () => {
    for (const base of BASE_MODELS) {
      const built = encodeSnapshot(baseTrainingTexts(base.recipe, devCorpus()), { params: base.recipe.params, version: base.recipe.modelVersion, maxTrainingBytes: Number.MAX_SAFE_INTEGER });
      const file = readFileSync(baseModelFile(base));
      assert.equal(createHash("sha256").update(built).digest("hex"), base.sha256, `base v${base.version}: the recipe builds other bytes than the registry names`);
      assert.ok(Buffer.from(built).equals(file), `base v${base.version}: assets/${base.file} differs from what its recipe builds`);
    }
  });

  it("learned from half of the dev corpus's records (the other half is held out for the fresh-namespace bench), at the sizes the recipe names", () => {
    const base = BASE_MODELS[0] as BaseModel;
    const header = readSnapshotHeader(baseAsset(base).bytes);
    assert.equal(header.lengths.length, Math.ceil(devCorpus().length / base.recipe.every));
    assert.deepEqual(header.params, base.recipe.params);
  });

  it("is found by the reference envelopes carry, is marked built-in, and stats list it as not in the store", () => {
    const asset = currentBaseAsset();
    assert.ok(isBaseAsset(asset));
    assert.equal(baseAssetByRef(assetRef(asset)), asset);
    assert.equal(baseAssetByRef(new Uint8Array([0, 1, 2, 3])), undefined);
    assert.ok(!isBaseAsset({ id: asset.id, kind: "cm-snapshot", bytes: asset.bytes }), "a stored asset with the same bytes is not built in");
    const [shipped] = shippedAssets();
    assert.deepEqual(shipped, { id: asset.id, kind: "cm-snapshot", baseVersion: 1, bytes: asset.bytes.length, where: "shipped with memzip", inStore: false });
  });

  it("a file that is not the one shipped is refused with E_MISSING_ASSET and a fix", () => {
    const altered: BaseModel = { ...(BASE_MODELS[0] as BaseModel), version: 99, sha256: "0".repeat(64) };
    assert.throws(() => baseAsset(altered), (e) => isMemzipError(e, "E_MISSING_ASSET") && /Reinstall memzip/.test(e.hint ?? ""));
    const missing: BaseModel = { ...(BASE_MODELS[0] as BaseModel), version: 98, file: "cm-base-v98.mzcm" };
    assert.throws(() => baseAsset(missing), (e) => isMemzipError(e, "E_MISSING_ASSET"));
  });

  it("envelopes written with base v1 when it shipped still decode exactly and code to the same bytes", () => {
    const cm = createCmCodec();
    const codecs = new Map([[cm.id, cm]]);
    const v1 = baseAsset(BASE_MODELS.find((b) => b.version === 1) as BaseModel);
    assert.equal(v1.id, fixture.assetId);
    for (const { text, envelope } of fixture.cases) {
      const bytes = Buffer.from(envelope, "hex");
      const decoded = decodeEnvelope(bytes, codecs, (ref) => baseAssetByRef(ref), 1 << 20);
      assert.equal(Buffer.from(decoded).toString("utf8"), text);
      // New encodes write envelope version 2: the same payload, under the version 1 header it was recorded with.
      const opened = openEnvelope(encodeEnvelope(cm, new TextEncoder().encode(text), v1) as Uint8Array, 1 << 20);
      assert.ok(Buffer.from(sealEnvelope(opened.codecId, new TextEncoder().encode(text), opened.payload, { asset: assetRef(v1) }, 1)).equals(bytes), text);
    }
  });
});
