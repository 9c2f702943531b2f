import { MemzipError, ErrorCode } from "../errors.js";
import { checksum32 } from "./checksum.js";

/**
 * Envelopes, format versions 1 and 2 — see docs/FORMAT.md for the byte layouts. Every stored payload
 * is wrapped in one, so a reader can tell what made it, what it needs and whether the text it
 * rebuilt is right. New encodes write version 2; version 1 is read forever.
 */
/** Version 1: magic byte, then the version (high 4 bits) and flags (low 4 bits). */
export const ENVELOPE_MAGIC = 0xb7;
/** Version 2: one byte, the magic in its high 5 bits and the flags in its low 3 (`0xb8 | flags`). */
export const ENVELOPE_MAGIC_V2 = 0xb8;
const MAGIC_V2_MASK = 0xf8;
/** The version new encodes write. */
export const ENVELOPE_VERSION = 2;
/** Model and engine references (both versions), and version 1's asset references: the first 4 bytes of a sha256. */
export const REF_BYTES = 4;
/**
 * Version 2's asset reference of every codec but `llm`: a hint, the first byte of the asset's sha256;
 * the reader tries each asset of the needed kind whose id starts with it (docs/FORMAT.md).
 */
export const HINT_BYTES = 1;
/** The `llm` codec's id: its version 2 envelopes keep 4-byte asset references (a wrong candidate would cost a model run). */
const LLM_CODEC_ID = 5;
/** Smallest valid envelope, either version: magic, version/flags (v1), codec, 1-byte length, checksum, 1 payload byte. */
const MIN_ENVELOPE = 8;

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
  /** First 4 bytes of the asset's sha256 (a version 2 envelope keeps the first `assetRefBytes` of them). */
  asset?: Uint8Array;
  /** First 4 bytes of the model file's sha256. */
  model?: Uint8Array;
  /** First 4 bytes of the sha256 of the engine fingerprint string. */
  engine?: Uint8Array;
}

export interface EnvelopeHeader extends EnvelopeRefs {
  /** 1 or 2. */
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

/** Bytes of the asset reference an envelope of this version and codec carries: 4, or version 2's 1-byte hint (4 for `llm`). */
export function assetRefBytes(version: number, codecId: number): number {
  return version === 1 || codecId === LLM_CODEC_ID ? REF_BYTES : HINT_BYTES;
}

/** Bytes of the header fields before the references: magic (and version) bytes, codec, length, checksum. */
export function fixedHeaderBytes(version: number, originalLength: number): number {
  return (version === 1 ? 3 : 2) + varintLength(originalLength) + 4;
}

/**
 * Wraps a payload. References are given whole (4 bytes); a version 2 envelope keeps the asset's
 * hint. `version` 1 is for tests and tools that must write what older builds wrote.
 */
export function sealEnvelope(codecId: number, original: Uint8Array, payload: Uint8Array, refs: EnvelopeRefs = {}, version: 1 | 2 = ENVELOPE_VERSION): Uint8Array {
  const flags = (refs.asset ? EnvelopeFlag.ASSET : 0) | (refs.model ? EnvelopeFlag.MODEL : 0) | (refs.engine ? EnvelopeFlag.ENGINE : 0);
  const assetBytes = assetRefBytes(version, codecId);
  const refBytes = (refs.asset ? assetBytes : 0) + (refs.model ? REF_BYTES : 0) + (refs.engine ? REF_BYTES : 0);
  const out = new Uint8Array(fixedHeaderBytes(version, original.length) + refBytes + payload.length);
  let at: number;
  if (version === 1) {
    out[0] = ENVELOPE_MAGIC;
    out[1] = (1 << 4) | flags;
    out[2] = codecId;
    at = 3;
  } else {
    out[0] = ENVELOPE_MAGIC_V2 | flags;
    out[1] = codecId;
    at = 2;
  }
  at = writeVarint(out, at, original.length);
  new DataView(out.buffer, out.byteOffset).setUint32(at, checksum32(original), true);
  at += 4;
  for (const [ref, length] of [[refs.asset, assetBytes], [refs.model, REF_BYTES], [refs.engine, REF_BYTES]] as const) {
    if (!ref) continue;
    if (ref.length !== REF_BYTES) throw new RangeError(`envelope references are given as ${REF_BYTES} bytes`);
    out.set(ref.subarray(0, length), at);
    at += length;
  }
  out.set(payload, at);
  return out;
}

/** The format version of an envelope by its first bytes (1 or 2), or undefined when it is not a memzip envelope. */
export function envelopeVersion(bytes: Uint8Array): number | undefined {
  const first = bytes[0];
  if (first === ENVELOPE_MAGIC) return bytes.length > 1 ? (bytes[1] as number) >> 4 : undefined;
  if (first !== undefined && (first & MAGIC_V2_MASK) === ENVELOPE_MAGIC_V2) return 2;
  return undefined;
}

/** Parses and validates the header; trusts nothing until each field has been checked. */
export function openEnvelope(bytes: Uint8Array, maxOriginalLength: number): OpenedEnvelope {
  if (bytes.length < MIN_ENVELOPE) throw formatError(`envelope is ${bytes.length} bytes, shorter than any valid one`);
  const first = bytes[0] as number;
  let version: number;
  let flags: number;
  let codecId: number;
  let at: number;
  if (first === ENVELOPE_MAGIC) {
    version = (bytes[1] as number) >> 4;
    if (version !== 1) {
      throw new MemzipError(ErrorCode.VERSION, `envelope format version ${version} is not supported (this build reads 1 and ${ENVELOPE_VERSION})`, {
        hint: "Upgrade memzip to read payloads written by a newer version.",
        details: { version },
      });
    }
    flags = (bytes[1] as number) & 0x0f;
    codecId = bytes[2] as number;
    at = 3;
    if (bytes.length < MIN_ENVELOPE + 1) throw formatError(`envelope is ${bytes.length} bytes, shorter than any valid one`);
  } else if ((first & MAGIC_V2_MASK) === ENVELOPE_MAGIC_V2) {
    version = 2;
    flags = first & 0x07;
    codecId = bytes[1] as number;
    at = 2;
  } else {
    throw formatError("not a memzip envelope (wrong magic)");
  }
  if ((flags & ~KNOWN_FLAGS) !== 0) throw formatError(`envelope has unknown flags 0x${flags.toString(16)}`);
  const [originalLength, afterLength] = readVarint(bytes, at);
  if (originalLength === 0 || originalLength > maxOriginalLength) {
    throw formatError(`envelope claims an original length of ${originalLength} bytes (allowed 1..${maxOriginalLength})`);
  }
  at = afterLength;
  if (at + 4 > bytes.length) throw formatError("envelope truncated in its checksum");
  const checksum = new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);
  at += 4;
  const header: EnvelopeHeader = { version, codecId, flags, originalLength, checksum };
  for (const [flag, key] of [[EnvelopeFlag.ASSET, "asset"], [EnvelopeFlag.MODEL, "model"], [EnvelopeFlag.ENGINE, "engine"]] as const) {
    if ((flags & flag) === 0) continue;
    const length = key === "asset" ? assetRefBytes(version, codecId) : REF_BYTES;
    if (at + length > bytes.length) throw formatError(`envelope truncated in its ${key} reference`);
    header[key] = bytes.slice(at, at + length);
    at += length;
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
