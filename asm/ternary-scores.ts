// Scores of one query against rows of ternary codes (2 bits a dimension, 4 dimensions a byte), by
// table look-up: the caller fills a table of `width` × 256 float32 partial sums (for byte b and code
// byte v: the query's 4 dimensions of byte b, each taken as +q, −q or 0 as v says), so a row's dot
// product is `width` look-ups; times the row's inverse norm (1/√nonzeros) it is the cosine the
// decoded unit row would give. The caller lays out linear memory: the table, the codes
// (rows × width bytes, width a multiple of 4), the inverse norms and room for the scores.

export function scores(tableAt: usize, codesAt: usize, rows: i32, width: i32, normsAt: usize, outAt: usize): void {
  let row = codesAt;
  for (let r = 0; r < rows; r++) {
    store<f32>(outAt + (<usize>r << 2), rowScore(tableAt, row, width, load<f32>(normsAt + (<usize>r << 2))));
    row += <usize>width;
  }
}

// The same scores when the query leaves most code bytes without weight (a short query under the
// n-gram embedder has a few dozen non-zero dimensions of 256): only the bytes in two lists are
// looked up. `listAt` holds `countA` byte offsets, then `countB`: those summed into `a`, then into
// `b`, each list in increasing order, as `scores` sums them (bytes 0 and 2 of each word into `a`,
// 1 and 3 into `b`). A byte left out adds exactly +0 there, so the scores are the same, bit for bit.
export function sparseScores(tableAt: usize, codesAt: usize, rows: i32, width: i32, normsAt: usize, outAt: usize, listAt: usize, countA: i32, countB: i32): void {
  let row = codesAt;
  const endA = listAt + (<usize>countA << 2);
  const endB = endA + (<usize>countB << 2);
  for (let r = 0; r < rows; r++) {
    let a: f32 = 0;
    let b: f32 = 0;
    for (let at = listAt; at < endA; at += 4) {
      const byte = load<u32>(at);
      a += load<f32>(tableAt + (<usize>byte << 10) + (<usize>load<u8>(row + <usize>byte) << 2));
    }
    for (let at = endA; at < endB; at += 4) {
      const byte = load<u32>(at);
      b += load<f32>(tableAt + (<usize>byte << 10) + (<usize>load<u8>(row + <usize>byte) << 2));
    }
    store<f32>(outAt + (<usize>r << 2), (a + b) * load<f32>(normsAt + (<usize>r << 2)));
    row += <usize>width;
  }
}

// One row's score: `scores` is this for every row, and the exact rescoring of the bounded scan uses it too (the same
// operations in the same order, so the same bits).
// @ts-ignore: decorator
@inline
function rowScore(tableAt: usize, row: usize, width: i32, norm: f32): f32 {
  let a: f32 = 0;
  let b: f32 = 0;
  let table = tableAt;
  for (let i = 0; i < width; i += 4) {
    const word = load<u32>(row + <usize>i);
    a += load<f32>(table + (<usize>(word & 0xff) << 2));
    b += load<f32>(table + 1024 + (<usize>((word >> 8) & 0xff) << 2));
    a += load<f32>(table + 2048 + (<usize>((word >> 16) & 0xff) << 2));
    b += load<f32>(table + 3072 + (<usize>(word >> 24) << 2));
    table += 4096;
  }
  return (a + b) * norm;
}

// The exact scores (as `scores` gives them) of the `count` rows listed (u32) at `rowsAt`, into their places at `outAt`.
export function rescoreRows(tableAt: usize, codesAt: usize, width: i32, normsAt: usize, outAt: usize, rowsAt: usize, count: i32): void {
  const end = rowsAt + (<usize>count << 2);
  for (let at = rowsAt; at < end; at += 4) {
    const r = <usize>load<u32>(at);
    store<f32>(outAt + (r << 2), rowScore(tableAt, codesAt + r * <usize>width, width, load<f32>(normsAt + (r << 2))));
  }
}

// Scores above a floor, 16 rows at a time (WASM SIMD), then exact where they may count. The codes
// are also kept in blocks of 16 rows transposed by byte (`blocksAt`: block k, byte b at
// k·width·16 + b·16, one byte a row). Per code byte the query's partial sums are split into two
// nibble tables of 16 small integers (`nibblesAt`: 32 bytes a code byte, low nibble's table then the
// high's, each entry in [-63, 63], so a byte's two look-ups sum without overflow in an i8 lane and 64
// such sums in an i16 lane). `scale` × the integer sum approximates the row's dot product within
// `margin` (the caller's proven bound on quantisation and float rounding), so
// (scale·sum + margin) × inverse norm bounds the score from above. A row whose bound reaches `cut`
// is scored exactly (as `scores` does); every other row gets its bound, which is below `cut`.
// Only the `count` code bytes listed (u32) at `listAt` are looked up (the others weigh nothing).
// Rows are padded to a multiple of 16 in `outAt` and `normsAt`. Returns the number scored exactly,
// and lists those rows (u32, in order) at `rescoredAt`.
export function boundedScores(tableAt: usize, codesAt: usize, blocksAt: usize, nibblesAt: usize, rows: i32, width: i32, normsAt: usize, outAt: usize, listAt: usize, count: i32, scale: f32, margin: f32, cut: f32, rescoredAt: usize): i32 {
  const low = i8x16.splat(0x0f);
  const vscale = f32x4.splat(scale);
  const vmargin = f32x4.splat(margin);
  const vcut = f32x4.splat(cut);
  const endList = listAt + (<usize>count << 2);
  const blockBytes = <usize>width << 4;
  let exact = 0;
  let block = blocksAt;
  for (let base = 0; base < rows; base += 16) {
    let acc0 = i16x8.splat(0);
    let acc1 = i16x8.splat(0);
    for (let at = listAt; at < endList; at += 4) {
      const b = <usize>load<u32>(at);
      const v = v128.load(block + (b << 4));
      const nibbles = nibblesAt + (b << 5);
      const s = i8x16.add(i8x16.swizzle(v128.load(nibbles), v128.and(v, low)), i8x16.swizzle(v128.load(nibbles, 16), i8x16.shr_u(v, 4)));
      acc0 = i16x8.add(acc0, i16x8.extend_low_i8x16_s(s));
      acc1 = i16x8.add(acc1, i16x8.extend_high_i8x16_s(s));
    }
    for (let g = 0; g < 4; g++) {
      const acc = g < 2 ? acc0 : acc1;
      const ints = (g & 1) === 0 ? i32x4.extend_low_i16x8_s(acc) : i32x4.extend_high_i16x8_s(acc);
      const first = base + (g << 2);
      const at = <usize>first << 2;
      const bound = f32x4.mul(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(ints), vscale), vmargin), v128.load(normsAt + at));
      v128.store(outAt + at, bound);
      let mask = i32x4.bitmask(f32x4.ge(bound, vcut));
      while (mask !== 0) {
        const r = first + ctz(mask);
        mask &= mask - 1;
        if (r >= rows) break;
        const ru = <usize>r;
        store<f32>(outAt + (ru << 2), rowScore(tableAt, codesAt + ru * <usize>width, width, load<f32>(normsAt + (ru << 2))));
        store<u32>(rescoredAt + (<usize>exact << 2), <u32>r);
        exact++;
      }
    }
    block += blockBytes;
  }
  return exact;
}
