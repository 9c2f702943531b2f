import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createCmCodec } from "../../src/codec/cm.js";
import { encodeSnapshot } from "../../src/codec/cm/snapshot.js";
import { DEV_CORPUS, ROOT } from "../helpers.js";
import { identityDigest, type IdentityModules, type IdentityResult } from "./cm-identity-cases.js";

describe("cm model versions 4 to 8: the same bits as the committed digests", () => {
  for (const version of [4, 5, 6, 7, 8] as const) {
    it(`version ${version}: a default-size snapshot of 400 dev records and 322 records coded from it (dev, random bytes, Chinese, repeats, one over 64 KiB) hash to the committed digest, and each decodes exactly`, () => {
      const expected = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", `cm-v${version}-digest`, "digest.json"), "utf8")) as IdentityResult;
      const cm = createCmCodec();
      const modules: IdentityModules = {
        encodeSnapshot,
        createCmCodec: () => ({
          encode: (original, asset) => cm.encode(original, asset) ?? assert.fail("cm declined a record"),
          decode: (payload, originalLength, asset) => cm.decode(payload, originalLength, asset),
        }),
      };
      const actual = identityDigest(modules, DEV_CORPUS, version);
      assert.equal(actual.records, expected.records);
      assert.equal(actual.bytes, expected.bytes);
      assert.equal(actual.snapshotSha256, expected.snapshotSha256, "the snapshot (coded while training) differs");
      assert.equal(actual.payloadsSha256, expected.payloadsSha256, "some record codes differently");
      assert.ok(actual.roundTrips, "some record does not decode to itself");
    });
  }
});
