import { createHash } from "node:crypto";
import type { Asset, Codec } from "../codec/codec.js";
import { createCmCodec } from "../codec/cm.js";
import { CURRENT_MODEL_VERSION, type ContextModel, type ModelVersion } from "../codec/cm/context-model.js";
import { readDerivedSnapshot, writeDerivedSnapshot } from "../codec/cm/derived-state.js";
import { encodeSnapshot, loadSnapshot } from "../codec/cm/snapshot.js";
import type { DerivedFile, DerivedStore } from "../codec/derived.js";
import { decodeEnvelope, encodeEnvelope } from "../codec/envelope-codec.js";
import { openEnvelope } from "../codec/envelope.js";
import { rawCodec as raw } from "../codec/raw.js";
import { bitsPerByte, quantile } from "../core/stats.js";

/** One `cm` model version's figures on a split, from `runCmVersionsBench`. */
export interface CmVersionFigures {
  version: ModelVersion;
  records: number;
  originalBytes: number;
  /** Whole envelopes (header, checksum, asset reference, payload) per original byte, ×8. */
  bitsPerByte: number;
  /** The payloads alone (what the model and the range coder wrote). */
  payloadBitsPerByte: number;
  /** Records decoded back exactly through the envelope path. */
  exact: number;
  /** Records the model loaded from its derived state decoded back exactly (what a fresh process reads). */
  exactFromState: number;
  /** Records the codec declined, counted as raw envelopes (cm codes every record; 0 unless that changes). */
  declined: number;
  snapshotBytes: number;
  /** The derived state's file (what a fresh process loads instead of training). */
  stateBytes: number;
  /** Loading the model from its derived state: the median load, wall time and this process's CPU time (all its threads). */
  stateLoadMs: number;
  stateLoadCpuMs: number;
  /** With `loadTrain`: the same loads for a snapshot trained on that larger set (issue 16 asks ≤ 300 ms at the 4 MiB snapshot budget). */
  largeLoad?: LargeLoadFigures;
  /** Original MB coded per second, the median pass: wall time, and this process's CPU time (all its threads: a garbage collector's helpers count too). */
  encodeMBps: number;
  decodeMBps: number;
  encodeMBpsCpu: number;
  decodeMBpsCpu: number;
}

/** Loading a model from the derived state of a snapshot trained on `CmVersionsBenchOptions.loadTrain`. */
export interface LargeLoadFigures {
  /** Training text the snapshot holds. */
  trainBytes: number;
  /** The model's memory the derived state unpacks (what the load's time follows), and the state file. */
  memoryBytes: number;
  stateBytes: number;
  /** The median load, wall time and this process's CPU time. */
  loadMs: number;
  loadCpuMs: number;
}

export interface CmVersionsBenchOptions {
  /** Versions to measure, oldest first. Defaults to the current one and the one before it. */
  versions?: readonly ModelVersion[];
  /** Timed passes of each version in each of the two rounds; its speeds are the median pass of both. Defaults to `3`. */
  passes?: number;
  /**
   * A larger training set (the bench: the 4 MiB snapshot budget): each version's snapshot of it is built once and its
   * derived state loaded `passes` times, timed like the split's loads; each loaded model must code a test record as the
   * trained one does.
   */
  loadTrain?: readonly Uint8Array[];
  onProgress?: (stage: string) => void;
}

interface Timing {
  wall: number[];
  cpu: number[];
}

interface Contestant {
  version: ModelVersion;
  asset: Asset;
  codec: Codec;
  store: DerivedStore;
  envelopes: Uint8Array[];
  declined: number;
  /** The first pass's decodes (undefined where a decode failed). */
  decoded: (Uint8Array | undefined)[];
  load: Timing;
  encode: Timing;
  decode: Timing;
}

/**
 * `cm` model versions side by side in one run, as issue 16 asks of a new model (its bits and speeds against the old
 * one's, same machine, same moment): each version's snapshot is trained on `train`; each record of `test` is coded
 * alone into a whole envelope and decoded back through the envelope path a store read takes. Each version's passes
 * run back to back, as in a process serving one namespace (alternating versions pass by pass made each model evict the
 * other's table lines from the caches: ~15 % slower for both, measured), in two rounds — the versions in order, then
 * in reverse — so that a drift of the machine's load does not pass for a difference between versions. In each pass
 * every record is encoded before any is decoded, so that a decode does not find the table lines its own encode just
 * left in the cache. The loads from the derived state are timed apart, and the last model loaded decodes the first
 * pass's envelopes (`exactFromState`). Speeds: wall time and this process's CPU time (Node cannot time one thread).
 */
