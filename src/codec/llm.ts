import { CODEC_IDS } from "./ids.js";
import { RangeDecoder, RangeEncoder } from "./range-coder.js";
import { decodeToken, decodeUniform, encodeToken, encodeUniform, quantizeTopTokens, type FrequencyTable, type TopTokens } from "./token-frequencies.js";

/** Envelope id of the `llm` codec (from the central map). */
export const LLM_CODEC_ID = CODEC_IDS.llm;

/**
 * A language model's view of a text, one token at a time. Implementations must be deterministic:
 * the same calls in the same order give bit-identical distributions (see DESIGN.md on how
 * node-llama-cpp achieves that). The codec never looks inside the model.
 */
export interface TokenPredictor {
  /** Forgets every token fed so far. */
  reset(): Promise<void>;
  /** Feeds one token; returns the next token's distribution when `predict` is set. */
  feed(token: number, predict: boolean): Promise<TopTokens | null>;
}

/** Everything that changes the coded bits besides the model and the inference engine. */
export interface LlmCodingSettings {
  vocabularySize: number;
  bosToken: number;
  /** Tokens a distribution keeps (the rest share an escape); 0 codes the full distribution. */
  topK: number;
  /** Tokens the model sees at once, BOS included; a longer text restarts with a carried-over window. */
  windowTokens: number;
  /** Tokens of the previous window fed again after a restart. */
  carryTokens: number;
  /** Tokens fed after BOS before the text (a namespace's priming prefix); may be empty. */
  prefix: readonly number[];
}

/** log2 of the frequency tables' total. */
const TABLE_BITS = 20;
/** Floor and ceiling of the escape share, in 1/65536 (tuned on the story sample and tiny-random, docs/LLM.md). */
const MIN_ESCAPE_SHARE = 1;
const MAX_ESCAPE_SHARE = 61440;

/** Why an encode stopped early or declined. */
export type LlmDecline = "over-budget" | "too-many-tokens" | "aborted";

/**
 * Most tokens a payload of `payloadBytes` may claim. It bounds the work a corrupted payload can
 * cause (the decoder evaluates the model once per claimed token); a text that would code denser
 * than this (over 256 tokens a byte) is declined and left to another codec.
 */
export function maxTokensFor(payloadBytes: number): number {
  return 256 * (payloadBytes + 8);
}

export interface LlmEncodeResult {
  payload: Uint8Array;
  tokens: number;
  /** Tokens that were outside the top-K and went through the escape. */
  escapes: number;
  /** Sum of -log2 p(token) under the distributions the model returned (float64): the ideal size in bits. */
  crossEntropyBits: number;
  /** Ideal size in bits under the quantised tables actually coded with, the token count included. */
  tableBits: number;
}

/** Checks the settings once, so a bad configuration fails before any model work. */
export function validateLlmSettings(settings: LlmCodingSettings): void {
  const { windowTokens, carryTokens, prefix, topK, vocabularySize } = settings;
  if (!Number.isInteger(topK) || topK < 0 || topK > vocabularySize) throw new RangeError(`topK must be 0..${vocabularySize}, got ${topK}`);
  if (!Number.isInteger(carryTokens) || carryTokens < 0) throw new RangeError(`carryTokens must be a non-negative integer`);
  if (!Number.isInteger(windowTokens) || windowTokens < 2 + prefix.length + carryTokens) {
    throw new RangeError(`a window of ${windowTokens} tokens cannot hold BOS, a ${prefix.length}-token prefix, ${carryTokens} carried tokens and one more`);
  }
}

/**
 * Range-codes `tokens` with the predictor's distributions. The token count goes first (uniform
 * over 0..maxTokens), then each token from its quantised distribution. With `budgetBytes`, gives
 * up as soon as the output would exceed it, so a hopeless model costs a fraction of a full pass;
 * `signal` stops it between tokens (a per-memory deadline).
 */
export async function encodeTokens(
  predictor: TokenPredictor,
  tokens: readonly number[],
  maxTokens: number,
  settings: LlmCodingSettings,
  budgetBytes = Infinity,
  signal?: AbortSignal,
): Promise<LlmEncodeResult | LlmDecline> {
  const encoder = new RangeEncoder(Math.min(1 << 16, tokens.length * 2 + 16));
  encodeUniform(encoder, tokens.length, maxTokens + 1);
  const window = new TokenWindow(predictor, settings);
  const escapes = new EscapeEstimator(settings.topK);
  let crossEntropyBits = 0;
  let tableBits = Math.max(1, Math.ceil(Math.log2(maxTokens + 1)));
  let distribution = await window.start();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as number;
    const table = tableFor(distribution, escapes);
    crossEntropyBits += selfInformation(distribution, token);
    tableBits += codeLength(table, token, settings.vocabularySize);
    const escaped = !contains(table, token);
    encodeToken(encoder, table, token, settings.vocabularySize);
    escapes.observe(escaped);
    if (encoder.bytesWritten > budgetBytes) return "over-budget";
    if (signal?.aborted) return "aborted";
    if (i + 1 < tokens.length) distribution = await window.advance(token);
  }
  const payload = encoder.finish();
  if (payload.length > budgetBytes) return "over-budget";
  if (tokens.length > maxTokensFor(payload.length)) return "too-many-tokens";
  return { payload, tokens: tokens.length, escapes: escapes.escapes, crossEntropyBits, tableBits };
}

