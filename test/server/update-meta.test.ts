import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { tempDir } from "../helpers.js";
import { bearer, startServer } from "./http.js";

const BEFORE = { a: 1, b: { x: 1, y: 2 }, c: "keep", e: [1, 2] };
/** A JSON merge patch (RFC 7396): remove a, merge into b (remove b.y, add b.z), set d, replace an array. */
const PATCH = { a: null, b: { y: null, z: 3 }, d: "new", e: [3] };
const AFTER = { b: { x: 1, z: 3 }, c: "keep", d: "new", e: [3] };

describe("meta on update is one JSON merge patch (RFC 7396) in the engine, REST PATCH and MCP update_memory", () => {
  it("engine.update, PATCH /v1/memories/:id and update_memory over real TCP give the same meta; kind, tags and createdAt stay", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off", workers: 0 });
    const client = new Client({ name: "memzip-test", version: "1" });
    try {
      const { engine, url } = running;
      const { key } = await engine.keys.create({ role: "write", namespaces: ["alpha"] });
      for (const id of ["e1", "r1", "m1"]) {
        await engine.remember({ id, namespace: "alpha", text: `memory ${id} about the merge patch`, kind: "meeting", tags: ["t"], meta: BEFORE, createdAt: 1000 });
      }

      await engine.update("e1", { meta: PATCH }, "alpha");

      const response = await fetch(`${url}/v1/memories/r1`, { method: "PATCH", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify({ meta: PATCH }) });
      const body = (await response.json()) as { meta: unknown };
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.deepEqual(body.meta, AFTER);

      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: bearer(key) } }));
      const result = (await client.callTool({ name: "update_memory", arguments: { id: "m1", meta: PATCH } })) as CallToolResult;
      assert.ok(!result.isError, JSON.stringify(result.content));
      assert.equal((result.structuredContent as { status: string }).status, "updated");

      for (const id of ["e1", "r1", "m1"]) {
        const memory = await engine.memory(id, "alpha");
        assert.deepEqual(memory.meta, AFTER, id);
        assert.deepEqual([memory.kind, memory.tags, memory.createdAt], ["meeting", ["t"], 1000], id);
        assert.equal(await engine.recall(id, { namespace: "alpha" }), `memory ${id} about the merge patch`);
      }

      // Leaving meta out keeps it; a text-only patch changes the text alone.
      const textOnly = await fetch(`${url}/v1/memories/r1`, { method: "PATCH", headers: bearer(key, { "content-type": "application/json" }), body: JSON.stringify({ text: "memory r1, rewritten" }) });
      assert.equal(textOnly.status, 200);
      assert.deepEqual((await engine.memory("r1", "alpha")).meta, AFTER);
      assert.equal(await engine.recall("r1", { namespace: "alpha" }), "memory r1, rewritten");
    } finally {
      await client.close();
      await running.server.close();
    }
  });
});
