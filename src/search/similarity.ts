/**
 * Similarity grouping without all-pairs comparison: every memory gets an embedding (any
 * `Embedder`), a 64-bit SimHash of it (signs of 64 fixed random projections), and is filed in
 * 8 LSH bands of 8 bits. Two memories at cosine c agree on a band with probability
 * p^8, p = 1 − arccos(c)/π; at c = 0.85 one band matches with probability 0.85 (0.98 at 0.9), at c = 0.5
 * with 0.27. Candidates from shared buckets whose whole 64-bit signatures are within the Hamming
 * distance a pair at the threshold could plausibly have are then checked with the exact cosine.
 * Cost: O(d·64) to hash a memory; to query, 8 bucket lookups, at most 16 candidates from each
 * (the newest), a Hamming distance per candidate and the exact cosine of the 4 nearest by it — so a
 * query never costs more than 128 Hamming distances and 4 cosines, however crowded the buckets.
 */
import { seededRandom } from "../core/stats.js";
import type { Embedder } from "../model/backend.js";

export type { Embedder };

/**
 * A model-free embedder: character 3- and 4-grams (so Chinese, with no spaces, works as well as
 * English) hashed into `dimensions` signed buckets, log-scaled and L2-normalised. Unigrams are
 * left out: they make every English text look alike.
 */
export class HashedNgramEmbedder implements Embedder {
  readonly name: string;

  constructor(readonly dimensions = 256) {
    this.name = `ngram-${dimensions}`;
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((text) => this.embedOne(text)));
  }

  embedOne(text: string): Float32Array {
    const vector = new Float32Array(this.dimensions);
    const chars = Array.from(text.toLowerCase());
    for (let n = 3; n <= 4; n++) {
      for (let i = 0; i + n <= chars.length; i++) {
        const hash = fnv1a(n, chars, i, n);
        const slot = hash % this.dimensions;
        vector[slot] = (vector[slot] as number) + (hash & 0x80000000 ? 1 : -1);
      }
    }
    let norm = 0;
    for (let i = 0; i < vector.length; i++) {
      const v = vector[i] as number;
      const scaled = Math.sign(v) * Math.log1p(Math.abs(v));
      vector[i] = scaled;
      norm += scaled * scaled;
    }
    norm = Math.sqrt(norm);
    if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) / norm;
    return vector;
  }
}

function fnv1a(seed: number, chars: readonly string[], start: number, length: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = start; i < start + length; i++) {
    const code = (chars[i] as string).codePointAt(0) as number;
    hash = Math.imul(hash ^ (code & 0xffff), 0x01000193);
    hash = Math.imul(hash ^ (code >>> 16), 0x01000193);
  }
  return hash >>> 0;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

const BANDS = 8;
/** Candidates a query takes from one bucket, newest first; bounds a query at 8 × 16 Hamming checks. */
const CANDIDATES_PER_BUCKET = 16;
/** Candidates whose exact cosine is computed, nearest by Hamming distance first. */
const EXACT_CHECKS = 4;
const BAND_BITS = 8;

/** Nearest-neighbour lookup above a cosine threshold through SimHash LSH buckets. */
export class SimHashIndex<K> {
  /** The 64 projection vectors, laid out dimension-major: planes[i·64 + p] is plane p's i-th weight. */
  private readonly planes: Float32Array;
  private readonly dots = new Float64Array(BANDS * BAND_BITS);
  private readonly buckets = new Map<number, K[]>();
  private readonly vectors = new Map<K, { vector: Float32Array; signature: Uint8Array }>();
  /** Exact cosines computed by queries so far (the index's real cost). */
  comparisons = 0;

  constructor(readonly dimensions: number, seed = 0x5eed) {
    const random = seededRandom(seed);
    this.planes = Float32Array.from({ length: dimensions * BANDS * BAND_BITS }, () => random() * 2 - 1);
  }

  get size(): number {
    return this.vectors.size;
  }

