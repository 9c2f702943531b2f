import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, resourceError } from "../../src/errors.js";

function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("resourceError", () => {
  it("names the cause once: Node's messages carry their code already, SQLite's do not", () => {
    const full = resourceError(systemError("ENOSPC", "ENOSPC: no space left on device, write"));
    assert.equal(full?.code, ErrorCode.RESOURCE);
    assert.match(full?.message ?? "", /\(ENOSPC: no space left on device, write\)$/);
    assert.doesNotMatch(full?.message ?? "", /ENOSPC: ENOSPC/);
    const sqlite = resourceError(systemError("SQLITE_FULL", "database or disk is full"));
    assert.match(sqlite?.message ?? "", /\(SQLITE_FULL: database or disk is full\)$/);
    assert.match(sqlite?.hint ?? "", /Free disk space/);
    assert.equal(resourceError(systemError("EBADTHING", "no")), undefined, "not a resource error");
  });
});
