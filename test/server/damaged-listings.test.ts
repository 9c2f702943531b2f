import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { CLI, damagedStoreText, spawnBounded, storeWithDamagedBlock, tempDir } from "../helpers.js";
import { bearer, startServer } from "./http.js";

const READABLE_A = ["a0", "a1", "a2", "a3", "a6", "a7", "a8", "a9", "a12", "a13"];

describe("a store with a damaged sealed block, served and listed", () => {
  it("REST lists, readiness, MCP list_memories and search answer from every other memory and name the block to the namespaces that have memories in it", async () => {
    using dir = tempDir();
    const prepared = await storeWithDamagedBlock(dir.path, false);
    await prepared.engine.close();
    const running = await startServer(dir.path, {}, { seal: false, cache: "off" });
    const clients: Client[] = [];
    try {
      const all = (await running.engine.keys.create({ role: "read", namespaces: ["*"] })).key;
      const onlyA = (await running.engine.keys.create({ role: "read", namespaces: ["a"] })).key;
      const get = async (key: string | undefined, path: string, body?: unknown) => {
        const response = await fetch(`${running.url}${path}`, {
          ...(body === undefined ? {} : { method: "POST", body: JSON.stringify(body) }),
          headers: { ...(key ? bearer(key) : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
        });
        return { status: response.status, json: (await response.json()) as Record<string, unknown> };
      };
      // Before: one damaged block made readiness 503 and every listing E_STORE.
      assert.deepEqual(await get(undefined, "/readyz"), { status: 200, json: { ok: true } });

      const ids: string[] = [];
      const damaged: unknown[] = [];
      for (let cursor: string | null = ""; cursor !== null; ) {
        const page = await get(all, `/v1/memories?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
        assert.equal(page.status, 200);
        ids.push(...(page.json.items as { id: string }[]).map((m) => m.id));
        damaged.push(...((page.json.damaged as unknown[] | undefined) ?? []));
        cursor = page.json.next as string | null;
      }
      assert.deepEqual(ids, [...READABLE_A.slice(0, 4), ...READABLE_A.slice(4)]);
      assert.equal(damaged.length, 1);
      assert.deepEqual(Object.keys(damaged[0] as object).sort(), ["code", "hint", "memories", "message", "where"]);
      assert.deepEqual([(damaged[0] as { where: string }).where, (damaged[0] as { memories: number }).memories], ["sealed block of seqs 5..8", 4]);
      // A key of one namespace is told of its own memories in the block only.
      const mine = await get(onlyA, "/v1/memories?limit=100");
      assert.deepEqual([(mine.json.items as { id: string }[]).map((m) => m.id), (mine.json.damaged as { memories: number }[]).map((d) => d.memories)], [READABLE_A, [2]]);
      // Its message does not tell how many memories the block holds in all (other namespaces' among them).
      assert.match((mine.json.damaged as { message: string }[])[0]?.message ?? "", /^the sealed block of seqs 5\.\.8 could not be read: /);
      const search = await get(onlyA, "/v1/search", { query: "quick fox", limit: 20 });
      assert.equal(search.status, 200);
      assert.deepEqual([(search.json.hits as { id: string }[]).length, search.json.unsearchable], [10, 2]);

      // A memory in the block is an error of the store, logged as one (with its stack), not as a server declining for now.
      const broken = await get(all, "/v1/memories/b0?namespace=b");
      assert.deepEqual([broken.status, (broken.json.error as { code: string }).code], [503, "E_STORE"]);
      const logged = running.logs.map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message?: string } }).filter((line) => /seqs 5\.\.8/.test(line.err?.message ?? ""));
      assert.deepEqual(logged.map((line) => [line.level, line.msg]), [[50, "request failed"]]);

      const client = new Client({ name: "memzip-test", version: "1" });
      clients.push(client);
      await client.connect(new StreamableHTTPClientTransport(new URL(`${running.url}/mcp`), { requestInit: { headers: bearer(all) } }));
      const listed = (await client.callTool({ name: "list_memories", arguments: { limit: 50 } })) as CallToolResult;
      assert.notEqual(listed.isError, true, JSON.stringify(listed.content));
      const structured = listed.structuredContent as { memories: { id: string; preview: string }[]; damaged: { memories: number }[] };
      assert.deepEqual(structured.memories.map((m) => m.id), READABLE_A);
      assert.equal(structured.memories[0]?.preview, damagedStoreText(0));
      assert.deepEqual(structured.damaged.map((d) => d.memories), [4]);
      const found = (await client.callTool({ name: "search_memories", arguments: { query: "quick fox", limit: 20 } })) as CallToolResult;
      assert.deepEqual([(found.structuredContent as { hits: unknown[] }).hits.length, (found.structuredContent as { unsearchable: number }).unsearchable], [10, 4]);
    } finally {
      for (const client of clients) await client.close();
      await running.server.close();
    }
  });

  it("memzip ls lists every other memory, warns with the fix on stderr, lists the block under \"damaged\" with --json, and exits 1", async () => {
    using dir = tempDir();
    const { path, engine } = await storeWithDamagedBlock(dir.path, false);
    await engine.close();
    const human = spawnBounded(process.execPath, [CLI, "ls", "--db", path], { encoding: "utf8" });
    assert.equal(human.status, 1, human.stderr);
    assert.deepEqual(human.stdout.trim().split("\n").slice(1).map((line) => line.split("\t")[0]), READABLE_A);
    assert.match(human.stderr, /warning: 4 memories not listed: E_STORE: the sealed block of seqs 5\.\.8/);
    assert.match(human.stderr, /fix: `memzip verify`/);
    const json = spawnBounded(process.execPath, [CLI, "ls", "-n", "b", "--json", "--db", path], { encoding: "utf8" });
    assert.equal(json.status, 1, json.stderr);
    const answer = JSON.parse(json.stdout) as { count: number; damaged: { where: string; memories: number; code: string }[] };
    assert.deepEqual([answer.count, answer.damaged.map((d) => [d.where, d.memories, d.code])], [0, [["sealed block of seqs 5..8", 2, "E_STORE"]]]);
    // A namespace with nothing in the block lists as before: exit 0, no warning.
    const clean = spawnBounded(process.execPath, [CLI, "ls", "-n", "a", "--limit", "2", "--db", path], { encoding: "utf8" });
    assert.deepEqual([clean.status, clean.stderr], [0, ""]);
  });
});
