import { checksum32 } from "../checksum.js";
import { readVarint, varintLength, writeVarint } from "../envelope.js";
import { RangeDecoder, RangeEncoder } from "../range-coder.js";
import { CONTEXT_MODEL_DEFAULTS, CURRENT_MODEL_VERSION, ContextModel, isModelVersion, type ContextModelParams, type ModelVersion } from "./context-model.js";

/**
 * A context-model snapshot is a recipe, not a memory dump: the model's sizes and the training
 * texts, coded by the model itself as it learns them (so the body costs what the namespace's
 * text costs as one stream). Loading decodes the body, which is the same pass as training, so
 * the asset is a few hundred KB where the trained tables would be tens of MB.
 *
 * Layout: "MZCM" · version (the model version: 2, 3 or 4) · tableBits (1) · matchBits (1) · varint record count ·
 * the records' lengths as varints · XXH32 of all records (4, LE) · range-coded body.
 */
const MAGIC = [0x4d, 0x5a, 0x43, 0x4d] as const;
/** Snapshot versions: the version is the model version that trained it (2: the first model, 3: the second, 4: the current one). */
/** Largest training text a snapshot may announce (the encoder keeps 4 MiB by default). */
const MAX_TRAINING_BYTES = 256 << 20;

export interface SnapshotOptions {
  /** Model sizes. Defaults to `CONTEXT_MODEL_DEFAULTS` (tableBits 23, matchBits 20: about 45 MiB of RAM with 4 MiB of training text). */
  params?: ContextModelParams;
  /** Most training text kept, newest records first. Defaults to 4 MiB. */
  maxTrainingBytes?: number;
  /** The model to train; defaults to the current one (older ones only for comparisons and tests). */
  version?: ModelVersion;
}

export const SNAPSHOT_DEFAULTS = { maxTrainingBytes: 4 << 20 } as const;

export function encodeSnapshot(samples: readonly Uint8Array[], options: SnapshotOptions = {}): Uint8Array {
  return trainSnapshot(samples, options).bytes;
}

/**
 * `encodeSnapshot`, also giving the model it trained, frozen, with the texts it kept: the state `loadSnapshot` of the
 * bytes gives (the same bits learned in the same order, memory byte for byte), so a trainer can derive the model
 * state from it at once instead of decoding the snapshot again (~1 s per MB).
 */
export function trainSnapshot(samples: readonly Uint8Array[], options: SnapshotOptions = {}): { bytes: Uint8Array; loaded: LoadedSnapshot } {
  const params = options.params ?? CONTEXT_MODEL_DEFAULTS;
  // A snapshot no reader would load is refused here, before it is trained and saved.
  if (!sizesInRange(params)) throw new RangeError(`snapshot model sizes out of range: tableBits ${params.tableBits} (16–${MAX_TABLE_BITS}), matchBits ${params.matchBits} (10–26)`);
  const chosen = newestWithin(samples, options.maxTrainingBytes ?? SNAPSHOT_DEFAULTS.maxTrainingBytes);
  const version = options.version ?? CURRENT_MODEL_VERSION;
  const model = new ContextModel(params, version);
  const encoder = new RangeEncoder(chosen.reduce((sum, s) => sum + s.length, 0) / 3);
  for (const sample of chosen) model.trainEncoding(sample, encoder);
  const body = encoder.finish();
  const header = new Uint8Array(7 + varintLength(chosen.length) + chosen.reduce((sum, s) => sum + varintLength(s.length), 0) + 4);
  header.set(MAGIC);
  header[4] = version;
  header[5] = params.tableBits;
  header[6] = params.matchBits;
  let at = writeVarint(header, 7, chosen.length);
  for (const sample of chosen) at = writeVarint(header, at, sample.length);
  new DataView(header.buffer).setUint32(at, checksum32(concat(chosen)), true);
  model.freeze();
  return { bytes: concat([header, body]), loaded: { model, samples: chosen } };
}

/** Largest `tableBits` a snapshot may name (2^26 counters: 256 MiB of model memory). */
export const MAX_TABLE_BITS = 26;

/** Whether a snapshot may name this `tableBits` (an integer from 16 to MAX_TABLE_BITS). */
export function tableBitsInRange(tableBits: number): boolean {
  return Number.isInteger(tableBits) && tableBits >= 16 && tableBits <= MAX_TABLE_BITS;
}

function sizesInRange({ tableBits, matchBits }: ContextModelParams): boolean {
  return tableBitsInRange(tableBits) && Number.isInteger(matchBits) && matchBits >= 10 && matchBits <= 26;
}

/** A loaded snapshot: the frozen model and the texts it learned from. */
export interface LoadedSnapshot {
  model: ContextModel;
  samples: Uint8Array[];
}

/** What a snapshot's header says, validated: the model sizes, the training texts' lengths and their XXH32, and where the body starts. */
export interface SnapshotHeader {
  /** The model that trained the snapshot, and so codes every record written with it. */
  version: ModelVersion;
  params: ContextModelParams;
  lengths: number[];
  /** XXH32 of all training texts, concatenated. */
  checksum: number;
  bodyAt: number;
}

/** Reads and validates a snapshot's header (cheap: no model runs); throws `RangeError` on anything malformed. */
export function readSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  if (bytes.length < 12 || MAGIC.some((m, i) => bytes[i] !== m)) throw new RangeError("not a context-model snapshot");
  const version = bytes[4] as number;
  if (!isModelVersion(version)) throw new RangeError(`context-model snapshot version ${version} is not supported`);
  const params = { tableBits: bytes[5] as number, matchBits: bytes[6] as number };
  if (!sizesInRange(params)) throw new RangeError("snapshot model sizes out of range");
  const [count, afterCount] = readVarint(bytes, 7);
  let at = afterCount;
  const lengths: number[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const [length, next] = readVarint(bytes, at);
    lengths.push(length);
    total += length;
    at = next;
    if (total > MAX_TRAINING_BYTES) throw new RangeError("snapshot training text too large");
  }
  if (at + 4 > bytes.length) throw new RangeError("snapshot truncated");
  const checksum = new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);
  return { version, params, lengths, checksum, bodyAt: at + 4 };
}

/** Decodes a snapshot, validating every field; throws `RangeError` on anything malformed. */
export function loadSnapshot(bytes: Uint8Array): LoadedSnapshot {
  const { version, params, lengths, checksum, bodyAt } = readSnapshotHeader(bytes);
  const model = new ContextModel(params, version);
  const decoder = new RangeDecoder(bytes.subarray(bodyAt));
  const samples = lengths.map((length) => model.trainDecoding(length, decoder));
  if (checksum32(concat(samples)) !== checksum) throw new RangeError("snapshot body is corrupted (checksum mismatch)");
  model.freeze();
  return { model, samples };
}

/** The newest samples whose total length fits the budget, in their original order. */
function newestWithin(samples: readonly Uint8Array[], budget: number): Uint8Array[] {
  const chosen: Uint8Array[] = [];
  let used = 0;
  for (let i = samples.length - 1; i >= 0 && used < budget; i--) {
    const sample = samples[i] as Uint8Array;
    if (used + sample.length > budget) continue;
    chosen.push(sample);
    used += sample.length;
  }
  return chosen.reverse();
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
