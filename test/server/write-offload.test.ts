import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { AsyncCodec } from "../../src/codec/async-codec.js";
import { Engine } from "../../src/engine.js";
import { CodecPool } from "../../src/pipeline/codec-pool.js";
import { detectLanguage } from "../../src/semantic/language.js";
import { createServer } from "../../src/server/app.js";
import { openStore } from "../../src/store/open.js";
import { devCorpus, tempDir } from "../helpers.js";

/**
 * Server writes coded off the event loop (issue 17): reads are answered while a batch is being
 * coded, a write beyond the server's bound is refused with 503 and Retry-After (never queued),
 * and shutdown lets the held batch commit whole before the store closes. A codec registered from
 * outside holds the batch in coding until the test releases it (a latch, no timing).
 */

/** Declines every input; while `hold` is set, its first call in a write waits for the latch. */
function latchCodec() {
  let release: () => void = () => undefined;
  let entered: () => void = () => undefined;
  const state = {
    hold: false,
    /** Resolves once a write is held inside the codec. */
    entered: Promise.resolve(),
    release: () => release(),
  };
  const arm = () => {
    state.hold = true;
    state.entered = new Promise<void>((resolve) => (entered = resolve));
    const latch = new Promise<void>((resolve) => (release = resolve));
    return latch;
  };
  let latch = Promise.resolve();
  const codec: AsyncCodec = {
    name: "test-latch",
    id: 202,
    async encode() {
      if (state.hold) {
        entered();
        await latch;
      }
      return null;
    },
    async decode() {
      throw new Error("test-latch writes nothing");
    },
  };
  return {
    codec,
    state,
    arm: () => {
      latch = arm();
    },
    disarm: () => {
      state.hold = false;
      release();
    },
  };
}

const texts = devCorpus()
  .slice(0, 24)
  .map(({ text }, i) => ({ id: `b-${i}`, text }));

async function setup(dir: string) {
  const latch = latchCodec();
  const engine = Engine.create({ store: openStore(join(dir, "store.db")), extraCodecs: [latch.codec], workers: 2, autoTrainAfter: 0 });
  const key = (await engine.keys.create({ role: "write", namespaces: ["ns"] })).key;
  const server = await createServer({ engine, limits: { ratePerSecond: 0, writesInFlight: 1 }, logLevel: "silent" });
  const url = await server.listen("127.0.0.1", 0);
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const raw = await response.text();
    return { status: response.status, headers: response.headers, json: raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined, raw };
  };
  return { latch, engine, server, call };
}

describe("server writes off the event loop", () => {
  it("answers reads while a batch is held in coding, refuses a write over the bound with 503 + Retry-After, then commits the batch exactly", async () => {
    using dir = tempDir();
    const { latch, engine, server, call } = await setup(dir.path);
    try {
      const seen = "a memory stored before the batch: 斑马鱼 🦓";
      const single = await call("POST", "/v1/memories", { text: seen, id: "seen" });
      assert.equal(single.status, 201, single.raw);
      const tasks = engine.metricsSnapshot().workerTasks;
      assert.ok(tasks >= 1, "a single write's built-in codecs ran on a worker thread");

      latch.arm();
      const batch = call("POST", "/v1/memories:batch", { items: texts });
      await latch.state.entered;
      // The batch is inside its coding now: reads are answered, and nothing of it is visible.
      const read = await call("GET", "/v1/memories/seen");
      assert.equal(read.status, 200, read.raw);
      assert.equal(read.json?.text, seen);
      assert.equal((await call("GET", `/v1/memories/${texts[0]?.id}`)).status, 404, "no item of a batch in coding is visible");
      const listed = await call("GET", "/v1/memories?limit=100");
      assert.equal(listed.status, 200, listed.raw);
      assert.deepEqual(
        (listed.json?.items as { id: string }[]).map((m) => m.id),
        ["seen"],
      );
      // One write in flight is the bound here: another is refused at once, not queued.
      const refused = await call("POST", "/v1/memories", { text: "one too many" });
      assert.equal(refused.status, 503, refused.raw);
      assert.equal(refused.headers.get("retry-after"), "1");
      assert.equal((refused.json?.error as { code: string }).code, "E_BUSY");

      latch.disarm();
      const done = await batch;
      assert.equal(done.status, 201, done.raw);
      assert.equal((done.json?.items as unknown[]).length, texts.length);
      for (const { id, text } of texts) {
        const back = await call("GET", `/v1/memories/${id}`);
        assert.equal(back.json?.text, text, `${id} reads back byte for byte`);
      }
      assert.ok(engine.metricsSnapshot().workerTasks >= tasks + texts.length, "the batch was coded on worker threads");
      assert.equal((await call("POST", "/v1/memories", { text: "room again" })).status, 201, "the bound frees once the batch is done");
      assert.equal((await engine.verify()).failed, 0);
    } finally {
      latch.disarm();
      await server.close();
    }
  });

  it("on close, finishes the batch held in coding (whole), then stops the worker threads and closes the store", async () => {
    using dir = tempDir();
    const { latch, server, call } = await setup(dir.path);
    let closed: Promise<void> | undefined;
    try {
      latch.arm();
      const batch = call("POST", "/v1/memories:batch", { items: texts });
      await latch.state.entered;
      closed = server.close();
      latch.disarm();
      const done = await batch;
      assert.equal(done.status, 201, done.raw);
      await closed;
    } finally {
      latch.disarm();
      await (closed ?? server.close());
    }
    const again = Engine.open({ db: join(dir.path, "store.db"), readOnly: true });
    try {
      for (const { id, text } of texts) assert.equal(await again.recall(id, { namespace: "ns" }), text);
    } finally {
      await again.close();
    }
  });

  it("detects a text's language on a worker thread exactly as on the main thread", async () => {
    const pool = new CodecPool(2, { zstdLevel: 3, maxTextBytes: 1 << 20 });
    try {
      const samples = devCorpus().slice(0, 200);
      const offThread = await Promise.all(samples.map(({ text }) => pool.detectLanguage(text)));
      assert.deepEqual(
        offThread,
        samples.map(({ text }) => detectLanguage(text)),
      );
      assert.ok(new Set(offThread).size >= 2, "the samples span more than one language");
    } finally {
      await pool.close();
    }
  });
});
