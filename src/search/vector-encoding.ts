/**
 * How the search index stores a unit vector: the bytes per dimension trade index size against
 * ranking precision. Every encoding decodes to a unit-length float32 row, so a dot product with a
 * unit query is the cosine of the query and the decoded vector (asymmetric: the query stays float).
 * No scale is stored: the decoded row is renormalised, so only the direction matters.
 */
import { decodeFloat16, encodeFloat16 } from "../codec/float16.js";

export interface VectorEncoding {
  /** Bytes one stored vector of `dimensions` takes. */
  bytes(dimensions: number): number;
  encode(unit: Float32Array): Uint8Array;
  /** Fills `out` (length = dimensions) with the decoded vector, at unit length (zeros stay zeros). */
  decode(bytes: Uint8Array, out: Float32Array): void;
}

/** Ternary: a component smaller than this share of the mean magnitude becomes 0. */
const TERNARY_ZERO_SHARE = 0.5;

const float16: VectorEncoding = {
  bytes: (dimensions) => dimensions * 2,
  encode: (unit) => encodeFloat16(unit),
  decode: (bytes, out) => {
    decodeFloat16(bytes, out);
    normalise(out);
  },
};

/** One signed byte a component, scaled so the largest magnitude is 127. */
const int8: VectorEncoding = {
  bytes: (dimensions) => dimensions,
  encode: (unit) => {
    let max = 0;
    for (const v of unit) max = Math.max(max, Math.abs(v));
    const scale = max > 0 ? 127 / max : 0;
    const out = new Int8Array(unit.length);
    for (let i = 0; i < unit.length; i++) out[i] = Math.round((unit[i] as number) * scale);
    return new Uint8Array(out.buffer);
  },
  decode: (bytes, out) => {
    const values = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < out.length; i++) out[i] = values[i] as number;
    normalise(out);
  },
};

/** Two bits a component: −1, 0 or +1 (0 for the small ones); bit pairs low first. */
const ternary: VectorEncoding = {
  bytes: (dimensions) => Math.ceil(dimensions / 4),
  encode: (unit) => {
    let mean = 0;
    for (const v of unit) mean += Math.abs(v);
    const zero = (mean / Math.max(1, unit.length)) * TERNARY_ZERO_SHARE;
    const out = new Uint8Array(Math.ceil(unit.length / 4));
    for (let i = 0; i < unit.length; i++) {
      const v = unit[i] as number;
      const code = Math.abs(v) < zero || v === 0 ? 0 : v > 0 ? 1 : 2;
      out[i >> 2] = (out[i >> 2] as number) | (code << ((i & 3) * 2));
    }
    return out;
  },
  decode: (bytes, out) => {
    for (let i = 0; i < out.length; i++) {
      const code = ((bytes[i >> 2] as number) >> ((i & 3) * 2)) & 3;
      out[i] = code === 1 ? 1 : code === 2 ? -1 : 0;
    }
    normalise(out);
  },
};

/** One bit a component: its sign (0 counts as positive); bits low first. */
const binary: VectorEncoding = {
  bytes: (dimensions) => Math.ceil(dimensions / 8),
  encode: (unit) => {
    const out = new Uint8Array(Math.ceil(unit.length / 8));
    for (let i = 0; i < unit.length; i++) if ((unit[i] as number) < 0) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
    return out;
  },
  decode: (bytes, out) => {
    const value = 1 / Math.sqrt(out.length);
    for (let i = 0; i < out.length; i++) out[i] = ((bytes[i >> 3] as number) >> (i & 7)) & 1 ? -value : value;
  },
};

/** The stored vector encodings, by name. */
export const VECTOR_ENCODINGS = { float16, int8, ternary, binary } as const satisfies Record<string, VectorEncoding>;
export type VectorEncodingName = keyof typeof VECTOR_ENCODINGS;
export const VECTOR_ENCODING_NAMES = Object.keys(VECTOR_ENCODINGS) as VectorEncodingName[];
/** Chosen by `npm run bench:search` (docs/SEARCH.md): the smallest whose hit rate held. */
export const DEFAULT_VECTOR_ENCODING = "ternary" satisfies VectorEncodingName;

export function isVectorEncodingName(name: unknown): name is VectorEncodingName {
  return typeof name === "string" && Object.hasOwn(VECTOR_ENCODINGS, name);
}

function normalise(vector: Float32Array): void {
  let norm = 0;
  for (const v of vector) norm += v * v;
  if (norm === 0 || Math.abs(norm - 1) < 1e-6) return;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) * scale;
}
