/**
 * IEEE 754 half precision for stored vectors: half the bytes of float32, and for unit vectors
 * (components within ±1) a relative error under 2^-11, far below what ranking notices.
 * Little-endian, two bytes a component.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds one float32 to the nearest half (ties to even); overflow becomes ±Infinity. */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** Every half's float value, so that reading a vector is one table look-up a component. */
const HALF_TO_FLOAT = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    table[h] =
      exponent === 0 ? sign * mantissa * 2 ** -24 : exponent === 0x1f ? (mantissa ? NaN : sign * Infinity) : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return table;
})();

export function encodeFloat16(vector: Float32Array): Uint8Array {
  const out = new Uint8Array(vector.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < vector.length; i++) view.setUint16(i * 2, toHalf(vector[i] as number), true);
  return out;
}

/** Decodes into `out` at `offset` (a row of a matrix, say), or into a new array. */
export function decodeFloat16(bytes: Uint8Array, out: Float32Array<ArrayBufferLike> = new Float32Array(bytes.length >>> 1), offset = 0): Float32Array<ArrayBufferLike> {
  if (bytes.length % 2 !== 0) throw new RangeError(`a float16 vector has an even number of bytes, not ${bytes.length}`);
  for (let i = 0, j = 0; j < bytes.length; i++, j += 2) out[offset + i] = HALF_TO_FLOAT[(bytes[j] as number) | ((bytes[j + 1] as number) << 8)] as number;
  return out;
}
