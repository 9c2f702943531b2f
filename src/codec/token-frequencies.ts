import type { RangeDecoder, RangeEncoder } from "./range-coder.js";

/**
 * Token-model side of the range coder (for the `llm` codec): a model's top-K next-token
 * probabilities become an integer frequency table with a power-of-two total in which every top-K
 * token keeps a non-zero frequency and an escape slot covers every other token of the vocabulary,
 * which is then coded uniformly. The table is a pure function of the probabilities, so encoder and
 * decoder build the same one from the same (deterministic) model output.
 */
export interface TopTokens {
  /** Token ids, any order, no repeats. */
  tokens: ArrayLike<number>;
  /** Their probabilities (they need not sum to 1). */
  probabilities: ArrayLike<number>;
}

export interface FrequencyTable {
  /** Token ids ordered by decreasing frequency, then id. */
  tokens: Int32Array;
  /** cumulative[i] is where tokens[i] starts; cumulative[tokens.length] is where the escape starts. */
  cumulative: Uint32Array;
  /** The frequency left for tokens outside the table. */
  escape: number;
  totalBits: number;
}

export interface QuantizeOptions {
  /** log2 of the table's total. Defaults to `20`. */
  totalBits?: number;
  /** Share of the total kept for the escape, in 1/65536. Defaults to `16` (about 2^-12). */
  escapeShare?: number;
}

export function quantizeTopTokens(top: TopTokens, options: QuantizeOptions = {}): FrequencyTable {
  const totalBits = options.totalBits ?? 20;
  const total = 2 ** totalBits;
  const count = top.tokens.length;
  if (count === 0 || count > total / 4) throw new RangeError(`cannot build a table of ${count} tokens with a total of 2^${totalBits}`);
  const escape = Math.max(1, Math.floor((total * (options.escapeShare ?? 16)) / 65536));
  const order = Array.from({ length: count }, (_, i) => i).sort(
    (a, b) => (top.probabilities[b] as number) - (top.probabilities[a] as number) || (top.tokens[a] as number) - (top.tokens[b] as number),
  );
  let mass = 0;
  for (let i = 0; i < count; i++) mass += Math.max(0, top.probabilities[i] as number);
  const budget = total - escape - count; // every token first gets 1
  const frequencies = new Uint32Array(count);
  let given = 0;
  for (let rank = 0; rank < count; rank++) {
    const p = Math.max(0, top.probabilities[order[rank] as number] as number);
    const extra = mass > 0 ? Math.floor((p / mass) * budget) : 0;
    frequencies[rank] = 1 + extra;
    given += 1 + extra;
  }
  frequencies[0] = (frequencies[0] as number) + (total - escape - given); // rounding remainder to the most likely token
  const tokens = new Int32Array(count);
  const cumulative = new Uint32Array(count + 1);
  for (let rank = 0; rank < count; rank++) {
    tokens[rank] = top.tokens[order[rank] as number] as number;
    cumulative[rank + 1] = (cumulative[rank] as number) + (frequencies[rank] as number);
  }
  return { tokens, cumulative, escape, totalBits };
}

/** Codes `token`; a token outside the table costs the escape plus log2(vocabulary) bits. */
export function encodeToken(encoder: RangeEncoder, table: FrequencyTable, token: number, vocabularySize: number): void {
  const rank = table.tokens.indexOf(token);
  if (rank >= 0) {
    encoder.encodeFrequency(table.cumulative[rank] as number, (table.cumulative[rank + 1] as number) - (table.cumulative[rank] as number), table.totalBits);
    return;
  }
  if (!Number.isInteger(token) || token < 0 || token >= vocabularySize) throw new RangeError(`token ${token} is outside the vocabulary of ${vocabularySize}`);
  encoder.encodeFrequency(table.cumulative[table.tokens.length] as number, table.escape, table.totalBits);
  encodeUniform(encoder, token, vocabularySize);
}

export function decodeToken(decoder: RangeDecoder, table: FrequencyTable, vocabularySize: number): number {
  const at = decoder.peekFrequency(table.totalBits);
  const { cumulative, tokens } = table;
  if (at >= (cumulative[tokens.length] as number)) {
    decoder.consume(cumulative[tokens.length] as number, table.escape, table.totalBits);
    const token = decodeUniform(decoder, vocabularySize);
    if (token >= vocabularySize) throw new RangeError("escaped token outside the vocabulary (corrupt stream)");
    return token;
  }
  let low = 0;
  let high = tokens.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((cumulative[mid] as number) <= at) low = mid;
    else high = mid - 1;
  }
  decoder.consume(cumulative[low] as number, (cumulative[low + 1] as number) - (cumulative[low] as number), table.totalBits);
  return tokens[low] as number;
}

/** A value in 0..size-1 in ceil(log2 size) bits, 16 at a time. */
export function encodeUniform(encoder: RangeEncoder, value: number, size: number): void {
  let bits = Math.max(1, Math.ceil(Math.log2(size)));
  while (bits > 0) {
    const step = Math.min(16, bits);
    bits -= step;
    encoder.encodeFrequency(Math.floor(value / 2 ** bits) % 2 ** step, 1, step);
  }
}

export function decodeUniform(decoder: RangeDecoder, size: number): number {
  let bits = Math.max(1, Math.ceil(Math.log2(size)));
  let value = 0;
  while (bits > 0) {
    const step = Math.min(16, bits);
    bits -= step;
    const part = decoder.peekFrequency(step);
    decoder.consume(part, 1, step);
    value = value * 2 ** step + part;
  }
  return value;
}
