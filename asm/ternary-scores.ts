// Scores of one query against rows of ternary codes (2 bits a dimension, 4 dimensions a byte), by
// table look-up: the caller fills a table of `width` × 256 float32 partial sums (for byte b and code
// byte v: the query's 4 dimensions of byte b, each taken as +q, −q or 0 as v says), so a row's dot
// product is `width` look-ups; times the row's inverse norm (1/√nonzeros) it is the cosine the
// decoded unit row would give. The caller lays out linear memory: the table, the codes
// (rows × width bytes, width a multiple of 4), the inverse norms and room for the scores.

export function scores(tableAt: usize, codesAt: usize, rows: i32, width: i32, normsAt: usize, outAt: usize): void {
  let row = codesAt;
  for (let r = 0; r < rows; r++) {
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
    store<f32>(outAt + (<usize>r << 2), (a + b) * load<f32>(normsAt + (<usize>r << 2)));
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