/** Rebuilds the token sequence `encodeTokens` coded; throws on a stream that cannot be one. */
export async function decodeTokens(predictor: TokenPredictor, payload: Uint8Array, maxTokens: number, settings: LlmCodingSettings): Promise<number[]> {
  const decoder = new RangeDecoder(payload);
  const count = decodeUniform(decoder, maxTokens + 1);
  if (count > maxTokens || count > maxTokensFor(payload.length)) throw new RangeError(`stream claims ${count} tokens, more than it can hold`);
  const window = new TokenWindow(predictor, settings);
  const escapes = new EscapeEstimator(settings.topK);
  const tokens: number[] = [];
  let distribution = await window.start();
  for (let i = 0; i < count; i++) {
    const table = tableFor(distribution, escapes);
    const at = decoder.peekFrequency(table.totalBits);
    const token = decodeToken(decoder, table, settings.vocabularySize);
    escapes.observe(at >= (table.cumulative[table.tokens.length] as number));
    tokens.push(token);
    if (decoder.overrun > 8) throw new RangeError("payload ended before its last token");
    if (i + 1 < count) distribution = await window.advance(token);
  }
  return tokens;
}

/**
 * Feeds tokens to the predictor inside a window of `windowTokens`. When the window is full the
 * sequence restarts with BOS, the prefix and the last `carryTokens` tokens, fed one at a time
 * exactly as the first time, so encoder and decoder see the same numbers.
 */
export class TokenWindow {
  protected readonly history: number[] = [];
  protected used = 0;
  /** Model evaluations so far: tokens fed, restarts included. */
  evaluations = 0;

  constructor(
    private readonly predictor: TokenPredictor,
    protected readonly settings: LlmCodingSettings,
  ) {}

  async start(): Promise<TopTokens> {
    return this.restart([]);
  }

  async advance(token: number): Promise<TopTokens> {
    this.history.push(token);
    if (this.used + 1 > this.settings.windowTokens) {
      return this.restart(this.settings.carryTokens > 0 ? this.history.slice(-this.settings.carryTokens) : []);
    }
    this.used++;
    this.evaluations++;
    return (await this.predictor.feed(token, true)) as TopTokens;
  }

  private async restart(carried: readonly number[]): Promise<TopTokens> {
    await this.predictor.reset();
    const feed = [this.settings.bosToken, ...this.settings.prefix, ...carried];
    let distribution: TopTokens | null = null;
    for (let i = 0; i < feed.length; i++) distribution = await this.predictor.feed(feed[i] as number, i === feed.length - 1);
    this.evaluations += feed.length;
    this.used = feed.length;
    return distribution as TopTokens;
  }
}

/**
 * How much of each table the escape gets. A full distribution needs almost none; a top-K one
 * learns the escape rate of the text so far (a Krichevsky–Trofimov-like estimate), because
 * node-llama-cpp renormalises the top K and so hides the tail's true mass.
 */
export class EscapeEstimator {
  escapes = 0;
  private seen = 0;

  constructor(private readonly topK: number) {}

  share(): number {
    if (this.topK === 0) return MIN_ESCAPE_SHARE;
    const estimate = Math.floor((65536 * (2 * this.escapes + 1)) / (2 * this.seen + 16));
    return Math.min(MAX_ESCAPE_SHARE, Math.max(64, estimate));
  }

  observe(escaped: boolean): void {
    this.seen++;
    if (escaped) this.escapes++;
  }
}

/** The quantised table (total 2^20) a distribution is coded with, its escape share learned so far. */
export function tableFor(distribution: TopTokens, escapes: EscapeEstimator): FrequencyTable {
  return quantizeTopTokens(distribution, { totalBits: TABLE_BITS, escapeShare: escapes.share() });
}

function contains(table: FrequencyTable, token: number): boolean {
  return table.tokens.indexOf(token) >= 0;
}

function codeLength(table: FrequencyTable, token: number, vocabularySize: number): number {
  const rank = table.tokens.indexOf(token);
  const frequency = rank >= 0 ? (table.cumulative[rank + 1] as number) - (table.cumulative[rank] as number) : table.escape;
  return table.totalBits - Math.log2(frequency) + (rank >= 0 ? 0 : Math.max(1, Math.ceil(Math.log2(vocabularySize))));
}

function selfInformation(distribution: TopTokens, token: number): number {
  let mass = 0;
  let p = 0;
  for (let i = 0; i < distribution.tokens.length; i++) {
    const q = distribution.probabilities[i] as number;
    mass += q;
    if (distribution.tokens[i] === token) p = q;
  }
  // A token outside a top-K list has no probability from the model; count it at the table floor.
  return p > 0 ? -Math.log2(p / mass) : TABLE_BITS;
}
