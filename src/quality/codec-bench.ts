import { createHash } from "node:crypto";
import { assetRef, type Asset, type Codec } from "../codec/codec.js";
import { decodeEnvelope, encodeEnvelope, matchingAssets } from "../codec/envelope-codec.js";
import { rawCodec } from "../codec/raw.js";
import { createCodecs, type CodecName } from "../codec/registry.js";
import { ASSET_TRAINERS, type TrainableAssetKind } from "../model/asset-trainers.js";
import { BASELINES } from "./baselines.js";
import { bitsPerByte, quantile, shuffled } from "../core/stats.js";

export interface BenchRecord {
  id: string;
  text: string;
  /** Language tag for the per-language split ("en", "zh"); "?" when unknown. */
  lang: string;
  /** Where the record came from, for the per-source split; "?" when unknown. */
  source: string;
}

export interface CodecBenchOptions {
  /** Share of records used to train dictionaries and models; the rest is measured. Defaults to `0.75`. */
  trainFraction?: number;
  /** Seed of the train/test shuffle. Defaults to `1`. */
  seed?: number;
  /** memzip codecs to measure. Defaults to every built-in codec but `cm-ref`. */
  codecs?: readonly CodecName[];
  zstdLevel?: number;
  /** Timed passes per codec; speeds come from the median one. Defaults to `3`. */
  passes?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface SplitFigures {
  records: number;
  originalBytes: number;
  storedBytes: number;
  bitsPerByte: number;
}

export interface ContenderResult extends SplitFigures {
  name: string;
  /** `baseline`: a stock compressor with its own framing; `memzip`: whole memzip envelopes. */
  family: "baseline" | "memzip";
  ratio: number;
  exact: number;
  encodeMBps: number;
  decodeMBps: number;
  encodeP50Ms: number;
  encodeP95Ms: number;
  decodeP50Ms: number;
  decodeP95Ms: number;
  /**
   * Bytes of the trained asset (dictionary, snapshot), time to build it and to load it for coding,
   * and bits/byte with its bytes spread over this split or over 10^4 / 10^6 records like these.
   */
  asset?: { bytes: number; trainMs: number; loadMs: number; amortised: { testSplit: number; per1e4: number; per1e6: number } };
  byLang: Record<string, SplitFigures>;
  bySource: Record<string, SplitFigures>;
}

export interface CodecBenchReport {
  records: number;
  trainRecords: number;
  testRecords: number;
  testBytes: number;
  results: ContenderResult[];
}

interface Contender {
  name: string;
  family: "baseline" | "memzip";
  encode(bytes: Uint8Array): Uint8Array;
  decode(bytes: Uint8Array): Uint8Array;
  asset?: { bytes: number; trainMs: number; loadMs: number };
}

const encoder = new TextEncoder();

/** Measures every contender per record on a held-out split, side by side in one run. */
export function runCodecBench(records: readonly BenchRecord[], options: CodecBenchOptions = {}): CodecBenchReport {
  const { train, test } = benchRecordSplit(records, options);
  return benchSplit(train, test, records.length, options);
}

/** The train and held-out records `runCodecBench` uses with these options (a seeded shuffle, then `trainFraction` of it). */
export function benchRecordSplit(records: readonly BenchRecord[], options: Pick<CodecBenchOptions, "trainFraction" | "seed"> = {}): { train: BenchRecord[]; test: BenchRecord[] } {
  const order = shuffled(records, options.seed ?? 1);
  const trainCount = Math.round(order.length * (options.trainFraction ?? 0.75));
  return { train: order.slice(0, trainCount), test: order.slice(trainCount) };
}

/**
 * Texts of another kind arriving in a namespace trained on `train`: assets are trained on every
 * record of `train`, and each record of `heldApart` (none of which they saw) is measured alone.
 */
export function runHeldApartBench(train: readonly BenchRecord[], heldApart: readonly BenchRecord[], options: Omit<CodecBenchOptions, "trainFraction" | "seed"> = {}): CodecBenchReport {
  return benchSplit(train, heldApart, train.length + heldApart.length, options);
}

function benchSplit(trainRecords: readonly BenchRecord[], test: readonly BenchRecord[], records: number, options: CodecBenchOptions): CodecBenchReport {
  const train = trainRecords.map((r) => encoder.encode(r.text));
  const testBytes = test.map((r) => encoder.encode(r.text));
  const contenders = [...BASELINES.map((b): Contender => ({ name: b.name, family: "baseline", encode: b.compress, decode: b.decompress })), ...memzipContenders(train, options)];
  const results = contenders.map((contender, i) => {
    options.onProgress?.(contender.name, i, contenders.length);
    return measure(contender, test, testBytes, options.passes ?? 3);
  });
  return { records, trainRecords: train.length, testRecords: test.length, testBytes: testBytes.reduce((s, b) => s + b.length, 0), results };
}

function memzipContenders(train: readonly Uint8Array[], options: CodecBenchOptions): Contender[] {
  const codecs = createCodecs({ zstdLevel: options.zstdLevel ?? 19 });
  // cm-ref only stores texts a snapshot learned from; on held-out records it declines every one.
  const names = options.codecs ?? [...codecs.byName.keys()].filter((name) => name !== "cm-ref");
  const assets = new Map<string, Asset>();
  const contenders: Contender[] = [];
  for (const name of names) {
    const codec = codecs.byName.get(name) as Codec;
    let asset: Asset | undefined;
    let trainMs = 0;
    let loadMs = 0;
    if (codec.requires) {
      let started = performance.now();
      const bytes = ASSET_TRAINERS[codec.requires as TrainableAssetKind](train, {});
      trainMs = performance.now() - started;
      asset = { id: createHash("sha256").update(bytes).digest("hex"), kind: codec.requires, bytes };
      assets.set(Buffer.from(assetRef(asset)).toString("hex"), asset);
      started = performance.now();
      codec.prepare?.(asset);
      loadMs = performance.now() - started;
    }
    const resolve = (ref: Uint8Array) => matchingAssets(assets.values(), ref);
    contenders.push({
      name,
      family: "memzip",
      // A record the codec declines is stored raw (as the policy would), not counted as nothing.
      encode: (bytes) => encodeEnvelope(codec, bytes, asset) ?? (encodeEnvelope(rawCodec, bytes) as Uint8Array),
      decode: (envelope) => decodeEnvelope(envelope, codecs.byId, resolve, 1 << 30),
      ...(asset ? { asset: { bytes: asset.bytes.length, trainMs, loadMs } } : {}),
    });
  }
  return contenders;
}

/**
 * Sizes and exactness from the first pass; speeds from `passes` passes (the pass with the median
 * total time gives MB/s and the latency percentiles), since these shared machines are noisy.
 */
function measure(contender: Contender, test: readonly BenchRecord[], testBytes: readonly Uint8Array[], passes: number): ContenderResult {
  const byLang: Record<string, SplitFigures> = {};
  const bySource: Record<string, SplitFigures> = {};
  let exact = 0;
  let storedBytes = 0;
  let originalBytes = 0;
  const timings: { encodeMs: number[]; decodeMs: number[] }[] = [];
  for (let pass = 0; pass < passes; pass++) {
    // Every record is encoded before any is decoded, so that a decode does not find in the cache what its own
    // encode just read (a model's tables: that flattered `cm`'s decode by about 40 %).
    const encodeMs: number[] = [];
    const decodeMs: number[] = [];
    const packed = testBytes.map((bytes) => {
      const started = performance.now();
      const envelope = contender.encode(bytes);
      encodeMs.push(performance.now() - started);
      return envelope;
    });
    testBytes.forEach((bytes, i) => {
      const envelope = packed[i] as Uint8Array;
      const started = performance.now();
      let unpacked: Uint8Array | undefined;
      try {
        unpacked = contender.decode(envelope);
      } catch {
        unpacked = undefined;
      }
      decodeMs.push(performance.now() - started);
      if (pass > 0) return;
      if (unpacked && Buffer.from(unpacked).equals(bytes)) exact++;
      storedBytes += envelope.length;
      originalBytes += bytes.length;
      const record = test[i] as BenchRecord;
      add((byLang[record.lang] ??= emptyFigures()), bytes.length, envelope.length);
      add((bySource[record.source] ??= emptyFigures()), bytes.length, envelope.length);
    });
    timings.push({ encodeMs, decodeMs });
  }
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const medianPass = (key: "encodeMs" | "decodeMs") => [...timings].sort((a, b) => sum(a[key]) - sum(b[key]))[Math.floor(timings.length / 2)]?.[key] ?? [];
  const encodeMs = medianPass("encodeMs");
  const decodeMs = medianPass("decodeMs");
  const mbps = (ms: number) => (ms === 0 ? 0 : originalBytes / 1e6 / (ms / 1000));
  const result: ContenderResult = {
    name: contender.name,
    family: contender.family,
    records: testBytes.length,
    originalBytes,
    storedBytes,
    bitsPerByte: bitsPerByte(storedBytes, originalBytes),
    ratio: storedBytes === 0 ? 0 : originalBytes / storedBytes,
    exact,
    encodeMBps: mbps(sum(encodeMs)),
    decodeMBps: mbps(sum(decodeMs)),
    encodeP50Ms: quantile(encodeMs, 0.5),
    encodeP95Ms: quantile(encodeMs, 0.95),
    decodeP50Ms: quantile(decodeMs, 0.5),
    decodeP95Ms: quantile(decodeMs, 0.95),
    byLang,
    bySource,
  };
  if (contender.asset) {
    const amortisedOver = (n: number) => bitsPerByte(storedBytes + (contender.asset as { bytes: number }).bytes * (testBytes.length / n), originalBytes);
    result.asset = {
      ...contender.asset,
      amortised: { testSplit: bitsPerByte(storedBytes + contender.asset.bytes, originalBytes), per1e4: amortisedOver(1e4), per1e6: amortisedOver(1e6) },
    };
  }
  return result;
}

function emptyFigures(): SplitFigures {
  return { records: 0, originalBytes: 0, storedBytes: 0, bitsPerByte: 0 };
}

function add(figures: SplitFigures, original: number, stored: number): void {
  figures.records++;
  figures.originalBytes += original;
  figures.storedBytes += stored;
  figures.bitsPerByte = bitsPerByte(figures.storedBytes, figures.originalBytes);
}
