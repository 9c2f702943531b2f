import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { CLI, closedWithin, tempDir } from "../helpers.js";

/** `memzip mcp` on a store given `input` as its whole stdin: its exit code and what it wrote. */
async function mcpWithInput(db: string, input: string, what: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, "mcp", "--db", db], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, MEMZIP_CONFIG: "/nonexistent/memzip-config.json" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = closedWithin(child, what);
  child.stdin.end(input);
  const { code } = await closed;
  return { code, stdout, stderr };
}

describe("memzip mcp when stdin ends right after a request", () => {
  it("answers every request it received before it closes the engine, and the write is stored", async () => {
    using dir = tempDir();
    const db = join(dir.path, "piped.db");
    const text = "The heron fishes at dawn in the reeds by the old mill.";
    const messages = [
      { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "t", version: "1" } } },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "remember", arguments: { text, id: "heron" } } },
    ];
    // The whole input at once, then end of input: the answer to id 2 must still come.
    const { code, stdout, stderr } = await mcpWithInput(db, messages.map((m) => JSON.stringify(m)).join("\n") + "\n", "memzip mcp with a piped request");
    assert.equal(code, 0, stderr);
    const answers = stdout.trim().split("\n").map((line) => JSON.parse(line) as { id: number; result?: { content: { text: string }[]; isError?: boolean } });
    assert.deepEqual(answers.map((a) => a.id), [1, 2], `both requests answered; stdout: ${stdout}`);
    const remembered = answers[1]?.result;
    assert.ok(remembered && !remembered.isError, JSON.stringify(remembered));
    assert.equal((JSON.parse(remembered.content[0]?.text ?? "{}") as { status: string }).status, "stored");
    await using engine = Engine.open({ db });
    assert.equal(await engine.recall("heron"), text);
  });

  it("answers every line that is not a valid request (with its id where it has one) and goes on; a bad notification gets no answer", async () => {
    using dir = tempDir();
    const db = join(dir.path, "lines.db");
    const lines = [
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }),
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      // The SDK's transport dropped these with no answer: the agent waited for ids 2 and "three" forever.
      JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: [1, 2] }),
      JSON.stringify({ jsonrpc: "2.0", id: "three", method: "tools/list", params: 7 }),
      // Valid JSON-RPC, arguments not an object: -32602, not -32603 with zod's issues as JSON.
      JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "recall", arguments: "heron" } }),
      "this is not JSON",
      "",
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/progress", params: "nope" }),
      // Over the 8 MiB bound, its id last (where the SDK's clients put it): answered by id, and the session goes on.
      JSON.stringify({ method: "tools/call", params: { name: "remember", arguments: { text: "x".repeat(9 << 20) } }, jsonrpc: "2.0", id: 5 }),
      JSON.stringify({ jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: "remember", arguments: { text: "The heron came back.", id: "heron" } } }),
      // A number JSON cannot hold exactly is refused, as every other door refuses it (parsed, it was stored rounded).
      '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"remember","arguments":{"text":"big","id":"big","meta":{"n":12345678901234567890}}}}',
      // Neither a notification nor a response is answered (a response's id is one of the server's own requests).
      '{"jsonrpc":"2.0","method":"notifications/initialized","params":{"n":12345678901234567890}}',
      '{"jsonrpc":"2.0","id":77,"result":{"n":12345678901234567890}}',
      '{"jsonrpc":"2.0","id":78,"result":[]}',
      JSON.stringify({ method: "notifications/progress", params: { progressToken: 1, progress: 1, message: "p".repeat(9 << 20) }, jsonrpc: "2.0" }),
      // Params of the right shape whose content is wrong: -32602 naming the field.
      JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping", params: { _meta: 5 } }),
    ];
    // The last message has no newline after it: the end of input ends it.
    const { code, stdout, stderr } = await mcpWithInput(db, `${lines.join("\n")}\n${JSON.stringify({ jsonrpc: "2.0", id: 7, method: "ping" })}`, "memzip mcp with invalid lines");
    assert.equal(code, 0, stderr);
    type Answer = { id: string | number | null; result?: { isError?: boolean }; error?: { code: number; message: string; data?: { code?: string; hint?: string } } };
    const answers = stdout.trim().split("\n").map((line) => JSON.parse(line) as Answer);
    const byId = new Map(answers.map((a) => [a.id, a]));
    assert.deepEqual(answers.map((a) => a.id).sort((a, b) => String(a).localeCompare(String(b))), [1, 2, 4, 5, 6, 7, 8, 9, null, "three"], stdout.slice(0, 2000));
    assert.deepEqual([byId.get(2)?.error?.code, byId.get(2)?.error?.message], [-32600, "invalid tools/call request: params must be an object"]);
    assert.equal(byId.get("three")?.error?.code, -32600);
    assert.deepEqual([byId.get(4)?.error?.code, byId.get(4)?.error?.message], [-32602, "invalid params for tools/call: params.arguments: Invalid input: expected an object, received string"]);
    assert.deepEqual([byId.get(null)?.error?.code, byId.get(null)?.error?.data?.code], [-32700, "E_USAGE"]);
    assert.deepEqual([byId.get(5)?.error?.code, byId.get(5)?.error?.message], [-32600, `message over ${8 << 20} bytes, not read`]);
    assert.ok(byId.get(6)?.result && !byId.get(6)?.result?.isError, JSON.stringify(byId.get(6)));
    assert.deepEqual(byId.get(7)?.result, {});
    assert.deepEqual([byId.get(8)?.error?.code, byId.get(8)?.error?.data?.code], [-32602, "E_INVALID_INPUT"]);
    assert.match(byId.get(8)?.error?.message ?? "", /12345678901234567890 cannot be kept exactly/);
    for (const answer of answers) if (answer.error) assert.ok(answer.error.data?.hint, `a fix with ${JSON.stringify(answer.error)}`);
    assert.match(stderr, /refused a notification or response: invalid notifications\/progress request: params must be an object/);
    assert.equal(byId.get(9)?.error?.code, -32602);
    assert.match(byId.get(9)?.error?.message ?? "", /^invalid params for ping: params\._meta: /);
    assert.match(stderr, /refused a notification or response: the number 12345678901234567890/);
    assert.match(stderr, /message over 8388608 bytes, not read \(no request id at its start or end: not answered\)/);
    await using engine = Engine.open({ db });
    assert.equal(await engine.recall("heron"), "The heron came back.");
    assert.equal((await engine.stats()).memories, 1, "the message over the bound stored nothing");
  });
});

