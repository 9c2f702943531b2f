import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { printableLocation } from "../../src/store/open.js";

describe("a store's location in a command memzip prints to be pasted (resume lines of jobs and an interrupted import)", () => {
  it("leaves a PostgreSQL password out (trial41: it was printed), and says so", () => {
    const withPassword = printableLocation("postgres://app:S3cretPW@db.example:5432/memzip?sslmode=require");
    assert.deepEqual(withPassword, { location: "postgres://app@db.example:5432/memzip?sslmode=require", secret: true });
    const asParameter = printableLocation("postgresql://app@db.example/memzip?password=S3cretPW&application_name=x");
    assert.deepEqual(asParameter, { location: "postgresql://app@db.example/memzip?application_name=x", secret: true });
    // Without a secret, and a file: as given.
    assert.deepEqual(printableLocation("postgres://app@db.example:5432/memzip"), { location: "postgres://app@db.example:5432/memzip", secret: false });
    assert.deepEqual(printableLocation("/tmp/my store.db"), { location: "/tmp/my store.db", secret: false });
  });
});
