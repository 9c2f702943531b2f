import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import type { Store, StoredMemory } from "../../src/core/store.js";
import { openStore } from "../../src/store/open.js";
import { ROOT, collect, tempDir } from "../helpers.js";
import { memory } from "./store-suite.js";

// Design test 5 (pack11-design.md; review 11, note 14): a process killed inside the seal's transaction
// leaves the store as it was. The child kills itself (SIGKILL) from a hook on the statement that
// inserts the third block's sums: no sleep, the same instant every run.
const CHILD = `import { openStore } from ${JSON.stringify(join(ROOT, "dist", "src", "store", "open.js"))};
const store = openStore(process.argv[1], { seal: true, blockRows: 16 });
const statements = store.database.sealed.statements;
const run = statements.insertUsage.run.bind(statements.insertUsage);
let k = 0;
statements.insertUsage.run = (...args) => { if (++k === 3) process.kill(process.pid, "SIGKILL"); return run(...args); };
await store.seal();
console.log("sealed without being killed");`;

// The same, killed after the seal rewrote the key runs (every block and chunk written, the commit not yet made).
const CHILD_RUNS = `import { openStore } from ${JSON.stringify(join(ROOT, "dist", "src", "store", "open.js"))};
const store = openStore(process.argv[1], { seal: true, blockRows: 16 });
const sealed = store.database.sealed;
const rewrite = sealed.rewriteRuns.bind(sealed);
sealed.rewriteRuns = (...args) => { rewrite(...args); process.kill(process.pid, "SIGKILL"); };
await store.seal();
console.log("sealed without being killed");`;

const text = (i: number): StoredMemory => {
  const bytes = new TextEncoder().encode(`text ${i % 7}`);
  // Seven texts over 100 memories: references, holders in other blocks and namespaces.
  return memory(`m${i}`, i % 2 ? "a" : "b", { envelope: bytes, originalLength: bytes.length, checksum: bytes.length, createdAt: i, contentHash: Uint8Array.of(i % 7, 1, 2, 3, 4, 5, 6, 7) });
};

const snapshot = async (store: Store) => (await collect(store.memories.scan())).map((m) => ({ ...m, envelope: Buffer.from(m.envelope).toString("hex") }));

describe("a crash inside the seal", () => {
  for (const [where, child] of [
    ["inserting the third block's sums", CHILD],
    ["after the key runs were rewritten", CHILD_RUNS],
  ] as const) it(`a process killed inside the seal's transaction (${where}) leaves every memory as it was, readable by id, and the file whole`, async () => {
    await using dir = tempDir();
    const path = join(dir.path, "store.db");
    let store = openStore(path, { seal: true, blockRows: 16 });
    await store.memories.put(Array.from({ length: 100 }, (_, i) => text(i)));
    assert.equal(await store.seal?.(), 100);
    // Some rows hot again (a delete unseals blocks), and new ones: the next seal has several blocks to make.
    await store.memories.delete("a", "m3");
    await store.memories.put([text(200), text(201)]);
    const before = await snapshot(store);
    const db = new Database(path, { readonly: true });
    const hotBefore = db.prepare("SELECT count(*) FROM memories").pluck().get() as number;
    db.close();
    assert.ok(hotBefore > 32, `${hotBefore} hot rows: at least three blocks to seal`);
    await store.close();

    const result = spawnSync(process.execPath, ["--input-type=module", "-e", child, path], { timeout: 60_000, encoding: "utf8" });
    assert.equal(result.signal, "SIGKILL", `the child was killed inside the seal (stdout ${result.stdout}, stderr ${result.stderr})`);

    store = openStore(path);
    try {
      assert.deepEqual(await snapshot(store), before);
      // Every memory by its id (the sealed ones through the key runs), and every holder by its text.
      for (const m of before) assert.equal(Buffer.from((await store.memories.get(m.namespace, m.id))?.envelope ?? []).toString("hex"), m.envelope, m.id);
      for (const m of before) if (m.contentOf === null && m.contentHash) assert.ok(await store.memories.findContent(m.namespace, m.contentHash, m.checksum, m.originalLength), m.id);
      const raw = new Database(path, { readonly: true });
      assert.equal(raw.pragma("integrity_check", { simple: true }), "ok");
      assert.equal(raw.prepare("SELECT count(*) FROM memories").pluck().get(), hotBefore, "the seal rolled back whole");
      assert.equal(raw.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'search_forget_deleted'").pluck().get(), 1, "the search trigger is there");
      raw.close();
    } finally {
      await store.close();
    }
  });
});
