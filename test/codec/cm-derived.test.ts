import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, it } from "node:test";
import type * as ZstdBinding from "zstd-napi/binding.js";
import type { Asset } from "../../src/codec/codec.js";
import { xxh64 } from "@node-rs/xxhash";
import { modelCodeHash, type ContextModel } from "../../src/codec/cm/context-model.js";
import { readDerivedSnapshot, writeDerivedSnapshot } from "../../src/codec/cm/derived-state.js";
import { concat, encodeSnapshot, loadSnapshot, trainSnapshot, type LoadedSnapshot } from "../../src/codec/cm/snapshot.js";
import { RangeDecoder, RangeEncoder } from "../../src/codec/range-coder.js";
import { DerivedDirectory } from "../../src/store/derived-dir.js";
import { CLI, devCorpus, tempDir, spawnBounded } from "../helpers.js";

const zstd = createRequire(import.meta.url)("zstd-napi/binding") as typeof ZstdBinding;
const encoder = new TextEncoder();
const corpus = devCorpus().map((r) => encoder.encode(r.text));
const PARAMS = { tableBits: 18, matchBits: 16 };

function snapshotAsset(samples: readonly Uint8Array[]): Asset {
  const bytes = encodeSnapshot(samples, { params: PARAMS });
  return { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot", bytes };
}

function payloads(model: ContextModel, records: readonly Uint8Array[]): Buffer[] {
  return records.map((record) => {
    const rc = new RangeEncoder();
    model.encodeRecord(record, rc);
    return Buffer.from(rc.finish());
  });
}

function stateFile(dir: string): string {
  const [name] = readdirSync(dir).filter((n) => n.endsWith(".state"));
  assert.ok(name, `no state file in ${dir}`);
  return join(dir, name);
}

/** A valid format-1 state file (the memory stored raw), as the code before format 2 wrote it. */
function formatOneState(asset: Asset, loaded: LoadedSnapshot): Buffer {
  const { memory, stateAt } = loaded.model.saveState();
  const texts = concat(loaded.samples);
  const head = Buffer.alloc(112);
  head.writeUInt32LE(0x53445a4d, 0);
  head.writeUInt32LE(1, 4);
  Buffer.from(asset.id, "hex").copy(head, 8);
  head.set(modelCodeHash(loaded.model.version), 40);
  head.writeUInt32LE(texts.length, 72);
  head.writeUInt32LE(memory.length, 76);
  head.writeUInt32LE(stateAt, 80);
  head.writeBigUInt64LE(xxh64(texts), 88);
  head.writeBigUInt64LE(xxh64(memory), 96);
  head.writeBigUInt64LE(xxh64(head.subarray(0, 104)), 104);
  return Buffer.concat([head, texts, memory]);
}

/** The format-1 equivalent of a format-2 state file: the memory decompressed, the header rewritten. */
function toFormatOne(file: Buffer): Buffer {
  const texts = file.readUInt32LE(72);
  const memory = Buffer.alloc(file.readUInt32LE(76));
  assert.equal(zstd.decompress(memory, file.subarray(112 + texts)), memory.length);
  const head = Buffer.from(file.subarray(0, 112));
  head.writeUInt32LE(1, 4);
  head.writeUInt32LE(0, 84);
  head.writeBigUInt64LE(xxh64(head.subarray(0, 104)), 104);
  return Buffer.concat([head, file.subarray(112, 112 + texts), memory]);
}

describe("cm derived model state", () => {
  const asset = snapshotAsset(corpus.slice(0, 150));
  const heldOut = corpus.slice(1500, 1530);

  it("a model restored from its saved state is byte-identical and codes exactly as a trained one", async () => {
    using dir = tempDir();
    const store = new DerivedDirectory(join(dir.path, "s.db"));
    const trained = loadSnapshot(asset.bytes);
    const before = Buffer.from(trained.model.saveState().memory);
    writeDerivedSnapshot(store, asset, trained);
    const derived = readDerivedSnapshot(store, asset);
    assert.ok(derived);
    assert.deepEqual(derived.samples.map((s) => Buffer.from(s)), trained.samples.map((s) => Buffer.from(s)));
    const restored = derived.loadModel();
    assert.ok(restored);
    assert.ok(Buffer.from(restored.saveState().memory).equals(before), "restored memory differs from the trained model's");
    // Loaded a slice at a time (a server's cold read): the same memory.
    const sliced = await derived.loadModelAsync();
    assert.ok(sliced);
    assert.ok(Buffer.from(sliced.saveState().memory).equals(before), "the memory loaded in slices differs");
    // Format 2: the texts raw, the memory as one zstd frame, much smaller than the memory itself.
    const file = readFileSync(stateFile(store.path));
    const texts = file.readUInt32LE(72);
    assert.equal(file.readUInt32LE(4), 2);
    assert.equal(file.readUInt32LE(76), before.length);
    assert.equal(file.length, 112 + texts + file.readUInt32LE(84));
    assert.ok(file.subarray(112, 112 + texts).equals(Buffer.concat(trained.samples)));
    assert.ok(file.length * 4 < before.length, `state file of ${file.length} bytes for ${before.length} bytes of memory`);
    const expected = payloads(trained.model, heldOut);
    assert.deepEqual(payloads(restored, heldOut), expected);
    // And it decodes them, record after record, rolled back in between.
    heldOut.forEach((record, i) => assert.ok(Buffer.from(restored.decodeRecord(record.length, new RangeDecoder(expected[i] as Buffer))).equals(record)));
    // The codec's path (the range coder inside the WebAssembly for version 6) gives the same payloads from a restored model.
    assert.deepEqual(heldOut.map((record) => Buffer.from(restored.encodeRecordBytes(record))), expected);
    heldOut.forEach((record, i) => assert.ok(Buffer.from(restored.decodeRecordBytes(record.length, expected[i] as Buffer)).equals(record)));
  });

  it("the model a snapshot's training leaves is the one loading the snapshot gives: memory byte for byte but the coder's scratch, the same payloads", () => {
    // What lets a training thread write the new snapshot's state at once, instead of decoding the snapshot again.
    for (const samples of [corpus.slice(0, 1), corpus.slice(0, 150), corpus.slice(150, 600)]) {
      const { bytes, loaded } = trainSnapshot(samples, { params: PARAMS });
      assert.ok(Buffer.from(bytes).equals(Buffer.from(encodeSnapshot(samples, { params: PARAMS }))), "the same snapshot as encodeSnapshot");
      const again = loadSnapshot(bytes);
      assert.deepEqual(loaded.samples.map((s) => Buffer.from(s)), again.samples.map((s) => Buffer.from(s)));
      const a = loaded.model.saveState();
      const b = again.model.saveState();
      assert.equal(a.stateAt, b.stateAt);
      assert.equal(a.memory.length, b.memory.length);
      // Training codes each byte in one call (codeByte), which leaves its 8 probabilities in a 32-byte scratch that
      // loading (bit by bit) does not write; nothing reads it before writing it. Its address is a saved global.
      const scratch = Number(new DataView(a.memory.buffer, a.memory.byteOffset).getBigInt64(a.stateAt + 416, true));
      const differing: number[] = [];
      for (let i = 0; i < a.memory.length; i++) if (a.memory[i] !== b.memory[i]) differing.push(i);
      assert.ok(differing.every((i) => i >= scratch && i < scratch + 32), `memory differs outside the scratch at ${differing.filter((i) => i < scratch || i >= scratch + 32).slice(0, 5).join(", ")}`);
      assert.deepEqual(payloads(loaded.model, heldOut), payloads(again.model, heldOut));
    }
  });

  it("a state saved after records were coded (the record I/O area grew the memory) restores a model that codes the same payloads", () => {
    using dir = tempDir();
    const store = new DerivedDirectory(join(dir.path, "s.db"));
    const trained = loadSnapshot(asset.bytes);
    const expected = payloads(trained.model, heldOut);
    const long = Buffer.concat(corpus.slice(1600, 1700));
    assert.ok(Buffer.from(trained.model.decodeRecordBytes(long.length, trained.model.encodeRecordBytes(long))).equals(long));
    writeDerivedSnapshot(store, asset, trained);
    const restored = readDerivedSnapshot(store, asset)?.loadModel();
    assert.ok(restored);
    assert.deepEqual(heldOut.map((record) => Buffer.from(restored.encodeRecordBytes(record))), expected);
    heldOut.forEach((record, i) => assert.ok(Buffer.from(restored.decodeRecordBytes(record.length, expected[i] as Buffer)).equals(record)));
  });

  it("rejects a state file that is missing, for another snapshot, for other model code, or corrupt", async () => {
    using dir = tempDir();
    const store = new DerivedDirectory(join(dir.path, "s.db"));
    assert.equal(readDerivedSnapshot(store, asset), undefined);
    writeDerivedSnapshot(store, asset, loadSnapshot(asset.bytes));
    const path = stateFile(store.path);
    const good = readFileSync(path);
    assert.ok(readDerivedSnapshot(store, asset)?.loadModel());

    const other = snapshotAsset(corpus.slice(0, 149));
    writeFileSync(join(store.path, `cm-${other.id}.state`), good);
    assert.equal(readDerivedSnapshot(store, other), undefined, "a state written for another snapshot");

    const mutate = (at: number) => {
      const bad = Buffer.from(good);
      bad[at] = (bad[at] as number) ^ 0x40;
      writeFileSync(path, bad);
    };
    mutate(50); // the model-code hash, caught by the header checksum
    assert.equal(readDerivedSnapshot(store, asset), undefined);
    const texts = good.readUInt32LE(72);
    mutate(112 + 3); // a training text
    assert.equal(readDerivedSnapshot(store, asset), undefined);
    mutate(84); // the compressed memory's length, caught by the header checksum
    assert.equal(readDerivedSnapshot(store, asset), undefined);
    // The compressed memory: the texts still serve cm-ref, the model is refused, wherever the damage is.
    for (const at of [112 + texts, 112 + texts + 2, 112 + texts + 1000, Math.floor((112 + texts + good.length) / 2), good.length - 3]) {
      mutate(at);
      const derived = readDerivedSnapshot(store, asset);
      assert.ok(derived, `damage at ${at} refused the texts`);
      assert.deepEqual(derived.samples.map((x) => Buffer.from(x)), loadSnapshot(asset.bytes).samples.map((x) => Buffer.from(x)));
      assert.equal(derived.loadModel(), undefined, `damage at ${at} of ${good.length} not caught`);
      assert.equal(await derived.loadModelAsync(), undefined, `damage at ${at} of ${good.length} not caught in slices`);
    }
    // A file that changes between reading the texts and loading the model is refused too.
    writeFileSync(path, good);
    const early = readDerivedSnapshot(store, asset);
    assert.ok(early);
    writeFileSync(path, good.subarray(0, good.length - 1));
    assert.equal(early.loadModel(), undefined);
    assert.equal(await early.loadModelAsync(), undefined);
    assert.equal(readDerivedSnapshot(store, asset), undefined, "a truncated file");
    writeFileSync(path, good.subarray(0, 112 + texts));
    assert.equal(readDerivedSnapshot(store, asset), undefined, "a file cut after the texts");
    writeFileSync(path, Buffer.concat([good, Buffer.alloc(1)]));
    assert.equal(readDerivedSnapshot(store, asset), undefined, "a file with a byte appended");
    // A valid format-1 file (the memory raw) is stale: refused, so the reader rebuilds it.
    const formatOne = formatOneState(asset, loadSnapshot(asset.bytes));
    assert.ok(toFormatOne(good).equals(formatOne));
    writeFileSync(path, formatOne);
    assert.equal(readDerivedSnapshot(store, asset), undefined, "a format-1 file");
    writeFileSync(path, good);

    // Pruning an asset removes what was derived from it, and only that.
    store.removeFor(asset.id);
    assert.deepEqual(readdirSync(store.path), [`cm-${other.id}.state`]);
    assert.equal(store.bytes(), good.length);
  });

  it("a fresh process reads cm and cm-ref memories through the state beside the store, rebuilding it when missing or corrupt", () => {
    using dir = tempDir();
    const db = join(dir.path, "cold.db");
    // cmBase off: the import then trains the namespace's own snapshot (with it, the base stores these dev texts, which it learned from, smaller).
    const env = { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", MEMZIP_CM_BASE: "false" };
    const memzip = (args: string[]) => {
      const result = spawnBounded(process.execPath, [CLI, ...args, "--db", db], { env });
      assert.equal(result.status, 0, result.stderr.toString("utf8"));
      return result.stdout;
    };
    const jsonl = devCorpus()
      .slice(0, 220)
      .map((r) => JSON.stringify({ id: r.id, text: r.text }))
      .join("\n");
    writeFileSync(join(dir.path, "in.jsonl"), jsonl);
    memzip(["import", join(dir.path, "in.jsonl")]);
    const text = "Meeting moved to Thursday; Alice brings the revised budget, Bob the hiring plan for the platform team.";
    memzip(["add", text, "--id", "fresh", "--codec", "cm"]);
    const first = devCorpus()[0] as { id: string; text: string };
    const derivedDir = `${db}.derived`;

    rmSync(derivedDir, { recursive: true, force: true });
    assert.equal(memzip(["get", "fresh"]).toString("utf8"), text);
    const path = stateFile(derivedDir);
    const written = readFileSync(path);
    assert.equal(memzip(["get", first.id]).toString("utf8"), first.text);
    assert.equal(memzip(["get", "fresh"]).toString("utf8"), text);

    const bad = Buffer.from(written);
    bad[bad.length - 5000] = (bad[bad.length - 5000] as number) ^ 1;
    writeFileSync(path, bad);
    assert.equal(memzip(["get", "fresh"]).toString("utf8"), text);
    assert.ok(readFileSync(path).equals(written), "the corrupt state was not rebuilt");
    writeFileSync(path, written.subarray(0, written.length - 100));
    assert.equal(memzip(["get", "fresh"]).toString("utf8"), text);
    assert.ok(readFileSync(path).equals(written), "the truncated state was not rebuilt");
    assert.equal(memzip(["get", first.id]).toString("utf8"), first.text);
    // The same state in format 1 (memory raw), as the previous release wrote it: replaced by format 2.
    writeFileSync(path, toFormatOne(written));
    assert.equal(memzip(["get", "fresh"]).toString("utf8"), text);
    assert.ok(readFileSync(path).equals(written), "the format-1 state was not replaced");
    assert.deepEqual(readdirSync(derivedDir), [path.slice(derivedDir.length + 1)], "temporary files left behind");

    const stats = JSON.parse(memzip(["stats", "--json"]).toString("utf8")) as { derivedBytes?: number; storedBytes: number };
    assert.equal(stats.derivedBytes, written.length);

    const missing = join(dir.path, "missing.db");
    const result = spawnBounded(process.execPath, [CLI, "get", "fresh", "--db", missing], { env });
    assert.notEqual(result.status, 0);
    assert.equal(existsSync(`${missing}.derived`), false);
  });
});
