import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { decodeEnvelope } from "../../src/codec/envelope-codec.js";
import { chooseSmallestVerified } from "../../src/codec/policy.js";
import { createCodecs } from "../../src/codec/registry.js";
import { textToBytes } from "../../src/codec/text.js";
import { Engine } from "../../src/engine.js";
import { CodecPool } from "../../src/pipeline/codec-pool.js";
import { mapOrdered } from "../../src/core/ordered.js";
import { seededRandom } from "../../src/core/stats.js";
import { collect, devCorpus, tempDir, storeOf } from "../helpers.js";

async function* numbers(count: number, onRead?: (i: number) => void): AsyncGenerator<number> {
  for (let i = 0; i < count; i++) {
    onRead?.(i);
    yield i;
  }
}

describe("mapOrdered", () => {
  it("yields results in input order with at most `concurrency` running and `window` held", async () => {
    const random = seededRandom(11);
    let running = 0;
    let maxRunning = 0;
    let read = 0;
    let yielded = 0;
    let maxHeld = 0;
    const out: number[] = [];
    for await (const value of mapOrdered(numbers(300, () => read++), { concurrency: 5, window: 12 }, async (i) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(Math.floor(random() * 4));
      running--;
      return i * 2;
    })) {
      maxHeld = Math.max(maxHeld, read - yielded);
      yielded++;
      out.push(value);
    }
    assert.deepEqual(out, Array.from({ length: 300 }, (_, i) => i * 2));
    assert.equal(maxRunning, 5);
    assert.ok(maxHeld <= 12, `held ${maxHeld} items at once`);
  });

  it("stops reading when aborted and still yields what was started", async () => {
    const controller = new AbortController();
    let read = 0;
    const out = await collect(
      mapOrdered(numbers(10_000, () => read++), { concurrency: 4, window: 8, signal: controller.signal }, async (i) => {
        if (i === 50) controller.abort();
        await sleep(1);
        return i;
      }),
    );
    assert.ok(read < 70, `read ${read} items after the abort at 50`);
    assert.deepEqual(out, Array.from({ length: out.length }, (_, i) => i), "a prefix of the input, in order");
    assert.ok(out.length >= 51);
  });

  it("throws the first failure after the calls in flight settle", async () => {
    let settled = 0;
    await assert.rejects(
      collect(
        mapOrdered(numbers(100), { concurrency: 3 }, async (i) => {
          await sleep(i % 3);
          settled++;
          if (i === 20) throw new Error("boom at 20");
          return i;
        }),
      ),
      /boom at 20/,
    );
    assert.ok(settled >= 21);
  });

  it("when the consumer throws out of its loop, nothing queued starts and the loop ends only after the calls in flight", async () => {
    // Item 0 finishes at once; every other item waits for its latch, released by the test.
    const latches = new Map<number, () => void>();
    const started: number[] = [];
    const finished: number[] = [];
    let received!: () => void;
    const consumerHasValue = new Promise<void>((resolve) => (received = resolve));
    const consumer = (async () => {
      for await (const value of mapOrdered(numbers(50), { concurrency: 2, window: 8 }, async (i) => {
        started.push(i);
        if (i > 0) await new Promise<void>((resolve) => latches.set(i, resolve));
        finished.push(i);
        return i;
      })) {
        received();
        throw new Error(`the consumer failed on ${value}`);
      }
    })();
    let ended = false;
    void consumer.catch(() => undefined).finally(() => (ended = true));
    await consumerHasValue;
    assert.deepEqual(started, [0, 1, 2], "two calls at once: 1 and 2 run when the consumer fails");
    await sleep(5);
    assert.equal(ended, false, "the loop waits for the calls in flight");
    for (const i of [1, 2]) latches.get(i)!();
    await assert.rejects(consumer, /the consumer failed on 0/);
    assert.deepEqual(started, [0, 1, 2], "nothing queued started after the consumer stopped");
    assert.deepEqual(finished.sort(), [0, 1, 2]);
  });
});