export function runCmVersionsBench(train: readonly Uint8Array[], test: readonly Uint8Array[], options: CmVersionsBenchOptions = {}): CmVersionFigures[] {
  const versions = options.versions ?? ([CURRENT_MODEL_VERSION - 1, CURRENT_MODEL_VERSION] as ModelVersion[]);
  const passes = options.passes ?? 3;
  const originalBytes = test.reduce((sum, bytes) => sum + bytes.length, 0);
  const contestants = versions.map((version): Contestant => {
    options.onProgress?.(`cm model version ${version}: training its snapshot`);
    const bytes = encodeSnapshot(train, { version });
    const asset: Asset = { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot", bytes };
    const codec = createCmCodec();
    codec.prepare?.(asset);
    const store = memoryDerivedStore();
    writeDerivedSnapshot(store, asset, loadSnapshot(bytes));
    const empty = (): Timing => ({ wall: [], cpu: [] });
    return { version, asset, codec, store, envelopes: [], declined: 0, decoded: [], load: empty(), encode: empty(), decode: empty() };
  });
  for (const [round, order] of [contestants, [...contestants].reverse()].entries()) {
    for (const c of order) {
      const codecs = new Map([
        [c.codec.id, c.codec],
        [raw.id, raw],
      ]);
      for (let pass = 0; pass < passes; pass++) {
        options.onProgress?.(`cm model version ${c.version}: round ${round + 1}, pass ${pass + 1} of ${passes}`);
        // The codecs keep few loaded models (DEFAULT_LOADED_SNAPSHOTS): load this version's outside the timed part.
        c.codec.prepare?.(c.asset);
        let declined = 0;
        const envelopes = timed(c.encode, () =>
          test.map((bytes) => {
            const envelope = encodeEnvelope(c.codec, bytes, c.asset);
            if (envelope) return envelope;
            declined++;
            return encodeEnvelope(raw, bytes) as Uint8Array;
          }),
        );
        const decoded = timed(c.decode, () => envelopes.map((envelope) => decodeOrUndefined(envelope, codecs, c.asset)));
        if (round === 0 && pass === 0) Object.assign(c, { envelopes, decoded, declined });
      }
    }
  }
  return contestants.map((c) => {
    let model: ContextModel | undefined;
    for (let pass = 0; pass < passes; pass++) {
      options.onProgress?.(`cm model version ${c.version}: loading its derived state, ${pass + 1} of ${passes}`);
      model = timed(c.load, () => readDerivedSnapshot(c.store, c.asset)?.loadModel());
      if (!model) throw new Error(`cm model version ${c.version}: its derived state did not load`);
    }
    const fromState = model as ContextModel;
    const exactly = (decoded: (index: number) => Uint8Array | undefined) =>
      test.filter((bytes, i) => {
        const back = decoded(i);
        return back !== undefined && Buffer.from(back).equals(bytes);
      }).length;
    const storedBytes = c.envelopes.reduce((sum, envelope) => sum + envelope.length, 0);
    const payloadBytes = c.envelopes.reduce((sum, envelope) => sum + envelope.length - openEnvelope(envelope, 1 << 30).headerLength, 0);
    const mbps = (seconds: number) => (seconds === 0 ? 0 : originalBytes / 1e6 / seconds);
    return {
      version: c.version,
      records: test.length,
      originalBytes,
      bitsPerByte: bitsPerByte(storedBytes, originalBytes),
      payloadBitsPerByte: bitsPerByte(payloadBytes, originalBytes),
      exact: exactly((i) => c.decoded[i]),
      exactFromState: exactly((i) => decodeWithModel(fromState, c.envelopes[i] as Uint8Array, c.codec.id)),
      declined: c.declined,
      snapshotBytes: c.asset.bytes.length,
      stateBytes: c.store.open(`cm-${c.asset.id}.state`)?.size ?? 0,
      stateLoadMs: quantile(c.load.wall, 0.5) * 1000,
      stateLoadCpuMs: quantile(c.load.cpu, 0.5) * 1000,
      encodeMBps: mbps(quantile(c.encode.wall, 0.5)),
      decodeMBps: mbps(quantile(c.decode.wall, 0.5)),
      encodeMBpsCpu: mbps(quantile(c.encode.cpu, 0.5)),
      decodeMBpsCpu: mbps(quantile(c.decode.cpu, 0.5)),
      ...(options.loadTrain ? { largeLoad: measureLargeLoad(c.version, options.loadTrain, test[0], passes, options.onProgress) } : {}),
    };
  });
}

/** Builds `version`'s snapshot of `train` and its derived state, then times `passes` loads of the model from that state. */
function measureLargeLoad(version: ModelVersion, train: readonly Uint8Array[], probe: Uint8Array | undefined, passes: number, onProgress?: (stage: string) => void): LargeLoadFigures {
  const trainBytes = train.reduce((sum, bytes) => sum + bytes.length, 0);
  const mib = (trainBytes / (1 << 20)).toFixed(1);
  onProgress?.(`cm model version ${version}: training a snapshot of ${mib} MiB`);
  const bytes = encodeSnapshot(train, { version, maxTrainingBytes: Math.max(trainBytes, 1) });
  const asset: Asset = { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot", bytes };
  const store = memoryDerivedStore();
  const loaded = loadSnapshot(bytes);
  writeDerivedSnapshot(store, asset, loaded);
  // What every load unpacks: the memory the state holds (read before the probe's coding can grow it).
  const memoryBytes = loaded.model.saveState().memory.length;
  const expected = probe ? loaded.model.encodeRecordBytes(probe) : undefined;
  const load: Timing = { wall: [], cpu: [] };
  for (let pass = 0; pass < passes; pass++) {
    onProgress?.(`cm model version ${version}: loading the ${mib} MiB snapshot's derived state, ${pass + 1} of ${passes}`);
    const model = timed(load, () => readDerivedSnapshot(store, asset)?.loadModel());
    if (!model) throw new Error(`cm model version ${version}: the ${mib} MiB snapshot's derived state did not load`);
    if (probe && expected && !Buffer.from(model.encodeRecordBytes(probe)).equals(expected)) {
      throw new Error(`cm model version ${version}: the model loaded from the ${mib} MiB snapshot's derived state codes a record differently`);
    }
  }
  return {
    trainBytes,
    memoryBytes,
    stateBytes: store.open(`cm-${asset.id}.state`)?.size ?? 0,
    loadMs: quantile(load.wall, 0.5) * 1000,
    loadCpuMs: quantile(load.cpu, 0.5) * 1000,
  };
}

/** Runs `work`, adding its wall and CPU seconds to `timing`. */
function timed<T>(timing: Timing, work: () => T): T {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = work();
  timing.cpu.push(cpuSeconds(cpu));
  timing.wall.push((performance.now() - started) / 1000);
  return result;
}

/** The text of a `cm` envelope decoded by `model` itself (not through the codec's cache), or undefined when it is not one or does not decode. */
function decodeWithModel(model: ContextModel, envelope: Uint8Array, cmCodecId: number): Uint8Array | undefined {
  try {
    const opened = openEnvelope(envelope, 1 << 30);
    if (opened.codecId !== cmCodecId) return undefined;
    return model.decodeRecordBytes(opened.originalLength, opened.payload);
  } catch {
    return undefined;
  }
}

function decodeOrUndefined(envelope: Uint8Array, codecs: ReadonlyMap<number, Codec>, asset: Asset): Uint8Array | undefined {
  try {
    return decodeEnvelope(envelope, codecs, () => [asset], 1 << 30);
  } catch {
    return undefined;
  }
}

/** A derived store in memory: benches time the load, not the disk. */
export function memoryDerivedStore(): DerivedStore {
  const files = new Map<string, Buffer>();
  return {
    open(name): DerivedFile | undefined {
      const bytes = files.get(name);
      if (!bytes) return undefined;
      return {
        size: bytes.length,
        read: (target, position) => bytes.copy(target, 0, position, position + target.length),
        close: () => undefined,
      };
    },
    write: (name, content) => void files.set(name, Buffer.concat(content())),
  };
}

/** Seconds of this process's CPU time (user + system) since `since`. */
export function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}