  add(key: K, vector: Float32Array): void {
    const signature = this.signature(vector);
    this.vectors.set(key, { vector, signature });
    for (const bucket of bucketKeys(signature)) {
      const members = this.buckets.get(bucket);
      if (members) members.push(key);
      else this.buckets.set(bucket, [key]);
    }
  }

  /** The most similar indexed key at or above `threshold`, if any. */
  nearest(vector: Float32Array, threshold: number): { key: K; similarity: number } | undefined {
    const signature = this.signature(vector);
    // Signatures differing in more bits than a pair at the threshold plausibly would (mean + 4 s.d.) are skipped.
    const angle = Math.acos(Math.min(1, Math.max(-1, threshold))) / Math.PI;
    const maxDistance = Math.ceil(64 * angle + 4 * Math.sqrt(64 * angle * (1 - angle)));
    const seen = new Set<K>();
    const close: { key: K; distance: number }[] = [];
    for (const bucket of bucketKeys(signature)) {
      const members = this.buckets.get(bucket) ?? [];
      // Newest first, and only so many per bucket: a crowd of look-alikes cannot make a query linear.
      for (let m = members.length - 1; m >= Math.max(0, members.length - CANDIDATES_PER_BUCKET); m--) {
        const key = members[m] as K;
        if (seen.has(key)) continue;
        seen.add(key);
        const distance = hamming(signature, (this.vectors.get(key) as { signature: Uint8Array }).signature);
        if (distance <= maxDistance) close.push({ key, distance });
      }
    }
    // The exact cosine for the few nearest by signature only.
    close.sort((a, b) => a.distance - b.distance);
    let best: { key: K; similarity: number } | undefined;
    for (const { key } of close.slice(0, EXACT_CHECKS)) {
      this.comparisons++;
      const similarity = cosine(vector, (this.vectors.get(key) as { vector: Float32Array }).vector);
      if (similarity >= threshold && (!best || similarity > best.similarity)) best = { key, similarity };
    }
    return best;
  }

  /** 64 sign bits of the projections, one byte per band. */
  private signature(vector: Float32Array): Uint8Array {
    const planes = BANDS * BAND_BITS;
    const dots = this.dots;
    dots.fill(0);
    for (let i = 0; i < vector.length; i++) {
      const v = vector[i] as number;
      if (v === 0) continue;
      const row = i * planes;
      for (let p = 0; p < planes; p++) dots[p] = (dots[p] as number) + v * (this.planes[row + p] as number);
    }
    const signature = new Uint8Array(BANDS);
    for (let band = 0; band < BANDS; band++) {
      let bits = 0;
      for (let b = 0; b < BAND_BITS; b++) bits = (bits << 1) | ((dots[band * BAND_BITS + b] as number) >= 0 ? 1 : 0);
      signature[band] = bits;
    }
    return signature;
  }
}

function bucketKeys(signature: Uint8Array): number[] {
  return Array.from(signature, (bits, band) => (band << BAND_BITS) | bits);
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, n) => {
  let count = 0;
  for (let v = n; v; v >>= 1) count += v & 1;
  return count;
});

function hamming(a: Uint8Array, b: Uint8Array): number {
  let distance = 0;
  for (let i = 0; i < a.length; i++) distance += POPCOUNT[(a[i] as number) ^ (b[i] as number)] as number;
  return distance;
}

/**
 * Groups `vectors` (in order) so that each joins the group of its most similar earlier member at
 * or above `threshold`; returns a group number per input. Uses the LSH index, never all pairs.
 */
export function groupBySimilarity(vectors: readonly Float32Array[], threshold: number): { groups: number[]; comparisons: number } {
  const groups: number[] = [];
  if (vectors.length === 0) return { groups, comparisons: 0 };
  const index = new SimHashIndex<number>((vectors[0] as Float32Array).length);
  vectors.forEach((vector, i) => {
    const near = index.nearest(vector, threshold);
    groups.push(near ? (groups[near.key] as number) : i);
    index.add(i, vector);
  });
  return { groups, comparisons: index.comparisons };
}
