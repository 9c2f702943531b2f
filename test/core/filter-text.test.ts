import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { parseFilterText } from "../../src/core/filter.js";
import { isMemzipError } from "../../src/errors.js";

describe("filter flags as text", () => {
  it("a --meta without = is named in plain words, not the schema's (newcomer9 section 14)", () => {
    assert.throws(
      () => parseFilterText({ meta: ["team=core", "lang"] }, { meta: "--meta" }),
      (e) => isMemzipError(e, "E_USAGE") && e.message === 'invalid filter --meta: "lang" is not KEY=VALUE' && /Give --meta KEY=VALUE/.test(e.hint ?? ""),
    );
    assert.deepEqual(parseFilterText({ meta: ["team=core"] }, { meta: "--meta" }).meta, { team: "core" });
  });
});
