import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { RecallCounts, warmCache } from "../../src/server/warm.js";
import { devCorpus, tempDir } from "../helpers.js";
import { bearer, readEvents, startServer, waitFor } from "./http.js";

const texts = devCorpus()
  .slice(0, 40)
  .map((record) => record.text);

describe("server operations: metrics, logs, warming", () => {
  it("logs of a full run hold neither a key nor any memory text; /metrics needs an admin key and labels only route patterns", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path);
    try {
      const { url, engine } = running;
      const writer = (await engine.keys.create({ role: "write", namespaces: ["agent"] })).key;
      const admin = (await engine.keys.create({ role: "admin", namespaces: ["*"] })).key;
      const json = (key: string) => bearer(key, { "content-type": "application/json" });
      const created = await fetch(`${url}/v1/memories`, { method: "POST", headers: json(writer), body: JSON.stringify({ text: texts[0], id: "first" }) });
      assert.equal(created.status, 201);
      const batch = await fetch(`${url}/v1/memories:batch`, { method: "POST", headers: json(writer), body: JSON.stringify({ items: texts.slice(1, 10).map((text) => ({ text })) }) });
      assert.equal(batch.status, 201, await batch.clone().text());
      const read = (await (await fetch(`${url}/v1/memories/first`, { headers: bearer(writer) })).json()) as { text: string };
      assert.equal(read.text, texts[0]);
      const word = (texts[0] as string).split(/\s+/).find((w) => w.length > 5) ?? "memory";
      assert.equal((await fetch(`${url}/v1/search`, { method: "POST", headers: json(writer), body: JSON.stringify({ query: word }) })).status, 200);
      const upload = await fetch(`${url}/v1/imports`, {
        method: "POST",
        headers: bearer(writer, { "content-type": "application/x-ndjson" }),
        body: texts.slice(10, 20).map((text) => JSON.stringify({ text })).join("\n"),
      });
      assert.equal(upload.status, 202);
      const events = await readEvents(await fetch(`${url}/v1/imports/${((await upload.json()) as { job: string }).job}/events`, { headers: bearer(writer) }));
      assert.equal(events.at(-1)?.event, "done");
      assert.equal((await fetch(`${url}/v1/export`, { headers: bearer(writer) })).status, 200);
      const badKey = `${writer.slice(0, -4)}zzzz`;
      assert.equal((await fetch(`${url}/v1/memories/first`, { headers: bearer(badKey) })).status, 401);
      assert.equal((await fetch(`${url}/v1/memories/first?namespace=other`, { headers: bearer(writer) })).status, 404);

      // /metrics: admin only by default.
      assert.equal((await fetch(`${url}/metrics`)).status, 401);
      assert.equal((await fetch(`${url}/metrics`, { headers: bearer(writer) })).status, 403);
      // An admin of one namespace: the figures are every namespace's.
      const agentAdmin = (await engine.keys.create({ role: "admin", namespaces: ["agent"] })).key;
      const refused = await fetch(`${url}/metrics`, { headers: bearer(agentAdmin) });
      assert.deepEqual([refused.status, ((await refused.json()) as { error: { code: string } }).error.code], [403, "E_FORBIDDEN"]);
      const response = await fetch(`${url}/metrics`, { headers: bearer(admin) });
      assert.equal(response.status, 200);
      const metrics = await response.text();
      assert.match(metrics, /memzip_http_requests_total\{route="\/v1\/memories\/:id",method="GET",status="200"\} 1/);
      assert.match(metrics, /memzip_http_requests_total\{route="\/v1\/memories\/:id",method="GET",status="401"\} 1/);
      assert.match(metrics, /memzip_http_request_duration_seconds_bucket\{le="[^"]+",route="\/v1\/search",method="POST"\}/);
      assert.match(metrics, /memzip_http_request_bytes_total\{route="\/v1\/memories"\} \d+/);
      assert.match(metrics, /memzip_engine_events\{counter="memoriesStored"\} 20/);
      assert.match(metrics, /memzip_compression_ratio [1-9]/);
      assert.match(metrics, /memzip_cache\{stat="hits"\} \d+/);
      assert.match(metrics, /memzip_process_resident_memory_bytes \d+/);
      assert.match(metrics, /memzip_process_cpu_seconds_total \d/);
      assert.doesNotMatch(metrics, /memzip_vram_bytes\{/, "no model ran: VRAM is not reported, and no runtime was loaded to report it");
      assert.doesNotMatch(metrics, /route="\/v1\/memories\/first"/, "labels are route patterns, never ids");

      await running.server.close();
      const logs = running.logs.join("");
      assert.ok(logs.includes('"statusCode":401'), "the run was logged");
      for (const secret of [writer, admin, badKey, writer.slice(4, 20)]) assert.ok(!logs.includes(secret), "a key reached the log");
      for (const text of texts.slice(0, 20)) {
        const probe = text.slice(0, 24);
        assert.ok(!logs.includes(probe) && !logs.includes(JSON.stringify(probe).slice(1, -1)), `memory text reached the log: ${probe}`);
      }
    } finally {
      await running.server.close();
    }
  });

  it("serves /metrics without a key when told to", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { metricsPublic: true });
    try {
      const response = await fetch(`${running.url}/metrics`);
      assert.equal(response.status, 200);
      assert.match(await response.text(), /memzip_nodejs_heap_size_used_bytes|memzip_process_resident_memory_bytes/);
    } finally {
      await running.server.close();
    }
  });

  it("warms the cache after listening: the most recalled memories of the last run first, then the newest, bounded", async () => {
    using dir = tempDir();
    const db = `${dir.path}/warm.db`;
    const ids: string[] = [];
    {
      await using engine = Engine.open({ db });
      for (const result of await engine.rememberMany(texts.map((text, i) => ({ text, id: `w-${i}` })), { namespace: "n" })) ids.push(result.id);
    }
    // warmCache alone: counts first (an old memory), then the newest, up to `count`.
    {
      await using engine = Engine.open({ db });
      const counts = new RecallCounts();
      for (let i = 0; i < 3; i++) counts.record("n", "w-0");
      counts.record("n", "w-1");
      const report = await warmCache(engine, { count: 5, timeMs: 60_000, signal: new AbortController().signal, counts });
      assert.equal(report.decoded, 5);
      assert.equal(report.stopped, "count");
      assert.equal(engine.cacheStats().entries, 5);
      const misses = engine.cacheStats().misses;
      for (const id of ["w-0", "w-1", "w-39", "w-38", "w-37"]) await engine.recall(id, { namespace: "n" });
      assert.equal(engine.cacheStats().misses, misses, "the warmed memories are the ones decoded");
      await engine.recall("w-20", { namespace: "n" });
      assert.equal(engine.cacheStats().misses, misses + 1);
      const aborted = new AbortController();
      aborted.abort();
      assert.equal((await warmCache(engine, { count: 5, timeMs: 60_000, signal: aborted.signal })).stopped, "shutdown");
    }
    // The server: recalls counted from its traffic are kept on close and warmed first on the next start.
    {
      const running = await startServer(dir.path, { warm: 0 }, {}, "warm.db");
      const key = (await running.engine.keys.create({ role: "read", namespaces: ["n"] })).key;
      for (let i = 0; i < 2; i++) assert.equal((await fetch(`${running.url}/v1/memories/w-3`, { headers: bearer(key) })).status, 200);
      await running.server.close();
    }
    const running = await startServer(dir.path, { warm: 2 }, {}, "warm.db");
    try {
      await waitFor(() => (running.engine.cacheStats().entries >= 2 ? true : undefined), "the warming");
      const misses = running.engine.cacheStats().misses;
      await running.engine.recall("w-3", { namespace: "n" });
      await running.engine.recall("w-39", { namespace: "n" });
      assert.equal(running.engine.cacheStats().misses, misses, "w-3 (recalled before the restart) and the newest were warmed");
      assert.equal(running.engine.cacheStats().entries, 2);
    } finally {
      await running.server.close();
    }
  });
});
