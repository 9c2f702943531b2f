import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { Engine } from "../../src/engine.js";
import { createServer, type MemzipServer } from "../../src/server/app.js";
import { McpServerPool } from "../../src/server/mcp-http.js";
import { createMcpServer, MCP_BOUNDS, MCP_TOOLS } from "../../src/server/mcp.js";
import { CLI, tempDir } from "../helpers.js";

const ENGLISH = "The billing service moved to the Frankfurt region on Tuesday; the rollback plan is in the runbook.";
const CHINESE = "我们决定把向量数据库迁移到新的服务器上，下周一开始执行迁移计划。";
const EMOJI = "Team offsite 🎉🚀 bring snacks 🍕 and the 👩‍💻 laptops; flags 🇩🇪🇯🇵";
/** 20 KB of varied text, longer than one recall page when asked for 8000 characters. */
const BIG = Array.from({ length: 400 }, (_, i) => `Entry ${i}: the observatory logged ${(i * 7919) % 1000} meteors over ridge ${i % 13}.`).join("\n").slice(0, 20_480);

type Structured = Record<string, unknown>;

/** A JSON-RPC answer as it comes over the wire. */
interface Answer {
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string; data?: { code?: string; hint?: string } };
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

async function ok(client: Client, name: string, args: Record<string, unknown>): Promise<Structured> {
  const result = await call(client, name, args);
  assert.notEqual(result.isError, true, `${name} failed: ${JSON.stringify(result.content)}`);
  assert.ok(result.structuredContent, `${name}: structured content`);
  return result.structuredContent as Structured;
}

function errorText(result: CallToolResult): string {
  assert.equal(result.isError, true, `expected a tool error, got ${JSON.stringify(result.structuredContent)}`);
  const first = result.content[0];
  assert.ok(first && first.type === "text");
  return first.text;
}

/** Reads a whole memory through recall's pages. */
async function recallAll(client: Client, id: string, maxChars?: number): Promise<{ text: string; pages: number }> {
  let text = "";
  let offset: number | null = 0;
  let pages = 0;
  while (offset !== null) {
    const page = await ok(client, "recall", { id, offset, ...(maxChars ? { maxChars } : {}) });
    assert.ok((page.text as string).length <= (maxChars ?? MCP_BOUNDS.recallDefault));
    text += page.text as string;
    offset = page.nextOffset as number | null;
    pages++;
    assert.ok(pages < 100, "recall pages end");
  }
  return { text, pages };
}