describe("classical codec worker pool", () => {
  it("makes the same choice as the main thread, and its envelopes decode here", async () => {
    const codecs = createCodecs({ zstdLevel: 19 });
    const pool = new CodecPool(2, { zstdLevel: 19, maxTextBytes: 1 << 24 });
    try {
      const records = devCorpus().slice(0, 120);
      const candidates = [{ codec: codecs.byName.get("zstd")! }, { codec: codecs.byName.get("raw")! }];
      const choices = await Promise.all(records.map(({ text }) => pool.choose(textToBytes(text, 1 << 24), candidates.map((c) => ({ codec: c.codec.name })), 16)));
      records.forEach(({ text }, i) => {
        const bytes = textToBytes(text, 1 << 24);
        const local = chooseSmallestVerified(bytes, candidates, (e) => decodeEnvelope(e, codecs.byId, () => undefined, 1 << 24), 16);
        const remote = choices[i]!;
        assert.equal(remote.codec, local.codec.name);
        assert.deepEqual(Buffer.from(remote.envelope), Buffer.from(local.envelope));
        assert.equal(Buffer.from(decodeEnvelope(remote.envelope, codecs.byId, () => undefined, 1 << 24)).toString("utf8"), text);
      });
    } finally {
      await pool.close();
    }
  });

  it("an import on workers stores every dev record exactly, with trained assets sent to the workers", async () => {
    await using engine = Engine.open({ db: ":memory:", workers: 2, autoTrainAfter: 0 });
    const records = devCorpus().slice(0, 600).map(({ id, text }) => ({ id, text }));
    await engine.rememberMany(records.slice(0, 300));
    await engine.trainAsset("cm-snapshot");
    await engine.trainAsset("zstd-dictionary");
    const results = await engine.rememberMany(records.slice(300));
    assert.ok(results.some((r) => r.codec === "cm-ref" || r.codec === "cm"), "workers used the trained snapshot");
    assert.ok(engine.metricsSnapshot().workerTasks >= 300);
    for (const { id, text } of records) assert.equal(await engine.recall(id), text);
    assert.equal((await engine.verify()).failed, 0);
  });
});

describe("content addressing", () => {
  it("stores a repeated text once per namespace, whatever the ids, and counts its bytes once there; another namespace holds its own copy", async () => {
    await using engine = Engine.open({ db: ":memory:", autoTrainAfter: 0 });
    const text = devCorpus()[10]!.text;
    const first = await engine.remember({ id: "a", text });
    const copies = await engine.rememberMany([
      { id: "b", text },
      { id: "c", text, namespace: "other" },
    ]);
    assert.ok(first.storedBytes > 0);
    const [same, other] = copies;
    assert.deepEqual([same?.deduplicated, same?.storedBytes], [true, 0], "a copy in the same namespace is a reference");
    // Content addressing stays within a namespace: "other" learns nothing of "default" and codes its own copy.
    assert.equal(other?.deduplicated, undefined);
    assert.ok((other?.storedBytes ?? 0) > 0);
    const stats = (await engine.stats());
    assert.equal(stats.memories, 3);
    assert.equal(stats.storedBytes, first.storedBytes + (other?.storedBytes ?? 0));
    for (const id of ["a", "b"]) assert.equal(await engine.recall(id), text);
    assert.equal(await engine.recall("c", { namespace: "other" }), text);
    assert.equal(engine.metricsSnapshot().deduplicated, 1);
  });

  it("deleting or rewriting the memory that holds a text keeps the references exact", async () => {
    await using engine = Engine.open({ db: ":memory:", autoTrainAfter: 0 });
    const [x, y] = devCorpus().slice(20, 22).map((r) => r.text) as [string, string];
    await engine.rememberMany([{ id: "holder", text: x }]);
    await engine.rememberMany([
      { id: "ref1", text: x },
      { id: "ref2", text: x },
    ]);
    await engine.forget("holder");
    assert.equal(await engine.recall("ref1"), x);
    assert.equal(await engine.recall("ref2"), x);
    await engine.remember({ id: "ref1", text: y }); // ref1 now holds the text after the promotion: it takes another
    assert.equal(await engine.recall("ref1"), y);
    assert.equal(await engine.recall("ref2"), x);
    assert.equal((await engine.verify()).failed, 0);
    const recoded = await engine.recode("default", { codec: "zstd" });
    assert.equal(recoded.checked, 2, "references are recoded with the memory that holds their text");
    assert.equal(await engine.recall("ref2"), x);
    assert.equal((await engine.list()).find((m) => m.id === "ref2")?.codec, "zstd");
  });
});

