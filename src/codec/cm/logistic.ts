/**
 * Integer logistic functions in the paq tradition: `stretch(p) = ln(p / (1 - p))` and its inverse
 * `squash`, with probabilities in 12 bits (0..4095) and the logistic domain scaled by 256 and
 * clamped to ±2047. Built from a 33-point integer table by interpolation, so every platform
 * computes the same numbers (no Math.exp in the coding path).
 */
const SQUASH_POINTS = [
  1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546, 2047, 2549, 2994, 3348, 3607, 3785, 3901, 3975, 4022, 4050, 4068, 4079, 4085, 4089,
  4092, 4093, 4094,
];

export function squash(d: number): number {
  if (d > 2047) return 4095;
  if (d < -2047) return 1;
  const w = d & 127;
  const i = (d >> 7) + 16;
  return ((SQUASH_POINTS[i] as number) * (128 - w) + (SQUASH_POINTS[i + 1] as number) * w + 64) >> 7;
}

/** stretch(p) for p in 0..4095: the inverse of squash, precomputed. */
export const STRETCH = new Int16Array(4096);
{
  let pi = 0;
  for (let x = -2047; x <= 2047; x++) {
    const v = squash(x);
    for (let j = pi; j <= v; j++) STRETCH[j] = x;
    pi = v + 1;
  }
  for (let j = pi; j < 4096; j++) STRETCH[j] = 2047;
}

/** A squash lookup over the whole clamped domain, indexed by d + 2048. */
export const SQUASH = new Int16Array(4096);
for (let d = -2048; d < 2048; d++) SQUASH[d + 2048] = squash(d);
