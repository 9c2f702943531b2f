import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { bytesLearned } from "../../src/codec/cm/context-model.js";
import { snapshotTrainings } from "../../src/codec/cm/prepared-snapshot.js";
import { DerivedFolder, removeTaggedTemporary } from "../../src/codec/derived-folder.js";
import { Engine } from "../../src/engine.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { deriveSnapshotStateOffThread, trainAssetOffThread } from "../../src/model/asset-train-thread.js";
import { TRAINING_PREFIX, trainZstdDictionaryAsync } from "../../src/model/zstd-dictionary.js";
import { devCorpus, storeOf, tempDir } from "../helpers.js";

const encoder = new TextEncoder();
const samples = (n: number) => Array.from({ length: n }, (_, i) => encoder.encode(`memory ${i}: the deploy of service ${i % 7} finished`));

/**
 * A zstd stand-in that trains only once `go` exists (at most 30 s, then it fails): a caller whose thread
 * blocks on it can never create that file.
 */
function waitingZstd(dir: string, go: string): string {
  const path = join(dir, "fake-zstd");
  writeFileSync(
    path,
    `#!/bin/sh
out=""
while [ $# -gt 0 ]; do [ "$1" = "-o" ] && out="$2"; shift; done
i=0
while [ ! -e '${go}' ]; do i=$((i+1)); [ $i -gt 600 ] && exit 3; sleep 0.05; done
printf 'trained' > "$out"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/**
 * Aborts `controller` as soon as `folder` holds a temporary file: a model state's file is open (as .tmp) for the whole
 * compression of the model's memory (~0.2–0.5 s), looked at every 2 ms until then or until `stop`.
 */
function abortWhenTemporary(folder: string, controller: AbortController): { seen: () => boolean; stop: () => void } {
  let seen = false;
  let stopped = false;
  const watch = () => {
    if (stopped) return;
    if (existsSync(folder) && readdirSync(folder).some((name) => name.endsWith(".tmp"))) {
      seen = true;
      controller.abort(new Error("stop"));
    } else setTimeout(watch, 2);
  };
  setTimeout(watch, 2);
  return { seen: () => seen, stop: () => (stopped = true) };
}

/** Runs `body` with TMPDIR set to `tmp` (where training folders go), put back after. */
async function withTmpdir<T>(tmp: string, body: () => Promise<T>): Promise<T> {
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    return await body();
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
}

/**
 * Training takes seconds per MB of text (a cm snapshot codes its texts, zstd trains for as long, a new
 * snapshot's first use decodes it again). Done on the caller's thread, a server answered no other
 * request for that long, and an import's Ctrl-C waited for it.
 */
describe("asset training runs off the caller's thread", () => {
  it("zstd trains while this thread goes on running", async () => {
    using dir = tempDir();
    const tmp = join(dir.path, "tmp");
    mkdirSync(tmp);
    const go = join(dir.path, "go");
    const zstdBinary = waitingZstd(dir.path, go);
    const dictionary = await withTmpdir(tmp, async () => {
      const training = trainZstdDictionaryAsync(samples(12), { zstdBinary });
      // Runs only if this thread is free while zstd runs: with a blocking call, zstd would wait for it in vain.
      setImmediate(() => writeFileSync(go, ""));
      return training;
    });
    assert.equal(new TextDecoder().decode(dictionary), "trained");
    assert.deepEqual(readdirSync(tmp), [], "the samples' folder is removed");
  });

  it("an abort stops zstd at once and removes the samples' folder", async () => {
    using dir = tempDir();
    const tmp = join(dir.path, "tmp");
    mkdirSync(tmp);
    const zstdBinary = waitingZstd(dir.path, join(dir.path, "never"));
    const controller = new AbortController();
    await withTmpdir(tmp, async () => {
      const training = trainZstdDictionaryAsync(samples(12), { zstdBinary }, controller.signal);
      const folders = readdirSync(tmp);
      assert.equal(folders.length, 1, "the samples are written before zstd starts");
      assert.ok(folders[0]?.startsWith(`${TRAINING_PREFIX}${process.pid}-`));
      controller.abort(new Error("stop"));
      await assert.rejects(training, /^Error: stop$/);
    });
    assert.deepEqual(readdirSync(tmp), [], "the samples' folder is removed");
  });

  it("a zstd that cannot run is E_DEPENDENCY, one that fails E_USAGE, as before", async () => {
    using dir = tempDir();
    await assert.rejects(trainZstdDictionaryAsync(samples(12), { zstdBinary: join(dir.path, "no-such-zstd") }), (e: unknown) => isMemzipError(e, ErrorCode.DEPENDENCY) && /Install the zstd/.test(e.hint ?? ""));
    const failing = join(dir.path, "failing-zstd");
    writeFileSync(failing, "#!/bin/sh\necho 'Error: not enough samples' >&2\nexit 1\n");
    chmodSync(failing, 0o755);
    await assert.rejects(trainZstdDictionaryAsync(samples(12), { zstdBinary: failing }), (e: unknown) => isMemzipError(e, ErrorCode.USAGE) && /not enough samples/.test(e.message));
    await assert.rejects(trainZstdDictionaryAsync(samples(3)), (e: unknown) => isMemzipError(e, ErrorCode.USAGE) && /at least 8/.test(e.message));
  });

  it("a cm snapshot trains on a thread of its own, and a new snapshot's state is written before its first use", async () => {
    using dir = tempDir();
    const db = join(dir.path, "s.db");
    const corpus = devCorpus();
    await using engine = Engine.open({ db, cmBase: false, workers: 0, autoTrainAfter: 0, cache: "off" });
    await engine.rememberMany(corpus.slice(0, 300).map(({ text }, i) => ({ id: `t${i}`, text })));
    const learned = bytesLearned();
    const trainings = snapshotTrainings();
    const trained = await engine.trainAsset("cm-snapshot");
    assert.equal(trained.kind, "cm-snapshot");
    assert.equal(bytesLearned(), learned, "no model on this thread learned from the texts");
    assert.ok(existsSync(join(`${db}.derived`, `cm-${trained.id}.state`)), "the snapshot's state is beside the store");
    const records = corpus.slice(300, 330).map(({ text }, i) => ({ id: `n${i}`, text }));
    const results = await engine.rememberMany(records);
    assert.ok(results.some((r) => r.codec === "cm"), "the new memories are coded with the snapshot");
    assert.equal(snapshotTrainings(), trainings, "its first use read the state: this thread decoded no snapshot");
    assert.equal(bytesLearned(), learned);
    for (const { id, text } of records) assert.equal(await engine.recall(id), text);
    assert.equal((await engine.verify()).failed, 0);
  });

  it("a new snapshot's state is written by its training thread before it is saved; pruned unused, it keeps no state (the state holds its texts)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "s.db");
    await using engine = Engine.open({ db, cmBase: false, workers: 0, autoTrainAfter: 0, cache: "off" });
    await engine.rememberMany(devCorpus().slice(0, 300).map(({ text }, i) => ({ id: `t${i}`, text })));
    // As the snapshot is saved, its state (written by the training thread) is there already: no thread writes after.
    const repository = storeOf(engine).assets;
    const put = repository.put.bind(repository);
    let stateBefore = false;
    repository.put = async (asset) => {
      if (asset.kind === "cm-snapshot") stateBefore = existsSync(join(`${db}.derived`, `cm-${asset.id}.state`));
      await put(asset);
    };
    // Forced: saved and made active at once, unmeasured (no memory uses it yet).
    const trained = await engine.trainAsset("cm-snapshot", "default", { force: true });
    assert.ok(stateBefore, "the training thread wrote the state before the snapshot was saved");
    const pruned = await engine.pruneAssets({ unusedActive: true });
    assert.deepEqual(pruned.map((a) => a.id), [trained.id], "the unused snapshot was pruned");
    assert.equal(await repository.get(trained.id), undefined);
    assert.deepEqual(readdirSync(`${db}.derived`).filter((name) => name.includes(trained.id)), [], "and nothing derived from it is left");
  });

  it("an abort while the training thread writes the new snapshot's state leaves no temporary file, no state and no asset", async () => {
    using dir = tempDir();
    const db = join(dir.path, "s.db");
    const folder = `${db}.derived`;
    await using engine = Engine.open({ db, cmBase: false, workers: 0, autoTrainAfter: 0, cache: "off" });
    const corpus = devCorpus();
    await engine.rememberMany(corpus.slice(0, 300).map(({ text }, i) => ({ id: `t${i}`, text })));
    const controller = new AbortController();
    const watch = abortWhenTemporary(folder, controller);
    const training = engine.trainAsset("cm-snapshot", "default", { force: true }, controller.signal);
    // Stopped before the snapshot was saved; whether the thread was terminated mid-write or had just finished, nothing is left.
    await assert.rejects(training.finally(watch.stop), /^Error: stop$/);
    assert.ok(watch.seen(), "the abort came while the state was written");
    assert.deepEqual(existsSync(folder) ? readdirSync(folder) : [], [], "no temporary file and no state (both hold the snapshot's texts)");
    assert.deepEqual((await engine.assetUsage()).filter((a) => a.kind === "cm-snapshot"), [], "no snapshot saved");
    // The namespace trains as before once asked again.
    const trained = await engine.trainAsset("cm-snapshot", "default", { force: true });
    assert.ok(existsSync(join(folder, `cm-${trained.id}.state`)));
    const records = corpus.slice(300, 310).map(({ text }, i) => ({ id: `n${i}`, text }));
    const results = await engine.rememberMany(records);
    assert.ok(results.some((r) => r.codec === "cm"), "the namespace writes with the snapshot");
    for (const { id, text } of records) assert.equal(await engine.recall(id), text);
  });

  it("an import's ending stopped after the snapshot's thread wrote its state leaves no state of the unsaved snapshot", async () => {
    using dir = tempDir();
    const db = join(dir.path, "s.db");
    const folder = `${db}.derived`;
    const corpus = devCorpus().slice(0, 300);
    const input = join(dir.path, "in.jsonl");
    writeFileSync(input, corpus.map(({ id, text }) => `${JSON.stringify({ id, text })}\n`).join(""));
    await using engine = Engine.open({ db, cmBase: false, workers: 0, autoTrainAfter: 200, cache: "off" });
    const states = () => (existsSync(folder) ? readdirSync(folder).filter((name) => name.startsWith("cm-")) : []);
    // The dictionary's measurement waits until the snapshot's thread (begun beside it) has written the state: the
    // ending is then stopped at the snapshot's step, with its training finished and its snapshot never saved.
    const repository = storeOf(engine).assets;
    const put = repository.put.bind(repository);
    repository.put = async (asset) => {
      await put(asset);
      for (let waited = 0; asset.kind === "zstd-dictionary" && !states().some((name) => name.endsWith(".state")); waited += 10) {
        if (waited > 120_000) throw new Error("the snapshot's thread wrote no state");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const controller = new AbortController();
    const report = await engine.importJsonl(input, {
      signal: controller.signal,
      onFinishStep: (step) => {
        if (step.step === "train" && step.kind === "cm-snapshot") controller.abort(new Error("stop"));
      },
    });
    assert.deepEqual(report.interrupted, { step: "train", namespace: "default", kind: "cm-snapshot" });
    assert.deepEqual((await engine.assetUsage()).filter((a) => a.kind === "cm-snapshot"), [], "no snapshot saved");
    assert.deepEqual(states(), [], "nothing derived from it (a state holds the texts), no temporary file");
  });

  it("a snapshot's state made by deriving it again (when its training thread wrote none) leaves no temporary file when stopped", async () => {
    using dir = tempDir();
    const folder = join(dir.path, "derived");
    const corpus = devCorpus().slice(0, 300).map(({ text }) => encoder.encode(text));
    // Asked for no state (as where the training thread's write failed), the thread writes none; the snapshot's is derived.
    const bytes = await trainAssetOffThread("cm-snapshot", corpus, {});
    const asset = { id: createHash("sha256").update(bytes).digest("hex"), bytes };
    const controller = new AbortController();
    const watch = abortWhenTemporary(folder, controller);
    await deriveSnapshotStateOffThread(asset, folder, {}, controller.signal).finally(watch.stop);
    assert.ok(watch.seen(), "the abort came while the state was written");
    assert.deepEqual(readdirSync(folder).filter((name) => name.endsWith(".tmp")), [], "no temporary file (with the snapshot's texts) is left");
    // Unstopped, it writes the state the training thread would have.
    await deriveSnapshotStateOffThread(asset, folder, {});
    assert.ok(existsSync(join(folder, `cm-${asset.id}.state`)));
  });

  it("closing the engine stops its trainings and waits for them: nothing of one runs after close", async () => {
    using dir = tempDir();
    const tmp = join(dir.path, "tmp");
    mkdirSync(tmp);
    const corpus = devCorpus().slice(0, 300).map(({ text }, i) => ({ id: `t${i}`, text }));
    // While zstd trains (its samples' folder is there): the training ends E_ABORTED, the folder is gone.
    await withTmpdir(tmp, async () => {
      const engine = Engine.open({ db: join(dir.path, "a.db"), cmBase: false, workers: 0, autoTrainAfter: 0, cache: "off" });
      await engine.rememberMany(corpus);
      let settled: unknown;
      const training = engine.trainAsset("zstd-dictionary").then(
        () => (settled = "trained"),
        (error: unknown) => (settled = error),
      );
      while (!readdirSync(tmp).some((name) => name.startsWith(TRAINING_PREFIX))) await new Promise((resolve) => setImmediate(resolve));
      await engine.close();
      assert.ok(isMemzipError(settled, ErrorCode.ABORTED) && /closed/.test(settled.message), `the training ended before close did: ${String(settled)}`);
      assert.deepEqual(readdirSync(tmp), [], "its samples' folder is removed");
      await training;
    });
    // Closed as an import's end begins its training (from its step callback): no training starts after close began.
    await withTmpdir(tmp, async () => {
      const engine = Engine.open({ db: join(dir.path, "c.db"), cmBase: false, workers: 0, autoTrainAfter: 1, cache: "off" });
      await engine.rememberMany(corpus);
      let closing: Promise<void> | undefined;
      const ending = engine.finishImports(["default"], {
        onStep: (step) => {
          if (step.step === "train") closing ??= engine.close();
        },
      });
      // Named as the step it stopped at, with the hint to resume (an import's job resumes from there).
      await assert.rejects(ending, (e: unknown) => isMemzipError(e, ErrorCode.ABORTED) && /stopped while training a zstd-dictionary/.test(e.message) && /closed/.test(String((e.cause as Error).message)) && /Resume/.test(e.hint ?? ""));
      await closing;
      assert.deepEqual(readdirSync(tmp), [], "no training began: no samples' folder, no zstd");
    });
    // While a new snapshot's state is written on its thread: the snapshot stands, the thread is gone, no temporary file.
    const db = join(dir.path, "b.db");
    const engine = Engine.open({ db, cmBase: false, workers: 0, autoTrainAfter: 0, cache: "off" });
    await engine.rememberMany(corpus);
    const repository = storeOf(engine).assets;
    const put = repository.put.bind(repository);
    let closing: Promise<void> | undefined;
    repository.put = async (asset) => {
      await put(asset);
      if (asset.kind === "cm-snapshot") setImmediate(() => (closing = engine.close()));
    };
    // Forced: saved and made active before its state is written (a measured one is removed when close stops its measurement).
    const trained = await engine.trainAsset("cm-snapshot", "default", { force: true });
    await closing;
    const names = existsSync(`${db}.derived`) ? readdirSync(`${db}.derived`) : [];
    assert.deepEqual(names.filter((name) => name.endsWith(".tmp")), []);
    await using reopened = Engine.open({ db, cmBase: false, workers: 0, autoTrainAfter: 0, cache: "off" });
    assert.equal((await reopened.assetUsage()).find((a) => a.id === trained.id)?.kind, "cm-snapshot", "the snapshot saved before close stands");
  });

  it("a training decodes only the newest memories its byte budget keeps: an older memory costs a read, not a decode", async () => {
    using dir = tempDir();
    await using engine = Engine.open({ db: join(dir.path, "budget.db"), cmBase: false, workers: 0, autoTrainAfter: 0, cache: "off" });
    // 14 raw memories of about 1 MiB, oldest first: past the 12 MiB of text a training keeps.
    const corpus = devCorpus()
      .map(({ text }) => text)
      .join("\n");
    const records = Array.from({ length: 14 }, (_, i) => ({ id: `big${i}`, text: `record ${i}\n${corpus.repeat(2).slice(0, (1 << 20) - 4096)}` }));
    await engine.rememberMany(records, { codec: "raw" });
    // The newest memories whose texts fit the budget, as the training keeps them.
    const budget = 12 << 20;
    const kept: string[] = [];
    let bytes = 0;
    for (const { id, text } of [...records].reverse()) {
      bytes += encoder.encode(text).length;
      if (bytes > budget && kept.length > 0) break;
      kept.unshift(id);
    }
    assert.ok(kept.length > 1 && kept.length < records.length, `${kept.length} kept`);
    const reader = (engine as unknown as { parts: { reader: { decodeBytes(envelope: Uint8Array, length: number, assetId: string | null): Promise<Uint8Array> } } }).parts.reader;
    const decodeBytes = reader.decodeBytes.bind(reader);
    const decoded: string[] = [];
    reader.decodeBytes = async (envelope, length, assetId) => {
      const result = await decodeBytes(envelope, length, assetId);
      decoded.push(`big${/^record (\d+)\n/.exec(new TextDecoder().decode(result.subarray(0, 16)))?.[1] ?? "?"}`);
      return result;
    };
    // Forced: a measured training decodes a sample of the namespace again to measure it.
    const trained = await engine.trainAsset("zstd-dictionary", "default", { force: true });
    assert.deepEqual(decoded, kept, "the kept memories, each decoded once, in the store's order");
    assert.equal(trained.samples, records.length, "every memory of the namespace is counted");
  });

  it("a stopped writer's temporary is removed by its tag, and another writer's of the same name stays", () => {
    using dir = tempDir();
    const folder = new DerivedFolder(() => dir.path, { temporaryTag: "0a1b2c3d" });
    let during: string[] = [];
    folder.write("cm-x.state", () => {
      during = readdirSync(dir.path);
      return [encoder.encode("state")];
    });
    assert.deepEqual(during, [`cm-x.state.${process.pid}.0a1b2c3d.tmp`], "the tagged folder names its temporary by the tag");
    assert.deepEqual(readdirSync(dir.path), ["cm-x.state"]);
    const other = `cm-x.state.${process.pid}.ffffffff.tmp`;
    writeFileSync(join(dir.path, `cm-x.state.${process.pid}.0a1b2c3d.tmp`), "left");
    writeFileSync(join(dir.path, other), "another writer's, still being written");
    removeTaggedTemporary(dir.path, "cm-x.state", "0a1b2c3d");
    assert.deepEqual(readdirSync(dir.path).sort(), ["cm-x.state", other]);
  });

  it("the recode after training codes on the worker threads, to the envelopes a recode on this thread writes", async () => {
    using dir = tempDir();
    const corpus = devCorpus().slice(0, 260);
    const envelopes: Map<string, string>[] = [];
    for (const workers of [0, 2]) {
      const db = join(dir.path, `w${workers}.db`);
      // cmBase off: with it, no training of these dev texts would be used (the shipped base learned from them).
      await using engine = Engine.open({ db, workers, cache: "off", cmBase: false });
      // Under autoTrainAfter, so each write codes alone; the import's end then trains both assets and recodes.
      await engine.rememberMany(corpus.slice(0, 199).map(({ text }, i) => ({ id: `m${i}`, text })));
      await engine.rememberMany(corpus.slice(199).map(({ text }, i) => ({ id: `m${199 + i}`, text })));
      const tasks = engine.metricsSnapshot().workerTasks;
      const trained = (await engine.finishImports(["default"])).get("default");
      assert.ok(trained?.assets.some((a) => a.kind === "cm-snapshot"), JSON.stringify(trained?.notUsed?.map((a) => a.comparison)));
      assert.deepEqual([...(trained?.assets ?? []), ...(trained?.notUsed ?? [])].map((a) => a.kind).sort(), ["cm-snapshot", "zstd-dictionary"], "both trained, each used where it measures smaller");
      assert.ok((trained?.recode?.recoded ?? 0) > 200, "the recode rewrote the memories with the new assets");
      const onThreads = engine.metricsSnapshot().workerTasks - tasks;
      if (workers === 0) assert.equal(onThreads, 0);
      else assert.ok(onThreads >= corpus.length, `the recode coded each memory on a worker thread (${onThreads})`);
      assert.equal((await engine.verify()).failed, 0);
      const store = storeOf(engine);
      const rows = new Map<string, string>();
      for await (const memory of store.memories.scan({ namespace: "default" })) rows.set(memory.id, `${memory.codec}:${Buffer.from(memory.envelope).toString("hex")}`);
      envelopes.push(rows);
    }
    assert.equal(envelopes[1]?.size, corpus.length);
    assert.deepEqual(envelopes[1], envelopes[0], "the same envelope for every memory");
  });

  it("a cm training aborted mid-way ends at once, with the abort's reason", async () => {
    const texts = devCorpus().map(({ text }) => encoder.encode(text));
    const controller = new AbortController();
    const training = trainAssetOffThread("cm-snapshot", texts, {}, controller.signal);
    setImmediate(() => controller.abort(new Error("stopped")));
    await assert.rejects(training, /^Error: stopped$/);
  });

  it("an error of the training thread reaches the caller as it was thrown; a model size no reader loads is refused before training", async () => {
    // The thread's RangeError, as on the caller's thread (before, such a snapshot was trained and saved, and no read could load it).
    await assert.rejects(trainAssetOffThread("cm-snapshot", samples(20), { tableBits: 99 }), (e: unknown) => e instanceof RangeError && /tableBits 99/.test(e.message));
    using dir = tempDir();
    await using engine = Engine.open({ db: join(dir.path, "s.db"), cmBase: false, workers: 0, autoTrainAfter: 0, cache: "off" });
    await engine.rememberMany(devCorpus().slice(0, 20).map(({ text }, i) => ({ id: `t${i}`, text })));
    for (const tableBits of [99, 15, 22.5]) {
      await assert.rejects(engine.trainAsset("cm-snapshot", "default", { tableBits }), (e: unknown) => isMemzipError(e, ErrorCode.USAGE) && /from 16 to 26/.test(e.hint ?? ""));
    }
    assert.equal((await engine.trainAsset("cm-snapshot", "default", { tableBits: 16 })).kind, "cm-snapshot");
  });
});
