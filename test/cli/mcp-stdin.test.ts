import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { CLI, closedWithin, tempDir } from "../helpers.js";

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
    const child = spawn(process.execPath, [CLI, "mcp", "--db", db], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, MEMZIP_CONFIG: "/nonexistent/memzip-config.json" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = closedWithin(child, "memzip mcp with a piped request");
    // The whole input at once, then end of input: the answer to id 2 must still come.
    child.stdin.end(messages.map((m) => JSON.stringify(m)).join("\n") + "\n");
    const { code } = await closed;
    assert.equal(code, 0, stderr);
    const answers = stdout.trim().split("\n").map((line) => JSON.parse(line) as { id: number; result?: { content: { text: string }[]; isError?: boolean } });
    assert.deepEqual(answers.map((a) => a.id), [1, 2], `both requests answered; stdout: ${stdout}`);
    const remembered = answers[1]?.result;
    assert.ok(remembered && !remembered.isError, JSON.stringify(remembered));
    assert.equal((JSON.parse(remembered.content[0]?.text ?? "{}") as { status: string }).status, "stored");
    await using engine = Engine.open({ db });
    assert.equal(await engine.recall("heron"), text);
  });
});