/** The same conversation over either transport: every tool, exact text, bounded answers. */
async function exercise(client: Client, namespace: string): Promise<Record<string, string>> {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), [...MCP_TOOLS].sort());
  for (const tool of tools) {
    assert.ok((tool.description ?? "").length > 20, `${tool.name}: a description`);
    assert.equal(tool.inputSchema.type, "object", `${tool.name}: input schema`);
    assert.equal(tool.outputSchema?.type, "object", `${tool.name}: output schema`);
  }

  const ids: Record<string, string> = {};
  const codecs: Record<string, string> = {};
  for (const [name, text] of Object.entries({ english: ENGLISH, chinese: CHINESE, emoji: EMOJI, big: BIG })) {
    const written = await ok(client, "remember", { text, tags: [name], kind: "note", meta: { source: "mcp-test" } });
    assert.equal(written.namespace, namespace);
    assert.equal(written.status, "stored");
    assert.equal(written.originalBytes, Buffer.byteLength(text, "utf8"));
    ids[name] = written.id as string;
    codecs[name] = written.codec as string;
    assert.notEqual(codecs[name], "");
  }
  assert.ok(Buffer.byteLength(BIG, "utf8") >= 20_000);

  for (const [name, text] of Object.entries({ english: ENGLISH, chinese: CHINESE, emoji: EMOJI, big: BIG })) {
    const recalled = await ok(client, "recall", { id: ids[name] });
    assert.equal(recalled.text, text, `${name} recalled exactly`);
    assert.equal(recalled.nextOffset, null);
    assert.deepEqual(recalled.tags, [name]);
    assert.deepEqual(recalled.meta, { source: "mcp-test" });
  }
  // A text longer than the page comes in pages that add up to it exactly.
  const firstPage = await ok(client, "recall", { id: ids.big, maxChars: 8000 });
  assert.equal(firstPage.nextOffset, 8000);
  assert.equal(firstPage.totalChars, BIG.length);
  assert.match(firstPage.note as string, /offset 8000/);
  const paged = await recallAll(client, ids.big as string, 8000);
  assert.equal(paged.text, BIG);
  assert.equal(paged.pages, 3);

  const english = await ok(client, "search_memories", { query: "Frankfurt rollback runbook" });
  const englishHits = english.hits as { id: string; preview: string }[];
  assert.equal(englishHits[0]?.id, ids.english);
  assert.equal(englishHits[0]?.preview, ENGLISH);
  const chinese = await ok(client, "search_memories", { query: "向量数据库迁移", mode: "keyword" });
  assert.ok((chinese.hits as { id: string }[]).some((h) => h.id === ids.chinese));
  const bigHit = (await ok(client, "search_memories", { query: "observatory meteors ridge", limit: 3 })).hits as { id: string; preview: string }[];
  assert.ok(bigHit.length <= 3);
  const big = bigHit.find((h) => h.id === ids.big);
  assert.ok(big, "the big text is found");
  assert.equal(big.preview.length, MCP_BOUNDS.previewChars + 1, "a preview is 200 characters and an ellipsis");

  const listed = await ok(client, "list_memories", { limit: 3 });
  const first = listed.memories as { id: string; preview: string }[];
  assert.equal(first.length, 3);
  assert.equal(typeof listed.next, "string");
  const rest = await ok(client, "list_memories", { limit: 3, cursor: listed.next });
  assert.deepEqual([...first, ...(rest.memories as { id: string }[])].map((m) => m.id), [ids.english, ids.chinese, ids.emoji, ids.big]);
  assert.equal(rest.next, null);
  assert.deepEqual(((await ok(client, "list_memories", { tags: ["emoji"] })).memories as { id: string }[]).map((m) => m.id), [ids.emoji]);

  // A near paraphrase of the English memory is its nearest neighbour (unrelated texts stay below the similarity floor).
  const sibling = await ok(client, "remember", { text: "The billing service moved to the Frankfurt region on Monday; the rollback plan is in the wiki runbook." });
  const related = await ok(client, "related_memories", { id: ids.english, limit: 10 });
  const relatedIds = (related.hits as { id: string }[]).map((h) => h.id);
  assert.equal(relatedIds[0], sibling.id, `related: ${relatedIds.join(",")}`);
  assert.ok(!relatedIds.includes(ids.english as string));

  const updated = await ok(client, "update_memory", { id: ids.emoji, text: `${EMOJI} (moved to Friday 📅)`, tags: ["emoji", "moved"] });
  assert.equal(updated.status, "updated");
  assert.equal(updated.id, ids.emoji);
  const afterUpdate = await ok(client, "recall", { id: ids.emoji });
  assert.equal(afterUpdate.text, `${EMOJI} (moved to Friday 📅)`);
  assert.deepEqual(afterUpdate.tags, ["emoji", "moved"]);
  assert.deepEqual(afterUpdate.meta, { source: "mcp-test" }, "meta left out stays");

  const forgotten = await ok(client, "forget", { id: ids.chinese });
  assert.equal(forgotten.forgotten, true);
  assert.match(errorText(await call(client, "recall", { id: ids.chinese })), /^E_NOT_FOUND: .*\nfix: /);

  const stats = await ok(client, "memory_stats", {});
  const sizes = (stats.namespaces as { namespace: string; memories: number; originalBytes: number; storedBytes: number }[])[0];
  assert.equal(sizes?.namespace, namespace);
  assert.equal(sizes?.memories, 4, "english, emoji, big and the sibling");
  assert.ok((sizes?.storedBytes ?? 0) > 0 && (sizes?.storedBytes ?? 0) < (sizes?.originalBytes ?? 0));

  // Invalid input is a tool error too, not a crash of the connection.
  // Refused by the SDK's check of the input schema, with memzip's code and fix as every tool error (it was "MCP error -32602: …").
  const usage = /^E_USAGE: invalid arguments for \S+: [\s\S]+\nfix: tools\/list gives /;
  assert.match(errorText(await call(client, "recall", { id: "" })), usage);
  assert.match(errorText(await call(client, "remember", { text: 42 })), /^E_USAGE: invalid arguments for remember: .*text/);
  // A tool the server does not have: memzip's code and fix too (it was "MCP error -32602: Tool forget_all not found").
  assert.match(errorText(await call(client, "forget_all", {})), /^E_USAGE: there is no tool "forget_all" here\nfix: tools\/list names the tools/);
  // An argument a tool does not take is refused by name, and nothing is written (it was dropped and the call succeeded).
  assert.match(errorText(await call(client, "remember", { text: "Moved the standup to 10:00.", ttl: "7d" })), /^E_USAGE: .*ttl/);
  assert.match(errorText(await call(client, "update_memory", { id: ids.english, txt: "a misspelt key" })), /^E_USAGE: .*txt/);
  assert.equal((await ok(client, "recall", { id: ids.english })).text, ENGLISH);
  assert.equal(((await ok(client, "memory_stats", {})).namespaces as { memories: number }[])[0]?.memories, 4, "nothing written by the refused calls");
  // The same text again is unchanged, and says the codec it is stored with (it said "").
  const again = await ok(client, "remember", { text: ENGLISH, tags: ["english"], kind: "note", meta: { source: "mcp-test" } });
  assert.equal(again.status, "unchanged");
  assert.equal(again.id, ids.english);
  assert.equal(again.codec, codecs.english);
  return ids;
}

