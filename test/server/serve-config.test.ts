import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { resolveConfig } from "../../src/config/load.js";
import { isMemzipError } from "../../src/errors.js";
import { CLI, spawnBounded } from "../helpers.js";
import { spawnServe } from "./http.js";

/**
 * `memzip serve`'s settings from the config file's `serve` section and `$MEMZIP_SERVE` (issue 17):
 * one zod schema checks them, `MEMZIP_SERVE` goes over the file and flags over both.
 */

const ENV = { ...process.env, MEMZIP_DB: "", MEMZIP_SERVE: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", MEMZIP_LOG_LEVEL: "warn" };


describe("memzip serve settings from the config file", () => {
  it("are checked by one schema, with the file, then MEMZIP_SERVE, then flags", () => {
    const dir = mkdtempSync(join(tmpdir(), "memzip-serve-config-"));
    try {
      const file = join(dir, "config.yaml");
      writeFileSync(file, "serve:\n  host: 0.0.0.0\n  port: 8080\n  cors: [https://app.example.com]\n  rate: 50\n  maxBody: 65536\n  maxText: 4096\n  maxWrites: 8\n  warm: 0\n  metricsPublic: true\n");
      const all = { host: "0.0.0.0", port: 8080, cors: ["https://app.example.com"], rate: 50, maxBody: 65536, maxText: 4096, maxWrites: 8, warm: 0, metricsPublic: true };
      assert.deepEqual(resolveConfig({ file, env: {} }).serve, all);
      assert.deepEqual(resolveConfig({ file, env: { MEMZIP_SERVE: '{"port": 9090, "rate": 0}' } }).serve, { ...all, port: 9090, rate: 0 });
      assert.deepEqual(resolveConfig({ file, env: { MEMZIP_SERVE: '{"port": 9090}' }, flags: { serve: { port: 1234 } } }).serve, { ...all, port: 1234 });
      const refused: [string, RegExp][] = [
        ["serve:\n  port: 70000\n", /"serve"\.port: .*65535/],
        ["serve:\n  cors: [https://app.example.com/path]\n", /"serve"\.cors\.0: an origin such as https:\/\/app\.example\.com/],
        ["serve:\n  colour: blue\n", /"serve": .*colour[\s\S]*serve takes host, port, cors, rate, maxBody, maxText, maxWrites, warm, metricsPublic/],
        ["serve: 8080\n", /"serve": /],
      ];
      for (const [content, message] of refused) {
        writeFileSync(file, content);
        assert.throws(() => resolveConfig({ file, env: {} }), (e) => isMemzipError(e, "E_USAGE") && e.message.includes(file) && message.test(e.message), content);
      }
      assert.throws(() => resolveConfig({ env: { MEMZIP_SERVE: '{"warm": -1}' } }), (e) => isMemzipError(e, "E_USAGE") && e.message.startsWith("MEMZIP_SERVE.warm: "));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a running server follows them: public metrics, CORS origins and the text limit from the file; a flag overrides the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "memzip-serve-config-"));
    try {
      const db = join(dir, "s.db");
      const created = spawnBounded(process.execPath, [CLI, "keys", "create", "--db", db, "--namespace", "a", "--role", "write", "--json"], { env: ENV, encoding: "utf8" });
      assert.equal(created.status, 0, created.stderr);
      const key = (JSON.parse(created.stdout) as { key: string }).key;
      const config = join(dir, "config.json");
      writeFileSync(config, JSON.stringify({ serve: { host: "127.0.0.1", port: 0, warm: 0, metricsPublic: true, cors: ["https://app.example.com"], maxText: 64 } }));
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };

      const fromFile = await spawnServe(["--db", db, "--config", config], ENV);
      try {
        assert.equal((await fetch(`${fromFile.url}/metrics`)).status, 200, "metricsPublic: /metrics needs no key");
        const preflight = await fetch(`${fromFile.url}/v1/memories`, { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "POST" } });
        assert.equal(preflight.headers.get("access-control-allow-origin"), "https://app.example.com");
        const small = await fetch(`${fromFile.url}/v1/memories`, { method: "POST", headers, body: JSON.stringify({ text: "short enough" }) });
        assert.equal(small.status, 201);
        const large = await fetch(`${fromFile.url}/v1/memories`, { method: "POST", headers, body: JSON.stringify({ text: "x".repeat(65) }) });
        assert.equal(large.status, 413, "maxText 64 from the file");
      } finally {
        fromFile.child.kill("SIGTERM");
        assert.equal(await fromFile.exited, 0);
      }

      // Flags over the file: another origin, and a larger text limit.
      const flagged = await spawnServe(["--db", db, "--config", config, "--cors", "https://other.example.com", "--max-text", "1000"], ENV);
      try {
        const preflight = await fetch(`${flagged.url}/v1/memories`, { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "POST" } });
        assert.equal(preflight.headers.get("access-control-allow-origin"), null, "the file's origin is replaced by --cors");
        const other = await fetch(`${flagged.url}/v1/memories`, { method: "OPTIONS", headers: { origin: "https://other.example.com", "access-control-request-method": "POST" } });
        assert.equal(other.headers.get("access-control-allow-origin"), "https://other.example.com");
        const large = await fetch(`${flagged.url}/v1/memories`, { method: "POST", headers, body: JSON.stringify({ text: "x".repeat(65) }) });
        assert.equal(large.status, 201, "--max-text 1000 over the file's 64");
      } finally {
        flagged.child.kill("SIGTERM");
        assert.equal(await flagged.exited, 0);
      }

      // A bad setting stops the start with a usage error naming the file and the setting.
      writeFileSync(config, JSON.stringify({ serve: { port: "eighty" } }));
      const bad = spawnBounded(process.execPath, [CLI, "serve", "--db", db, "--config", config], { env: ENV, encoding: "utf8" });
      assert.equal(bad.status, 2, bad.stderr);
      assert.ok(bad.stderr.includes(`E_USAGE: ${config}: "serve".port: `), bad.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
