import { readVarint, varintLength, writeVarint } from "../envelope.js";
import { ZstdFrames } from "../zstd-native.js";
import { CONTEXT_MODEL_DEFAULTS, ContextModel, type ContextModelParams } from "./context-model.js";

/**
 * A context-model snapshot is a recipe, not a memory dump: the model's sizes plus the training
 * texts (zstd-compressed). Loading replays training, which is deterministic, so the asset stays
 * a few hundred KB where the trained tables would be tens of MB.
 *
 * Layout: "MZCM" · version (1) · tableBits (1) · matchBits (1) · varint record count ·
 * varint body length · zstd frame of the body (each record as varint length + bytes).
 */
const MAGIC = [0x4d, 0x5a, 0x43, 0x4d] as const;
const VERSION = 1;
const MAX_BODY_BYTES = 1 << 30;

export interface SnapshotOptions {
  /** Model sizes. Defaults to `CONTEXT_MODEL_DEFAULTS` (tableBits 23, matchBits 20: about 45 MiB of RAM with 4 MiB of training text). */
  params?: ContextModelParams;
  /** Most training text kept, newest records first. Defaults to 4 MiB. */
  maxTrainingBytes?: number;
}

export const SNAPSHOT_DEFAULTS = { maxTrainingBytes: 4 << 20 } as const;

export function encodeSnapshot(samples: readonly Uint8Array[], options: SnapshotOptions = {}): Uint8Array {
  const params = options.params ?? CONTEXT_MODEL_DEFAULTS;
  const budget = options.maxTrainingBytes ?? SNAPSHOT_DEFAULTS.maxTrainingBytes;
  const chosen: Uint8Array[] = [];
  let used = 0;
  for (let i = samples.length - 1; i >= 0 && used < budget; i--) {
    const sample = samples[i] as Uint8Array;
    if (used + sample.length > budget) continue;
    chosen.push(sample);
    used += sample.length;
  }
  chosen.reverse();
  const body = new Uint8Array(chosen.reduce((sum, s) => sum + varintLength(s.length) + s.length, 0));
  let at = 0;
  for (const sample of chosen) {
    at = writeVarint(body, at, sample.length);
    body.set(sample, at);
    at += sample.length;
  }
  const packed = new ZstdFrames(19).compress(body);
  const header = new Uint8Array(7 + varintLength(chosen.length) + varintLength(body.length));
  header.set(MAGIC);
  header[4] = VERSION;
  header[5] = params.tableBits;
  header[6] = params.matchBits;
  writeVarint(header, writeVarint(header, 7, chosen.length), body.length);
  const out = new Uint8Array(header.length + packed.length);
  out.set(header);
  out.set(packed, header.length);
  return out;
}

export interface DecodedSnapshot {
  params: ContextModelParams;
  samples: Uint8Array[];
}

/** Parses a snapshot, validating every field; throws `RangeError` on anything malformed. */
export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  if (bytes.length < 9 || MAGIC.some((m, i) => bytes[i] !== m)) throw new RangeError("not a context-model snapshot");
  if (bytes[4] !== VERSION) throw new RangeError(`context-model snapshot version ${bytes[4]} is not supported`);
  const params = { tableBits: bytes[5] as number, matchBits: bytes[6] as number };
  if (params.tableBits < 16 || params.tableBits > 26 || params.matchBits < 10 || params.matchBits > 26) throw new RangeError("snapshot model sizes out of range");
  const [count, afterCount] = readVarint(bytes, 7);
  const [bodyLength, afterLength] = readVarint(bytes, afterCount);
  if (bodyLength > MAX_BODY_BYTES) throw new RangeError("snapshot body too large");
  const body = new ZstdFrames(19).decompress(bytes.subarray(afterLength), bodyLength);
  const samples: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const [length, next] = readVarint(body, at);
    if (next + length > body.length) throw new RangeError("snapshot body truncated");
    samples.push(body.subarray(next, next + length));
    at = next + length;
  }
  if (at !== body.length) throw new RangeError("snapshot body has trailing bytes");
  return { params, samples };
}

/** Replays a snapshot's training and returns the frozen model. */
export function loadSnapshot(bytes: Uint8Array): ContextModel {
  const { params, samples } = decodeSnapshot(bytes);
  const model = new ContextModel(params);
  for (const sample of samples) model.train(sample);
  model.freeze();
  return model;
}