describe("similarity grouping", () => {
  /** Agent memories from templates: near-similar within a template, different across them. */
  function templated(count: number): { id: string; text: string }[] {
    const random = seededRandom(5);
    const templates = [
      (n: number) => `Order #${10_000 + n} for customer account ${n * 7} shipped from the Rotterdam warehouse on 2026-03-${String(1 + (n % 28)).padStart(2, "0")}; tracking sent by email, delivery expected within three working days.`,
      (n: number) => `用户 ${n} 在周五的项目会议上确认：预算审批已经通过，迁移计划推迟到下个季度，负责人会在周一发送更新后的时间表。编号 ${n * 13}。`,
      (n: number) => `Deploy ${n} of service atlas-api to production failed health checks after ${n % 9} minutes; rolled back to the previous release and paged the on-call engineer for a review.`,
    ];
    return Array.from({ length: count }, (_, i) => ({ id: `t${i}`, text: (templates[Math.floor(random() * templates.length)] as (n: number) => string)(i) }));
  }

  it("groups near-similar memories of a batch around a shared dictionary, only where that saves bytes", async () => {
    const records = templated(96);
    const sizes: Record<string, number> = {};
    for (const threshold of [1, 0.85]) {
      await using engine = Engine.open({ db: ":memory:", autoTrainAfter: 0, similarityThreshold: threshold, codecs: ["raw", "zstd"], batchSize: 96 });
      const results = await engine.rememberMany(records);
      for (const { id, text } of records) assert.equal(await engine.recall(id), text);
      assert.equal((await engine.verify()).failed, 0);
      const stats = (await engine.stats());
      sizes[String(threshold)] = stats.storedBytes + stats.assetBytes;
      if (threshold < 1) {
        assert.ok(results.filter((r) => r.grouped).length > 60, "most memories joined a group");
        assert.ok(engine.metricsSnapshot().groupDictionaries >= 3);
      } else assert.equal(results.filter((r) => r.grouped).length, 0);
    }
    assert.ok(sizes["0.85"]! < sizes["1"]! * 0.8, `grouped ${sizes["0.85"]} bytes vs ${sizes["1"]} ungrouped, dictionaries counted`);
  });

  it("never groups memories of two namespaces around one dictionary (a restore's batch names several)", async () => {
    const records = templated(96).map((r, i) => ({ ...r, namespace: i % 2 === 0 ? "tenant-a" : "tenant-b" }));
    await using engine = Engine.open({ db: ":memory:", autoTrainAfter: 0, similarityThreshold: 0.85, codecs: ["raw", "zstd"], batchSize: 96 });
    const results = await engine.rememberMany(records);
    const store = storeOf(engine);
    let grouped = 0;
    for (const { namespace, id } of results) {
      const row = await store.memories.get(namespace, id);
      assert.ok(row, `${namespace}/${id} stored`);
      if (row.codec !== "zstd-dict" || !row.assetId) continue;
      grouped++;
      const asset = await store.assets.get(row.assetId);
      assert.equal(asset?.namespace, namespace, `${namespace}/${id} is coded against a dictionary of its own namespace`);
    }
    // Each namespace still groups its own similar memories.
    assert.ok(grouped > 40, `${grouped} memories grouped`);
    for (const { namespace, id, text } of records) assert.equal(await engine.recall(id, { namespace }), text);
  });

  it("leaves a batch of unrelated memories alone", async () => {
    await using engine = Engine.open({ db: ":memory:", autoTrainAfter: 0, codecs: ["raw", "zstd"] });
    const results = await engine.rememberMany(devCorpus().slice(0, 64).map(({ id, text }) => ({ id, text })));
    assert.ok(results.filter((r) => r.grouped).length <= 4);
    assert.equal((await storeOf(engine).assets.list()).length, engine.metricsSnapshot().groupDictionaries);
  });
});

describe("import pipeline", () => {
  it("a text too large is rejected by line while its neighbours land, in input order", async () => {
    await using dir = tempDir();
    const file = join(dir.path, "in.jsonl");
    writeFileSync(file, ["short one", "x".repeat(5000), "short two"].map((text, i) => JSON.stringify({ id: `r${i}`, text })).join("\n"));
    await using engine = Engine.open({ db: ":memory:", maxTextBytes: 1000, autoTrainAfter: 0 });
    const report = await engine.importJsonl(file, { batchSize: 2 });
    assert.equal(report.stored, 2);
    assert.deepEqual(report.rejected.map((r) => [r.where, r.code]), [["line 2", "E_INVALID_INPUT"]]);
    assert.equal((await engine.jobs())[0]?.line, 3);
  });
});
