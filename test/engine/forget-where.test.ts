import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { CLI, storeOf, tempDir, spawnBounded } from "../helpers.js";

function memzip(args: string[]) {
  const result = spawnBounded(process.execPath, [CLI, ...args], { env: { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" } });
  return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8") };
}

const similar = (i: number) => `Weekly sync ${i}: the zebrafish tank rota, turbine report and lab party plans were reviewed; action items assigned to the team.`;

describe("delete by filter", () => {
  it("engine.forgetWhere counts in a dry run, deletes exactly what the filter matches with its history, refuses an empty filter, and prunes unused assets", async () => {
    const dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "where.db"), cache: "off" });
    try {
      await engine.rememberMany(Array.from({ length: 6 }, (_, i) => ({ id: `g${i}`, text: similar(i), tags: ["grp"], createdAt: 1000 + i })));
      await engine.remember({ id: "keep-note", text: "a note to keep", kind: "note", tags: ["grp", "keep"], createdAt: 5000 });
      await engine.remember({ id: "chat-1", text: "a chat in another namespace", kind: "chat", namespace: "other", createdAt: 6000 });
      await engine.update("g0", { text: `${similar(0)} Edited.` });
      const groupAssets = async () => (await engine.assetUsage()).filter((a) => a.kind === "zstd-dictionary" && a.memories > 0).length;
      const grouped = await groupAssets();

      await assert.rejects(engine.forgetWhere({}), { code: "E_USAGE" });
      const dry = await engine.forgetWhere({ tags: ["grp"], createdBefore: 5000 }, { dryRun: true });
      assert.deepEqual([dry.count, dry.dryRun, dry.ids.map((r) => r.id)], [6, true, ["g0", "g1", "g2", "g3", "g4", "g5"]]);
      assert.equal((await engine.stats()).memories, 8, "a dry run deletes nothing");

      const done = await engine.forgetWhere({ tags: ["grp"], createdBefore: 5000 });
      assert.deepEqual([done.count, done.dryRun], [6, false]);
      assert.deepEqual((await engine.page({ limit: 10 })).items.map((m) => m.id), ["keep-note", "chat-1"]);
      assert.deepEqual(await storeOf(engine).memories.history("default", "g0"), [], "history goes with the memory");
      assert.equal((await engine.stats()).history.versions, 0);
      assert.ok(grouped > 0, "the six similar texts share a group dictionary");
      assert.equal(await groupAssets(), 0, "a group dictionary only the deleted memories needed is pruned");
      assert.equal((await engine.assetUsage()).filter((a) => a.kind === "zstd-dictionary" && a.namespace === "default" && a.memories === 0).length, 0);

      assert.equal((await engine.forgetWhere({ namespaces: ["other"], kind: "note" })).count, 0);
      assert.equal((await engine.forgetWhere({ namespaces: ["other"] })).count, 1);
      assert.equal((await engine.forgetWhere({}, { all: true })).count, 1);
      assert.equal((await engine.stats()).memories, 0);
    } finally {
      await engine.close();
      dir[Symbol.dispose]();
    }
  });

  it("memzip rm --where takes the ls filter flags, --dry-run and --all", () => {
    const dir = tempDir();
    try {
      const db = join(dir.path, "cli-where.db");
      assert.equal(memzip(["add", "first chat", "--id", "c1", "--kind", "chat", "--tag", "x", "--db", db]).status, 0);
      assert.equal(memzip(["add", "second chat", "--id", "c2", "--kind", "chat", "--db", db]).status, 0);
      assert.equal(memzip(["add", "a note", "--id", "n1", "--tag", "x", "--db", db]).status, 0);
      assert.equal(memzip(["add", "elsewhere", "--id", "o1", "--kind", "chat", "-n", "other", "--db", db]).status, 0);
      const refused = memzip(["rm", "--where", "--db", db]);
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /--all/);
      assert.equal(memzip(["rm", "--kind", "chat", "c1", "--db", db]).status, 2, "filter flags need --where");
      const dry = memzip(["rm", "--where", "--kind", "chat", "--dry-run", "--json", "--db", db]);
      assert.equal(dry.status, 0, dry.stderr);
      assert.deepEqual(JSON.parse(dry.stdout), { count: 3, ids: [{ namespace: "default", id: "c1" }, { namespace: "default", id: "c2" }, { namespace: "other", id: "o1" }], dryRun: true });
      const done = memzip(["rm", "--where", "--kind", "chat", "--tag", "x", "-n", "default", "--db", db]);
      assert.equal(done.status, 0, done.stderr);
      assert.match(done.stdout, /^removed 1\ndefault\tc1\n$/);
      assert.equal(memzip(["get", "c1", "--db", db]).status, 4);
      assert.equal(memzip(["get", "c2", "--db", db]).status, 0);
      assert.match(memzip(["rm", "--where", "--all", "--db", db]).stdout, /^removed 3\n/);
      assert.equal(memzip(["ls", "--json", "--db", db]).stdout.includes('"count": 0'), true);
    } finally {
      dir[Symbol.dispose]();
    }
  });
});
