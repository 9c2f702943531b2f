// Dot products of one query with every row of a float32 matrix, four lanes at a time (WASM SIMD).
// The caller lays out linear memory: the query, the matrix (rows × stride, stride a multiple of 4,
// padded with zeros) and room for the scores, at offsets it chooses.

export function scores(queryAt: usize, matrixAt: usize, rows: i32, stride: i32, outAt: usize): void {
  const rowBytes = <usize>stride << 2;
  let row = matrixAt;
  for (let r = 0; r < rows; r++) {
    let a = f32x4.splat(0);
    let b = f32x4.splat(0);
    let d: i32 = 0;
    for (; d + 8 <= stride; d += 8) {
      const offset = <usize>d << 2;
      a = f32x4.add(a, f32x4.mul(v128.load(row + offset), v128.load(queryAt + offset)));
      b = f32x4.add(b, f32x4.mul(v128.load(row + offset + 16), v128.load(queryAt + offset + 16)));
    }
    for (; d < stride; d += 4) {
      const offset = <usize>d << 2;
      a = f32x4.add(a, f32x4.mul(v128.load(row + offset), v128.load(queryAt + offset)));
    }
    const sum = f32x4.add(a, b);
    store<f32>(outAt + (<usize>r << 2), f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 1) + f32x4.extract_lane(sum, 2) + f32x4.extract_lane(sum, 3));
    row += rowBytes;
  }
}
