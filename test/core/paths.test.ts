import { strict as assert } from "node:assert";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { userCacheDir } from "../../src/core/paths.js";

describe("userCacheDir", () => {
  it("takes MEMZIP_CACHE_DIR, then an absolute $XDG_CACHE_HOME, then ~/.cache", () => {
    assert.equal(userCacheDir({ MEMZIP_CACHE_DIR: "/srv/cache", XDG_CACHE_HOME: "/x", HOME: "/home/a" }), "/srv/cache");
    assert.equal(userCacheDir({ MEMZIP_CACHE_DIR: "rel/cache", HOME: "/home/a" }), resolve("rel/cache"), "an explicit folder, resolved once");
    assert.equal(userCacheDir({ XDG_CACHE_HOME: "/var/cache/a", HOME: "/home/a" }), join("/var/cache/a", "memzip"));
    assert.equal(userCacheDir({ HOME: "/home/a" }), join("/home/a", ".cache", "memzip"));
  });

  it("never names a folder in the working directory: a relative $XDG_CACHE_HOME is ignored, an empty or relative HOME gives none", () => {
    assert.equal(userCacheDir({ XDG_CACHE_HOME: "cache", HOME: "/home/a" }), join("/home/a", ".cache", "memzip"));
    assert.equal(userCacheDir({ XDG_CACHE_HOME: "", HOME: "" }), undefined);
    assert.equal(userCacheDir({ HOME: "." }), undefined);
    assert.equal(userCacheDir({ XDG_CACHE_HOME: "cache", HOME: "home" }), undefined);
  });
});