describe("MCP server", () => {
  it("HTTP's server pool reuses a scope's idle servers, never across scopes, within its bounds", async () => {
    const engine = Engine.open({ db: ":memory:" });
    try {
      const made: string[] = [];
      const pool = new McpServerPool((scope) => (made.push(scope.keyId), createMcpServer({ engine, scope, textBytes: 1 << 20 })), 2, 2);
      const a = { keyId: "a", role: "write" as const, namespaces: ["ns-a"] };
      const b = { keyId: "b", role: "write" as const, namespaces: ["ns-b"] };
      const first = pool.take(a);
      pool.give(a, first);
      assert.equal(pool.take(a), first, "an idle server of the scope is reused");
      assert.notEqual(pool.take(b), first, "another scope never gets it");
      assert.notEqual(pool.take({ ...a, role: "read" }), first, "nor the same key with another role");
      assert.deepEqual(made, ["a", "b", "a"]);
      for (const server of [pool.take(a), pool.take(a), pool.take(a)]) pool.give(a, server);
      assert.equal(pool.size, 2, "at most perScope idle servers per scope");
      pool.give(b, pool.take(b));
      pool.give({ ...b, keyId: "c" }, pool.take({ ...b, keyId: "c" }));
      assert.equal(pool.size, 2, "at most maxScopes scopes: the one used longest ago goes");
    } finally {
      await engine.close();
    }
  });

  it("over stdio (the real CLI): every tool, exact text; nothing but protocol on stdout; exits when stdin closes", async () => {
    using dir = tempDir();
    const db = join(dir.path, "stdio.db");
    let stderr = "";
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "--db", db, "--namespace", "agent-1"], stderr: "pipe" });
    transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: "memzip-test", version: "1" });
    try {
      await client.connect(transport);
      await exercise(client, "agent-1");
      // A namespace outside the connection's: writes refused, reads find nothing.
      assert.match(errorText(await call(client, "remember", { text: "x", namespace: "other" })), /^E_USAGE: .*namespace "other"/);
    } finally {
      await client.close();
    }
    assert.match(stderr, /memzip mcp: ready on stdio/);

    // Read-only: the writing tools are not offered (a call of one is no tool here); reads work on the same store.
    const reader = new Client({ name: "memzip-test", version: "1" });
    await reader.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp", "--db", db, "--namespace", "agent-1", "--role", "read"], stderr: "ignore" }));
    try {
      assert.deepEqual((await reader.listTools()).tools.map((tool) => tool.name).sort(), ["list_memories", "memory_stats", "recall", "related_memories", "search_memories"]);
      assert.match(errorText(await call(reader, "remember", { text: "not allowed" })), /^E_USAGE: there is no tool "remember" here\nfix: .*a read-only key has no writing tools/);
      assert.equal(((await ok(reader, "memory_stats", {})).namespaces as { memories: number }[])[0]?.memories, 4);
    } finally {
      await reader.close();
    }

    // Closing stdin ends the process with status 0, having written nothing to stdout.
    const child = spawn(process.execPath, [CLI, "mcp", "--db", db], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.stdin.end();
    const bound = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const code = await exited;
    clearTimeout(bound);
    assert.equal(code, 0);
    assert.equal(stdout, "");
  });

  describe("over Streamable HTTP at /mcp on memzip serve", () => {
    let dir: { path: string; [Symbol.dispose](): void };
    let server: MemzipServer;
    let url: string;
    const keys: Record<"a" | "b" | "readA" | "ab" | "all", string> = { a: "", b: "", readA: "", ab: "", all: "" };

    before(async () => {
      dir = tempDir();
      const engine = Engine.open({ db: join(dir.path, "http.db") });
      keys.a = (await engine.keys.create({ role: "write", namespaces: ["team-a"] })).key;
      keys.b = (await engine.keys.create({ role: "write", namespaces: ["team-b"] })).key;
      keys.readA = (await engine.keys.create({ role: "read", namespaces: ["team-a"] })).key;
      keys.ab = (await engine.keys.create({ role: "write", namespaces: ["team-a2", "team-b2"] })).key;
      keys.all = (await engine.keys.create({ role: "admin", namespaces: ["*"] })).key;
      server = await createServer({ engine, logLevel: "silent", limits: { textBytes: 65536 } });
      url = await server.listen("127.0.0.1", 0);
    });
    after(async () => {
      await server?.close();
      dir?.[Symbol.dispose]();
    });

    async function connect(key: string): Promise<Client> {
      const client = new Client({ name: "memzip-test", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
      return client;
    }

    it("every tool with the key's namespace; another namespace's key sees none of it", async () => {
      const a = await connect(keys.a);
      let ids: Record<string, string>;
      try {
        ids = await exercise(a, "team-a");
      } finally {
        await a.close();
      }
      const b = await connect(keys.b);
      try {
        const missing = errorText(await call(b, "recall", { id: "no-such-id" }));
        for (const id of Object.values(ids)) {
          // Another namespace's memory answers exactly as a missing one.
          assert.equal(errorText(await call(b, "recall", { id })), missing.replace("no-such-id", id));
          assert.equal(errorText(await call(b, "recall", { id, namespace: "team-a" })), missing.replace("no-such-id", id));
          assert.equal(errorText(await call(b, "related_memories", { id })), missing.replace("no-such-id", id));
          assert.equal(errorText(await call(b, "forget", { id, namespace: "team-a" })), missing.replace("no-such-id", id));
          assert.equal(errorText(await call(b, "update_memory", { id, text: "overwritten" })), missing.replace("no-such-id", id));
        }
        for (const query of ["Frankfurt rollback runbook", "observatory meteors", "🎉 snacks"]) {
          assert.deepEqual((await ok(b, "search_memories", { query })).hits, []);
          assert.deepEqual((await ok(b, "search_memories", { query, namespace: "team-a" })).hits, []);
        }
        assert.deepEqual((await ok(b, "list_memories", {})).memories, []);
        assert.deepEqual((await ok(b, "list_memories", { namespace: "team-a" })).memories, []);
        // Another namespace answers exactly as an empty one of the connection's own (every field: hostile trial s61 found `expired` missing).
        const empty = (await ok(b, "memory_stats", {})).namespaces as Record<string, unknown>[];
        const other = (await ok(b, "memory_stats", { namespace: "team-a" })).namespaces as Record<string, unknown>[];
        assert.equal(empty[0]?.memories, 0);
        assert.deepEqual({ ...other[0], namespace: "" }, { ...empty[0], namespace: "" });
        assert.match(errorText(await call(b, "remember", { text: "into a", namespace: "team-a" })), /^E_USAGE: /);
        // B's own memory stays B's.
        const own = await ok(b, "remember", { text: ENGLISH });
        assert.equal(own.namespace, "team-b");
      } finally {
        await b.close();
      }
      // A still has its 3, untouched by B.
      const again = await connect(keys.a);
      try {
        assert.equal(((await ok(again, "memory_stats", {})).namespaces as { memories: number }[])[0]?.memories, 4);
        assert.equal((await ok(again, "recall", { id: ids.english })).text, ENGLISH);
      } finally {
        await again.close();
      }
    });

    it("a read key reads but may not write; no key or an unknown key is 401; GET is 405", async () => {
      const reader = await connect(keys.readA);
      try {
        assert.equal((await reader.listTools()).tools.some((tool) => ["remember", "update_memory", "forget"].includes(tool.name)), false);
        assert.match(errorText(await call(reader, "remember", { text: "nope" })), /^E_USAGE: there is no tool "remember" here/);
        assert.match(errorText(await call(reader, "forget", { id: "whatever" })), /^E_USAGE: there is no tool "forget" here/);
        assert.ok(Array.isArray((await ok(reader, "list_memories", {})).memories));
      } finally {
        await reader.close();
      }
      const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "curl", version: "1" } } });
      const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
      const wrong: Record<string, string>[] = [{}, { authorization: "Bearer mzk_not-a-key" }, { authorization: "Basic abc" }];
      for (const extra of wrong) {
        const response = await fetch(`${url}/mcp`, { method: "POST", headers: { ...headers, ...extra }, body: initialize });
        assert.equal(response.status, 401);
        // JSON-RPC's error object, the E_ code in its data.
        assert.equal(((await response.json()) as { error: { data: { code: string } } }).error.data.code, "E_UNAUTHORIZED");
      }
      const get = await fetch(`${url}/mcp`, { headers: { authorization: `Bearer ${keys.a}`, accept: "text/event-stream" } });
      assert.equal(get.status, 405);
      await get.body?.cancel();
    });

    it("an id two of the key's namespaces hold is refused without a namespace, as REST refuses it; with one it acts there only (hostile trial s59)", async () => {
      const both = await connect(keys.ab);
      try {
        await ok(both, "remember", { text: "Team A2's copy of the plan.", id: "plan", namespace: "team-a2" });
        await ok(both, "remember", { text: "Team B2's copy of the plan.", id: "plan", namespace: "team-b2" });
        // update_memory and forget acted on the first namespace's copy in silence; recall read it.
        for (const [tool, args] of [["update_memory", { id: "plan", tags: ["which"] }], ["forget", { id: "plan" }], ["recall", { id: "plan" }]] as const) {
          assert.match(errorText(await call(both, tool, args)), /^E_USAGE: memory "plan" exists in several of this connection's namespaces: team-a2, team-b2\nfix: Name one with the namespace argument/, tool);
        }
        await ok(both, "update_memory", { id: "plan", namespace: "team-b2", tags: ["b"] });
        await ok(both, "forget", { id: "plan", namespace: "team-a2" });
        const left = await ok(both, "recall", { id: "plan" });
        assert.deepEqual([left.namespace, left.text, left.tags], ["team-b2", "Team B2's copy of the plan.", ["b"]]);
      } finally {
        await both.close();
      }
    });

    it("a connection for every namespace names the namespace of a write, and the fix for an id several hold names the argument (hostile trial s61)", async () => {
      const all = await connect(keys.all);
      try {
        // It went to the configured namespace in silence, where REST's `*` key is refused.
        assert.match(errorText(await call(all, "remember", { text: "Where does this go?" })), /^E_USAGE: this connection acts in any namespace: name the namespace to write to\nfix: Pass namespace/);
        assert.equal(((await ok(all, "memory_stats", { namespace: "default" })).namespaces as { memories: number }[])[0]?.memories, 0, "nothing written");
        await ok(all, "remember", { text: "North copy.", id: "twice", namespace: "north" });
        await ok(all, "remember", { text: "South copy.", id: "twice", namespace: "south" });
        for (const [tool, args] of [["recall", { id: "twice" }], ["update_memory", { id: "twice", tags: ["x"] }], ["forget", { id: "twice" }], ["related_memories", { id: "twice" }]] as const) {
          const text = errorText(await call(all, tool, args));
          assert.match(text, /^E_USAGE: memory "twice" exists in several namespaces: north, south\nfix: Name one, e.g. namespace: "north"\.$/, tool);
        }
        // Over the server's text limit: E_TOO_LARGE, as REST answers it.
        assert.match(errorText(await call(all, "remember", { text: "x".repeat(65537), namespace: "north" })), /^E_TOO_LARGE: the text is 65537 bytes, over the limit of 65536/);
        const rest = await fetch(`${url}/v1/memories/twice`, { headers: { authorization: `Bearer ${keys.all}` } });
        assert.equal(rest.status, 400);
        assert.deepEqual(((await rest.json()) as { error: { code: string; hint: string } }).error.hint, "Name one, e.g. ?namespace=north.");
      } finally {
        await all.close();
      }
    });

    it("tags are bounded in list and recall answers, the rest counted in tagsOmitted (hostile trial s59: a list page of 2.6 MB)", async () => {
      const a = await connect(keys.a);
      try {
        const tags = Array.from({ length: 64 }, (_, i) => `${String(i).padStart(2, "0")}${"t".repeat(126)}`);
        await ok(a, "remember", { text: "A memory with many long tags.", id: "tagged", tags });
        const recalled = await ok(a, "recall", { id: "tagged" });
        const shown = recalled.tags as string[];
        assert.equal(JSON.stringify(shown).length <= MCP_BOUNDS.recallTagChars, true);
        assert.deepEqual(shown, tags.slice(0, shown.length), "the first tags, in order");
        assert.equal(recalled.tagsOmitted, tags.length - shown.length);
        assert.ok(shown.length > 0 && (recalled.tagsOmitted as number) > 0);
        const listed = ((await ok(a, "list_memories", { tags: ["00" + "t".repeat(126)] })).memories as { id: string; tags: string[]; tagsOmitted?: number }[]).find((m) => m.id === "tagged");
        assert.ok(listed);
        assert.equal(JSON.stringify(listed.tags).length <= MCP_BOUNDS.listTagChars, true);
        assert.equal(listed.tags.length + (listed.tagsOmitted ?? 0), 64);
        // Short tags cost their quotes and commas too (256 one-character tags were 801 characters of JSON in a 200 bound).
        const single = Array.from({ length: 64 }, (_, i) => String.fromCharCode(0x4e00 + i));
        await ok(a, "remember", { text: "A memory with many short tags.", id: "short", tags: single });
        const shortListed = ((await ok(a, "list_memories", { tags: [single[0] as string] })).memories as { id: string; tags: string[] }[]).find((m) => m.id === "short");
        assert.ok(shortListed && JSON.stringify(shortListed.tags).length <= MCP_BOUNDS.listTagChars && shortListed.tags.length < 64);
        // A memory whose tags fit shows them all, with no tagsOmitted.
        await ok(a, "remember", { text: "A memory with two tags.", id: "few", tags: ["x", "y"] });
        const few = await ok(a, "recall", { id: "few" });
        assert.deepEqual([few.tags, "tagsOmitted" in few], [["x", "y"], false]);
      } finally {
        await a.close();
      }
    });

    it("a message that is not JSON-RPC, or params that do not fit the method, get -32600 / -32602 with the request's id and a fix", async () => {
      const post = async (message: unknown) => {
        const response = await fetch(`${url}/mcp`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${keys.a}` },
          body: JSON.stringify(message),
        });
        return { status: response.status, body: (await response.json()) as Answer };
      };
      const arrayParams = await post({ jsonrpc: "2.0", id: 2, method: "tools/call", params: [1, 2] });
      assert.equal(arrayParams.status, 400);
      assert.deepEqual([arrayParams.body.id, arrayParams.body.error?.code, arrayParams.body.error?.data?.code], [2, -32600, "E_USAGE"]);
      assert.match(arrayParams.body.error?.message ?? "", /params must be an object/);
      // Valid JSON-RPC whose arguments are not an object: the SDK answered -32603 "internal error" with zod's issues as JSON.
      const textArguments = await post({ jsonrpc: "2.0", id: "t", method: "tools/call", params: { name: "recall", arguments: "heron" } });
      assert.equal(textArguments.status, 200);
      assert.deepEqual([textArguments.body.id, textArguments.body.error?.code], ["t", -32602]);
      assert.equal(textArguments.body.error?.message, "invalid params for tools/call: params.arguments: Invalid input: expected an object, received string");
      assert.ok(textArguments.body.error?.data?.hint);
      // Valid JSON memzip refuses (a number it cannot keep exactly) is not "not JSON" (-32700).
      const response = await fetch(`${url}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${keys.a}` },
        body: '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"remember","arguments":{"text":"big","meta":{"n":12345678901234567890}}}}',
      });
      const inexact = (await response.json()) as Answer;
      assert.equal(response.status, 400);
      assert.deepEqual([inexact.error?.code, inexact.error?.data?.code], [-32000, "E_INVALID_INPUT"]);
    });
  });
});
