import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { assetCache } from "../../src/codec/asset-cache.js";
import type { Asset } from "../../src/codec/codec.js";

function asset(text: string): Asset {
  const bytes = new TextEncoder().encode(text);
  return { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot", bytes };
}

describe("asset cache", () => {
  it("keeps a held build past its limit until released (a read between its model's sliced load and its decode), then drops the least recently used", () => {
    let builds = 0;
    const cache = assetCache("test", 1, (a) => {
      builds++;
      return `built ${new TextDecoder().decode(a.bytes)}`;
    });
    const [a, b, c] = [asset("a"), asset("b"), asset("c")];
    const release = cache.hold(a);
    assert.equal(cache(a), "built a");
    assert.equal(cache(b), "built b", "another read meanwhile");
    assert.equal(cache.peek(a), "built a", "held: not dropped although over the limit");
    assert.equal(cache.peek(b), "built b");
    assert.equal(cache(a), "built a");
    assert.equal(builds, 2, "the held build was used, not built again");
    release();
    release(); // a second release changes nothing
    assert.equal(cache.peek(b), undefined, "past the limit once released: the least recently used goes");
    assert.equal(cache.peek(a), "built a");
    assert.equal(cache(c), "built c");
    assert.equal(cache.peek(a), undefined, "no longer held: dropped as usual");
  });

  it("peek neither builds nor counts as a use", () => {
    let builds = 0;
    const cache = assetCache("test", 2, () => ++builds);
    const [a, b, c] = [asset("a"), asset("b"), asset("c")];
    assert.equal(cache.peek(a), undefined);
    assert.equal(builds, 0);
    cache(a);
    cache(b);
    assert.equal(cache.peek(a), 1);
    cache(c);
    assert.equal(cache.peek(a), undefined, "a was the least recently used: peeking it did not refresh it");
  });
});
