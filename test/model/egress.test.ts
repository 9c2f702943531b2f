import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { blockedAddress, isLoopbackHost } from "../../src/model/egress.js";
import { OllamaBackend, OpenAiBackend } from "../../src/model/remote-backends.js";
import { sweepTrainingLeftovers, TRAINING_PREFIX } from "../../src/model/zstd-dictionary.js";
import { validateSemanticOptions } from "../../src/semantic/semantic.js";
import { ROOT, tempDir } from "../helpers.js";

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A loopback HTTP server that records every request and answers with `answer`. */
async function recordingServer(answer: (path: string, res: ServerResponse) => void): Promise<{ url: string; seen: Seen[]; [Symbol.asyncDispose](): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ path: req.url ?? "/", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      answer(req.url ?? "/", res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const completion = (_path: string, res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "ok" } }], usage: { prompt_tokens: 1, completion_tokens: 1 } }));
};
const ask = { messages: [{ role: "user" as const, content: "a private memory" }], maxTokens: 8 };
const usageError = (e: unknown) => isMemzipError(e, ErrorCode.USAGE);

describe("issue 12: secrets and egress", () => {
  it("sends no key unless apiKeyEnv names one (no implicit OPENAI_API_KEY), and the named key over loopback", async () => {
    await using server = await recordingServer(completion);
    const env = { OPENAI_API_KEY: "sk-implicit", MY_KEY: "sk-explicit" };
    await new OpenAiBackend({ name: "p", url: server.url, model: "m", stream: false }, env).generate(ask);
    assert.equal(server.seen.at(-1)?.headers.authorization, undefined);
    await new OpenAiBackend({ name: "p", url: server.url, model: "m", stream: false, apiKeyEnv: "MY_KEY" }, env).generate(ask);
    assert.equal(server.seen.at(-1)?.headers.authorization, "Bearer sk-explicit");
  });

  it("refuses to send a key over plain http off this machine; https and loopback are fine", () => {
    const env = { MY_KEY: "sk-explicit" };
    assert.throws(() => new OpenAiBackend({ name: "p", url: "http://api.example.com", model: "m", apiKeyEnv: "MY_KEY" }, env), usageError);
    assert.doesNotThrow(() => new OpenAiBackend({ name: "p", url: "https://api.example.com", model: "m", apiKeyEnv: "MY_KEY" }, env));
    assert.doesNotThrow(() => new OpenAiBackend({ name: "p", url: "http://localhost:8080", model: "m", apiKeyEnv: "MY_KEY" }, env));
    assert.doesNotThrow(() => new OpenAiBackend({ name: "p", url: "http://api.example.com", model: "m" }, env), "no key, nothing to leak");
  });

  it("refuses link-local and metadata addresses as backends unless allowLinkLocal is set", () => {
    const blocked = ["http://169.254.169.254", "http://169.254.1.2:11434", "http://2852039166", "http://0xa9fea9fe", "http://[::ffff:169.254.169.254]", "http://[fe80::1]:8080", "http://metadata.google.internal", "http://[fd00:ec2::254]", "http://100.100.100.200"];
    for (const url of blocked) {
      assert.throws(() => new OllamaBackend({ name: "o", url, model: "m" }), usageError, url);
      assert.throws(() => new OpenAiBackend({ name: "p", url, model: "m" }, {}), usageError, url);
      assert.throws(() => validateSemanticOptions({ backends: [{ name: "o", kind: "ollama", url, model: "m" }] }), usageError, url);
      assert.doesNotThrow(() => new OllamaBackend({ name: "o", url, model: "m", allowLinkLocal: true }), url);
      assert.doesNotThrow(() => validateSemanticOptions({ backends: [{ name: "o", kind: "ollama", url, model: "m", allowLinkLocal: true }] }), url);
    }
    for (const host of ["127.0.0.1", "10.0.0.8", "192.168.1.1", "api.example.com", "[::1]", "[2001:db8::1]"]) assert.equal(blockedAddress(host), undefined, host);
    assert.ok(isLoopbackHost("127.0.0.5") && isLoopbackHost("[::1]") && isLoopbackHost("localhost") && !isLoopbackHost("10.0.0.1"));
    assert.throws(() => new OllamaBackend({ name: "o", url: "file:///etc/passwd", model: "m" }), usageError);
    assert.throws(() => new OllamaBackend({ name: "o", url: "http://user:secret@example.com", model: "m" }), usageError);
  });

  it("does not follow a redirect: the memory is not posted to the new host and the error is typed", async () => {
    await using target = await recordingServer(completion);
    await using redirector = await recordingServer((path, res) => {
      res.writeHead(307, { location: `${target.url}${path}` });
      res.end();
    });
    const env = { MY_KEY: "sk-explicit" };
    const backends = [
      new OpenAiBackend({ name: "p", url: redirector.url, model: "m", stream: false, retries: 0, apiKeyEnv: "MY_KEY" }, env),
      new OpenAiBackend({ name: "p", url: redirector.url, model: "m", stream: true, retries: 0 }, env),
      new OllamaBackend({ name: "o", url: redirector.url, model: "m", stream: false, retries: 0 }),
    ];
    for (const backend of backends) {
      await assert.rejects(backend.generate(ask), (e: unknown) => isMemzipError(e, ErrorCode.BACKEND_REJECTED) && /307/.test((e as Error).message));
    }
    await assert.rejects(backends[2]!.embed(["a private memory"]), (e: unknown) => isMemzipError(e, ErrorCode.BACKEND_REJECTED));
    assert.equal(redirector.seen.length, 4);
    assert.equal(target.seen.length, 0, "a redirected request reached the other host");
  });

  it("training samples live in a private folder that a kill -9 leaves and the next start sweeps", async () => {
    await using dir = tempDir();
    const tmp = join(dir.path, "tmp");
    mkdirSync(tmp);
    const marker = join(dir.path, "zstd-started");
    const fakeZstd = join(dir.path, "fake-zstd");
    writeFileSync(fakeZstd, `#!/bin/sh\ntouch '${marker}'\nexec sleep 600\n`);
    chmodSync(fakeZstd, 0o755);
    const module = pathToFileURL(join(ROOT, "dist", "src", "model", "zstd-dictionary.js")).href;
    const script = `const { trainZstdDictionary } = await import(${JSON.stringify(module)});
      trainZstdDictionary(Array.from({ length: 12 }, (_, i) => new TextEncoder().encode("secret memory " + i)), { zstdBinary: ${JSON.stringify(fakeZstd)} });`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, TMPDIR: tmp }, detached: true, stdio: "ignore" });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      while (!existsSync(marker)) {
        if (child.exitCode !== null) assert.fail(`the training child exited early (${child.exitCode})`);
        await sleep(20);
      }
      process.kill(-(child.pid as number), "SIGKILL");
      await exited;
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid as number), "SIGKILL");
    }
    const left = readdirSync(tmp);
    assert.equal(left.length, 1);
    assert.ok(left[0]?.startsWith(`${TRAINING_PREFIX}${child.pid}-`), left[0]);
    const folder = join(tmp, left[0] as string);
    assert.equal(statSync(folder).mode & 0o777, 0o700);
    assert.equal(readdirSync(folder).length, 12);

    const mine = join(tmp, `${TRAINING_PREFIX}${process.pid}-live`);
    mkdirSync(mine);
    assert.deepEqual(sweepTrainingLeftovers(tmp), [folder]);
    assert.deepEqual(readdirSync(tmp), [`${TRAINING_PREFIX}${process.pid}-live`], "a running process's folder is kept");
  });
});
