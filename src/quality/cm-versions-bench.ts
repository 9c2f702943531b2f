import { createHash } from "node:crypto";
import type { Asset, Codec } from "../codec/codec.js";
import { createCmCodec } from "../codec/cm.js";
import { CURRENT_MODEL_VERSION, type ModelVersion } from "../codec/cm/context-model.js";
import { readDerivedSnapshot, writeDerivedSnapshot } from "../codec/cm/derived-state.js";
import { encodeSnapshot, loadSnapshot } from "../codec/cm/snapshot.js";
import type { DerivedFile, DerivedStore } from "../codec/derived.js";
import { decodeEnvelope, encodeEnvelope } from "../codec/envelope-codec.js";
import { openEnvelope } from "../codec/envelope.js";
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
  exact: number;
  snapshotBytes: number;
  /** The derived state's file (what a fresh process loads instead of training). */
  stateBytes: number;
  /** Loading the model from its derived state: the median over the passes, in this process's CPU time and in wall time. */
  stateLoadCpuMs: number;
  stateLoadMs: number;
  /** Original MB coded per second of this process's CPU time (one core), the median over the passes. */
  encodeMBpsCpu: number;
  decodeMBpsCpu: number;
}

export interface CmVersionsBenchOptions {
  /** Versions to measure, oldest first. Defaults to the current one and the one before it. */
  versions?: readonly ModelVersion[];
  /** Timed passes, back to back for each version; its speeds are the median pass. Defaults to `3`. */
  passes?: number;
  onProgress?: (stage: string) => void;
}

interface Contestant {
  version: ModelVersion;
  asset: Asset;
  codec: Codec;
  store: DerivedStore;
  envelopes: Uint8Array[];
  /** The first pass's decodes (undefined where a decode failed). */
  decoded: (Uint8Array | undefined)[];
  stateLoadMs: number[];
  stateLoadCpuMs: number[];
  encodeCpu: number[];
  decodeCpu: number[];
}

/**
 * `cm` model versions side by side in one run, as issue 16 asks of a new model (its bits and speeds against the old
 * one's, same machine, same moment): each version's snapshot is trained on `train`; each record of `test` is coded
 * alone into a whole envelope and decoded back through the envelope path a store read takes. Each version's passes
 * run back to back, as in a process serving one namespace (alternating versions pass by pass made each model evict the
 * other's table lines from the caches: ~15 % slower for both, measured). In each pass every record is encoded before
 * any is decoded, so that a decode does not find the table lines its own encode just left in the cache. Speeds are
 * this process's CPU time: what one core does.
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
    return { version, asset, codec, store, envelopes: [], decoded: [], stateLoadMs: [], stateLoadCpuMs: [], encodeCpu: [], decodeCpu: [] };
  });
  for (const c of contestants) {
    for (let pass = 0; pass < passes; pass++) {
      options.onProgress?.(`cm model version ${c.version}: pass ${pass + 1} of ${passes}`);
      const started = performance.now();
      let cpu = process.cpuUsage();
      if (!readDerivedSnapshot(c.store, c.asset)?.loadModel()) throw new Error(`cm model version ${c.version}: its derived state did not load`);
      c.stateLoadCpuMs.push(cpuSeconds(cpu) * 1000);
      c.stateLoadMs.push(performance.now() - started);
      // The codecs keep few loaded models (MAX_LOADED_SNAPSHOTS): load this version's outside the timed part.
      c.codec.prepare?.(c.asset);
      cpu = process.cpuUsage();
      c.envelopes = test.map((bytes) => encodeEnvelope(c.codec, bytes, c.asset) ?? new Uint8Array(0));
      c.encodeCpu.push(cpuSeconds(cpu));
      const codecs = new Map([[c.codec.id, c.codec]]);
      cpu = process.cpuUsage();
      const decoded = c.envelopes.map((envelope) => decodeOrUndefined(envelope, codecs, c.asset));
      c.decodeCpu.push(cpuSeconds(cpu));
      if (pass === 0) c.decoded = decoded;
    }
  }
  return contestants.map((c) => {
    const exact = test.filter((bytes, i) => {
      const back = c.decoded[i];
      return back !== undefined && Buffer.from(back).equals(bytes);
    }).length;
    const storedBytes = c.envelopes.reduce((sum, envelope) => sum + envelope.length, 0);
    const payloadBytes = c.envelopes.reduce((sum, envelope) => sum + (envelope.length === 0 ? 0 : envelope.length - openEnvelope(envelope, 1 << 30).headerLength), 0);
    const mbps = (seconds: number) => (seconds === 0 ? 0 : originalBytes / 1e6 / seconds);
    return {
      version: c.version,
      records: test.length,
      originalBytes,
      bitsPerByte: bitsPerByte(storedBytes, originalBytes),
      payloadBitsPerByte: bitsPerByte(payloadBytes, originalBytes),
      exact,
      snapshotBytes: c.asset.bytes.length,
      stateBytes: c.store.open(`cm-${c.asset.id}.state`)?.size ?? 0,
      stateLoadCpuMs: quantile(c.stateLoadCpuMs, 0.5),
      stateLoadMs: quantile(c.stateLoadMs, 0.5),
      encodeMBpsCpu: mbps(quantile(c.encodeCpu, 0.5)),
      decodeMBpsCpu: mbps(quantile(c.decodeCpu, 0.5)),
    };
  });
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
