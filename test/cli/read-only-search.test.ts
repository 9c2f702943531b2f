import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { CLI, devCorpus, readerOrSkip, spawnBounded, tempDir } from "../helpers.js";

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("search and related on a store this account may not write", () => {
  for (const closed of ["folder", "file", "both"] as const) {
    it(`index a private copy (${closed} read-only): the right hits, the index the store had carried over, the store file untouched, the copy gone`, async (t) => {
      const asNobody = readerOrSkip(t);
      if (asNobody === undefined) return;
      await using dir = tempDir();
      const folder = join(dir.path, "ro");
      const path = join(folder, "s.db");
      const scratch = join(dir.path, "tmp");
      mkdirSync(scratch);
      const records = devCorpus().slice(0, 60);
      {
        await using engine = Engine.open({ db: path, cache: "off", workers: 0 });
        await engine.rememberMany(records.slice(0, 55).map((r) => ({ id: r.id, text: r.text })));
        // The writer searched once: its index is in the file. Five memories come after it.
        await (await engine.searchIndex()).refresh();
        await engine.rememberMany(records.slice(55).map((r) => ({ id: r.id, text: r.text })));
      }
      const before = sha(path);
      chmodSync(path, closed === "folder" ? 0o644 : 0o444);
      chmodSync(folder, closed === "file" ? 0o777 : 0o555);
      chmodSync(dir.path, 0o755);
      chmodSync(scratch, 0o777);
      // The copy a search interrupted by Ctrl-C or kill -9 left (a whole store): the next private copy removes it.
      const gone = spawnBounded(process.execPath, ["-e", "process.exit(0)"], { encoding: "utf8" }).pid as number;
      const left = join(scratch, `memzip-readonly-${gone}-x1Y2z3`);
      mkdirSync(left, { mode: 0o777 });
      writeFileSync(join(left, "store.db"), "a store's bytes");
      chmodSync(left, 0o777);
      const memzip = (...args: string[]) => spawnBounded(process.execPath, [CLI, ...args, "--db", path], { encoding: "utf8", ...asNobody, env: { ...process.env, TMPDIR: scratch } });
      try {
        const target = records[57] as (typeof records)[number];
        const search = memzip("search", target.text.slice(0, 120), "--json", "--limit", "5");
        assert.equal(search.status, 0, search.stderr);
        const found = JSON.parse(search.stdout) as { indexed: number; hits: { id: string }[] };
        assert.equal(found.hits[0]?.id, target.id, "a memory's own opening words find it first");
        assert.equal(found.indexed, 5, "only the memories written after the store's last index were indexed");
        const related = memzip("related", target.id, "--json", "--limit", "3", "--min-similarity", "0");
        assert.equal(related.status, 0, related.stderr);
        const hits = (JSON.parse(related.stdout) as { hits: { id: string }[] }).hits;
        assert.equal(hits.length, 3);
        assert.ok(!hits.some((hit) => hit.id === target.id), "itself is left out");
        // Memories stay read-only.
        const add = memzip("add", "a new memory", "--json");
        assert.notEqual(add.status, 0);
        assert.match(add.stderr + add.stdout, /E_RESOURCE/);
      } finally {
        chmodSync(folder, 0o755);
        chmodSync(path, 0o644);
      }
      assert.equal(sha(path), before, "the store file is byte for byte what it was");
      assert.deepEqual(readdirSync(scratch), [], "the private copies went at close, the one a gone process left too");
    });
  }
});
