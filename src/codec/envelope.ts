import { MemzipError, ErrorCode } from "../errors.js";
import { checksum32 } from "./checksum.js";

/**
 * Envelope v1 — see docs/FORMAT.md for the byte layout. Every stored payload is wrapped in one,
 * so a reader can tell what made it, what it needs and whether the text it rebuilt is right.
 */
export const ENVELOPE_MAGIC = 0xb7;
export const ENVELOPE_VERSION = 1;
/** Asset, model and engine references are the first 4 bytes of a sha256. */
export const REF_BYTES = 4;
/** Smallest valid envelope: magic, version/flags, codec, 1-byte length, checksum, 1 payload byte. */
const MIN_ENVELOPE = 9;

export const EnvelopeFlag = {
  /** An asset (dictionary, context-model snapshot) reference follows the checksum. */
  ASSET: 1,
  /** A model fingerprint reference follows. */
  MODEL: 2,
  /** An engine fingerprint reference follows. */
  ENGINE: 4,
} as const;
const KNOWN_FLAGS = EnvelopeFlag.ASSET | EnvelopeFlag.MODEL | EnvelopeFlag.ENGINE;

export interface EnvelopeRefs {
  /** First 4 bytes of the asset's sha256. */
  asset?: Uint8Array;
  /** First 4 bytes of the model file's sha256. */
  model?: Uint8Array;
  /** First 4 bytes of the sha256 of the engine fingerprint string. */
  engine?: Uint8Array;
}

export interface EnvelopeHeader extends EnvelopeRefs {
  version: number;
  codecId: number;
  flags: number;
  originalLength: number;
  checksum: number;
}

export interface OpenedEnvelope extends EnvelopeHeader {
  payload: Uint8Array;
  /** Bytes before the payload. */
  headerLength: number;
}

export function sealEnvelope(codecId: number, original: Uint8Array, payload: Uint8Array, refs: EnvelopeRefs = {}): Uint8Array {
  const flags = (refs.asset ? EnvelopeFlag.ASSET : 0) | (refs.model ? EnvelopeFlag.MODEL : 0) | (refs.engine ? EnvelopeFlag.ENGINE : 0);
  const refCount = (refs.asset ? 1 : 0) + (refs.model ? 1 : 0) + (refs.engine ? 1 : 0);
  const out = new Uint8Array(3 + varintLength(original.length) + 4 + refCount * REF_BYTES + payload.length);
  out[0] = ENVELOPE_MAGIC;
  out[1] = (ENVELOPE_VERSION << 4) | flags;
  out[2] = codecId;
  let at = writeVarint(out, 3, original.length);
  new DataView(out.buffer, out.byteOffset).setUint32(at, checksum32(original), true);
  at += 4;
  for (const ref of [refs.asset, refs.model, refs.engine]) {
    if (!ref) continue;
    if (ref.length !== REF_BYTES) throw new RangeError(`envelope references are ${REF_BYTES} bytes`);
    out.set(ref, at);
    at += REF_BYTES;
  }
  out.set(payload, at);
  return out;
}

/** Parses and validates the header; trusts nothing until each field has been checked. */
export function openEnvelope(bytes: Uint8Array, maxOriginalLength: number): OpenedEnvelope {
  if (bytes.length < MIN_ENVELOPE) throw formatError(`envelope is ${bytes.length} bytes, shorter than any valid one`);
  if (bytes[0] !== ENVELOPE_MAGIC) throw formatError("not a memzip envelope (wrong magic)");
  const version = (bytes[1] as number) >> 4;
  if (version !== ENVELOPE_VERSION) {
    throw new MemzipError(ErrorCode.VERSION, `envelope format version ${version} is not supported (this build reads ${ENVELOPE_VERSION})`, {
      hint: "Upgrade memzip to read payloads written by a newer version.",
      details: { version },
    });
  }
  const flags = (bytes[1] as number) & 0x0f;
  const codecId = bytes[2] as number;
  if ((flags & ~KNOWN_FLAGS) !== 0) throw formatError(`envelope has unknown flags 0x${flags.toString(16)}`);
  const [originalLength, afterLength] = readVarint(bytes, 3);
  if (originalLength === 0 || originalLength > maxOriginalLength) {
    throw formatError(`envelope claims an original length of ${originalLength} bytes (allowed 1..${maxOriginalLength})`);
  }
  let at = afterLength;
  if (at + 4 > bytes.length) throw formatError("envelope truncated in its checksum");
  const checksum = new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);
  at += 4;
  const header: EnvelopeHeader = { version, codecId, flags, originalLength, checksum };
  for (const [flag, key] of [[EnvelopeFlag.ASSET, "asset"], [EnvelopeFlag.MODEL, "model"], [EnvelopeFlag.ENGINE, "engine"]] as const) {
    if ((flags & flag) === 0) continue;
    if (at + REF_BYTES > bytes.length) throw formatError(`envelope truncated in its ${key} reference`);
    header[key] = bytes.slice(at, at + REF_BYTES);
    at += REF_BYTES;
  }
  return { ...header, payload: bytes.subarray(at), headerLength: at };
}

export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

export function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/** Reads an unsigned LEB128 of at most 5 bytes (< 2^35), minimally encoded. */
export function readVarint(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 5; i++) {
    if (at >= bytes.length) throw formatError("envelope truncated in a length field");
    const byte = bytes[at++] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw formatError("length field is not minimally encoded");
      return [value, at];
    }
    scale *= 128;
  }
  throw formatError("length field is longer than 5 bytes");
}

export function formatError(message: string): MemzipError {
  return new MemzipError(ErrorCode.FORMAT, message, {
    hint: "The payload is corrupted or truncated; restore the memory from a backup or an export.",
  });
}
