import type { RecordBits } from "./cm/context-model.js";
import { EscapeEstimator, TokenWindow, tableFor, type LlmCodingSettings, type TokenPredictor } from "./llm.js";
import { RangeDecoder, RangeEncoder } from "./range-coder.js";
import type { FrequencyTable, TopTokens } from "./token-frequencies.js";

/**
 * A language model and `cm` mixed bit by bit (issue 16, item 3; docs/LLM.md, "Mixing with `cm`").
 *
 * The text is coded token by token in the model's own tokenization, each token as its bytes, bit
 * by bit (most significant first), with an "end of token" decision after each byte. The model's
 * probability of the next bit is the mass of the tokens still consistent with the bits so far:
 * the top-K tokens with their quantised frequencies, and every other token of the vocabulary with
 * an equal share of the escape. By the chain rule the model alone would cost exactly
 * -log2 P(token) per token (under those tables). `cm` gives its probability for the same bit of
 * the byte stream; a small logistic mixer (integer stretch / squash, weights learned online)
 * combines the two, so `cm` takes over where the model does not know the text. A decision that
 * the vocabulary forces (no token continues with the other bit, no token ends here) is not coded.
 *
 * Everything after the model's distributions is integer arithmetic, so encoder and decoder agree
 * bit for bit on every machine; the distributions themselves are bit-identical under the `llm`
 * codec's canonical evaluation. The decoder rebuilds each token from its decoded bytes (the
 * vocabulary's canonical token for those bytes) and feeds that token to the model, as the encoder
 * does. `cm` sees the text's bytes only (it is coded from the frozen snapshot, rolled back after).
 */

/** A predictor that can take back the last token it was fed (speculative evaluation, `MixTuning.segmentation` "greedy"). */
export interface RewindablePredictor extends TokenPredictor {
  /** Forgets the last token fed; the next distribution is the one before it, bit for bit. */
  unfeed(): Promise<void>;
}

/** A vocabulary as byte strings: the tokens that can appear in a coded text, and their bytes. */
export interface MixVocabulary {
  /** Per token id: its bytes, or `null` for a token that never stands for text (control tokens). */
  readonly pieces: readonly (Uint8Array | null)[];
  /** The token fed to the model for a byte string (one per distinct string: normal pieces before byte fallbacks, then the lowest id). */
  readonly canonical: ReadonlyMap<string, number>;
  /** Tokens that have bytes. */
  readonly textTokens: number;
  /** Bitwise trie over the pieces: node n's children at 2n and 2n + 1 (0 = none). */
  readonly child: Int32Array;
  /** Tokens whose bytes end exactly at a (byte-aligned) node. */
  readonly terminal: Int32Array;
  /** Tokens whose bytes start with a node's bits (those ending there included). */
  readonly subtree: Int32Array;
}

/** Builds the coder's view of a vocabulary. `fallback[id]` marks byte-fallback tokens (a normal piece with the same bytes wins). */
export function buildMixVocabulary(pieces: readonly (Uint8Array | null)[], fallback: readonly boolean[] = []): MixVocabulary {
  let nodes = 1;
  let capacity = 1024;
  let child = new Int32Array(2 * capacity);
  let terminal = new Int32Array(capacity);
  let subtree = new Int32Array(capacity);
  const canonical = new Map<string, number>();
  let textTokens = 0;
  for (let id = 0; id < pieces.length; id++) {
    const bytes = pieces[id];
    if (!bytes || bytes.length === 0) continue;
    textTokens++;
    const key = keyOf(bytes);
    const known = canonical.get(key);
    if (known === undefined || (fallback[known] === true && fallback[id] !== true)) canonical.set(key, id);
    let node = 0;
    subtree[0] = (subtree[0] as number) + 1;
    for (let i = 0; i < bytes.length; i++) {
      for (let b = 7; b >= 0; b--) {
        const slot = 2 * node + (((bytes[i] as number) >> b) & 1);
        let next = child[slot] as number;
        if (next === 0) {
          if (nodes === capacity) {
            capacity *= 2;
            child = grow(child, 2 * capacity);
            terminal = grow(terminal, capacity);
            subtree = grow(subtree, capacity);
          }
          next = nodes++;
          child[slot] = next;
        }
        node = next;
        subtree[node] = (subtree[node] as number) + 1;
      }
    }
    terminal[node] = (terminal[node] as number) + 1;
  }
  return { pieces, canonical, textTokens, child: child.subarray(0, 2 * nodes), terminal: terminal.subarray(0, nodes), subtree: subtree.subarray(0, nodes) };
}

/** Splits `text` (UTF-8) into tokens' pieces: the lead bytes the tokenizer put before the text (a SentencePiece space prefix) and the canonical tokens; `null` when the pieces do not spell `lead + text`. */
export function mixTokens(vocabulary: MixVocabulary, tokens: readonly number[], text: Uint8Array): { lead: number; tokens: number[] } | null {
  let total = 0;
  for (const token of tokens) {
    const piece = vocabulary.pieces[token];
    if (!piece || piece.length === 0) return null;
    total += piece.length;
  }
  const lead = total - text.length;
  if (lead < 0 || lead > 1) return null;
  const spelled = new Uint8Array(total);
  let at = 0;
  const canonical: number[] = [];
  for (const token of tokens) {
    const piece = vocabulary.pieces[token] as Uint8Array;
    spelled.set(piece, at);
    at += piece.length;
    canonical.push(vocabulary.canonical.get(keyOf(piece)) as number);
  }
  if (lead === 1 && spelled[0] !== LEAD_BYTE) return null;
  for (let i = 0; i < text.length; i++) if (spelled[i + lead] !== text[i]) return null;
  if (text.length === 0) return { lead: 0, tokens: [] };
  return { lead, tokens: canonical };
}

/** The only lead the coder knows: the space a SentencePiece tokenizer puts before a text. */
const LEAD_BYTE = 0x20;

export interface MixEncodeResult {
  payload: Uint8Array;
  tokens: number;
  /** Tokens outside the model's top K. */
  escapes: number;
  /** Coded binary decisions (the forced ones are not coded), and of them end-of-token decisions. */
  codedBits: number;
  codedFlags: number;
  /** Ideal bits of the model alone and of `cm` alone over the coded decisions (the mixer's inputs; `cm` gives no end-of-token probability, counted as the model's), and the flags' share. */
  modelBits: number;
  cmBits: number;
  flagBits: number;
  /** Greedy segmentation: the model's evaluations (restarts included), of them speculative ones, and speculations taken back. */
  evaluations?: number;
  speculations?: number;
  takenBack?: number;
}

/**
 * Codes `text` (UTF-8 bytes; `tokens` its tokenization by the model) mixing the predictor's
 * distributions with `cm`. `null` when the tokens do not spell the text, when the output passes
 * `budgetBytes`, or when `signal` aborts.
 */
export async function encodeMixed(
  predictor: RewindablePredictor,
  vocabulary: MixVocabulary,
  tokens: readonly number[],
  text: Uint8Array,
  cm: RecordBits,
  settings: LlmCodingSettings,
  budgetBytes = Infinity,
  signal?: AbortSignal,
  tuning: MixTuning = MIX_TUNING,
): Promise<MixEncodeResult | null> {
  const split = mixTokens(vocabulary, tokens, text);
  if (tuning.segmentation !== "coded") return encodeGreedy(predictor, vocabulary, split?.lead ?? (text.length > 0 && vocabulary.canonical.has(" ") ? 1 : 0), text, cm, settings, budgetBytes, signal, tuning);
  if (!split) return null;
  // ends[i]: a token ends before text byte i (the lead-only first token ends before byte 0).
  const ends = new Uint8Array(text.length + 1);
  let at = -split.lead;
  for (const token of split.tokens) {
    at += (vocabulary.pieces[token] as Uint8Array).length;
    ends[at] = 1;
  }
  const encoder = new RangeEncoder(Math.max(64, text.length));
  const io: BitIo = {
    code: (p16, bit) => {
      encoder.encodeBit(p16, bit);
      return bit;
    },
  };
  io.code(32768, split.lead);
  const coder = new MixCoder(vocabulary, cm, io, tuning, new TokenWindow(predictor, settings), new EscapeEstimator(settings.topK));
  const done = await coder.codeText(text.length, split.lead, text, ends, () => encoder.bytesWritten > budgetBytes || signal?.aborted === true);
  if (!done) return null;
  const payload = encoder.finish();
  if (payload.length > budgetBytes || text.length > maxMixedBytesFor(payload.length, tuning)) return null;
  return { payload, tokens: coder.tokens, escapes: coder.escapes.escapes, codedBits: coder.codedBits, codedFlags: coder.codedFlags, modelBits: coder.modelBits, cmBits: coder.cmBits, flagBits: coder.flagBits };
}

async function encodeGreedy(
  predictor: RewindablePredictor,
  vocabulary: MixVocabulary,
  lead: number,
  text: Uint8Array,
  cm: RecordBits,
  settings: LlmCodingSettings,
  budgetBytes: number,
  signal: AbortSignal | undefined,
  tuning: MixTuning,
): Promise<MixEncodeResult | null> {
  const encoder = new RangeEncoder(Math.max(64, text.length));
  const io: BitIo = {
    code: (p16, bit) => {
      encoder.encodeBit(p16, bit);
      return bit;
    },
  };
  io.code(32768, lead);
  const coder = derivedCutCoder(vocabulary, cm, io, tuning, predictor, settings);
  let done: Uint8Array | null;
  try {
    done = await coder.codeText(text.length, lead, text, () => encoder.bytesWritten > budgetBytes || signal?.aborted === true);
  } catch (error) {
    // A byte no token of the vocabulary starts with: the text cannot be coded with this vocabulary.
    if (error instanceof RangeError) return null;
    throw error;
  }
  if (!done) return null;
  const payload = encoder.finish();
  if (payload.length > budgetBytes || text.length > maxMixedBytesFor(payload.length, tuning)) return null;
  return {
    payload,
    tokens: coder.tokens,
    escapes: coder.escapes.escapes,
    codedBits: coder.codedBits,
    codedFlags: 0,
    modelBits: coder.modelBits,
    cmBits: coder.cmBits,
    flagBits: 0,
    evaluations: coder.evaluations,
    speculations: coder.speculations,
    takenBack: coder.takenBack,
  };
}

/** Zero bytes the decoder reads past a payload's end (the encoder trims trailing zeros) before it gives the stream up. */
const MIX_OVERRUN = 64;

/**
 * The most text bytes an `llm-mix` payload of `payloadBytes` can hold: a longer claimed length is
 * damage, refused before the model runs (docs/FORMAT.md "`llm-mix` payloads"). Every bit of the text
 * is coded through the mixer, whose probability is clamped: squash gives 1..4095 in 1/4096, so P(bit)
 * is at most 1 − 16/65536 (with the APM after the mixer only 1 − 1/65536). So each decoded bit shrinks
 * the range coder's 48-bit range by at least the factor q = 1 − floor · (2^-16 − 2^-40) (the last term:
 * rounding, the range never below 2^40), and 8 more bits come in with each payload byte read. The
 * decoder starts with 6 bytes read and a range below 2^48, keeps the range at or above 2^40, and stops
 * once it has read more than `MIX_OVERRUN` bytes past the payload: a text of n bytes (8n bits) needs
 * 8n · −log2(q) ≤ 8 · (payloadBytes + MIX_OVERRUN − 5) when the decoder asks after its last byte.
 * Hence n ≤ (payloadBytes + MIX_OVERRUN − 5) / −log2(q); two more for the floating point. The encoder
 * declines a text beyond it (it cannot happen), so no envelope it wrote is ever refused.
 */
export function maxMixedBytesFor(payloadBytes: number, tuning: Pick<MixTuning, "apm" | "segmentation"> = MIX_TUNING): number {
  // Only the beam codes every bit through the mixer; the greedy and coded segmentations leave forced
  // bits uncoded, so no bound follows for them (review26 M-3): their decoder's overrun stop applies alone.
  if (tuning.segmentation !== "beam") return Number.POSITIVE_INFINITY;
  const floor = tuning.apm ? 1 : 16;
  const bitsPerBit = -Math.log2(1 - floor * (2 ** -16 - 2 ** -40));
  return Math.floor((payloadBytes + MIX_OVERRUN - 5) / bitsPerBit) + 2;
}

/** Rebuilds the `length` bytes `encodeMixed` coded; throws `RangeError` on a stream that cannot be one. */
export async function decodeMixed(
  predictor: RewindablePredictor,
  vocabulary: MixVocabulary,
  payload: Uint8Array,
  length: number,
  cm: RecordBits,
  settings: LlmCodingSettings,
  tuning: MixTuning = MIX_TUNING,
): Promise<Uint8Array> {
  // A claimed length the payload cannot hold costs no model work (a damaged length field).
  if (length > maxMixedBytesFor(payload.length, tuning)) throw new RangeError(`the stream claims ${length} bytes, more than its ${payload.length}-byte payload can hold`);
  const decoder = new RangeDecoder(payload);
  const io: BitIo = { code: (p16) => decoder.decodeBit(p16) };
  const lead = io.code(32768, 0);
  if (tuning.segmentation !== "coded") {
    const coder = derivedCutCoder(vocabulary, cm, io, tuning, predictor, settings);
    const out = await coder.codeText(length, lead, null, () => decoder.overrun > MIX_OVERRUN);
    if (!out) throw new RangeError("the coded stream ends long before the text does");
    return out;
  }
  const coder = new MixCoder(vocabulary, cm, io, tuning, new TokenWindow(predictor, settings), new EscapeEstimator(settings.topK));
  const out = await coder.codeText(length, lead, null, null, () => decoder.overrun > MIX_OVERRUN);
  if (!out) throw new RangeError("the coded stream ends long before the text does");
  return out;
}

/** The range coder's side of one binary decision: the encoder codes `bit`, the decoder returns the one it reads. */
interface BitIo {
  code(p16: number, bit: number): number;
}

/** Integer logistic functions on 12-bit probabilities (the lpaq tables): stretch(p) = ln(p / (1 - p)), squash its inverse, in 1/256. */
const SQUASH_POINTS = [1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546, 2047, 2549, 2994, 3348, 3607, 3785, 3901, 3975, 4022, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094];

function squash(d: number): number {
  if (d > 2047) return 4095;
  if (d < -2047) return 1;
  const w = d & 127;
  const i = (d >> 7) + 16;
  return ((SQUASH_POINTS[i] as number) * (128 - w) + (SQUASH_POINTS[i + 1] as number) * w + 64) >> 7;
}

const STRETCH = (() => {
  const table = new Int16Array(4096);
  let pi = 0;
  for (let x = -2047; x <= 2047; x++) {
    const v = squash(x);
    for (let i = pi; i <= v; i++) table[i] = x;
    pi = v + 1;
  }
  for (let i = pi; i < 4096; i++) table[i] = 2047;
  return table;
})();

function stretch(p12: number): number {
  return STRETCH[p12 < 1 ? 1 : p12 > 4095 ? 4095 : p12] as number;
}

/** Mixer inputs: the model's stretched probability, `cm`'s, a bias. */
const INPUTS = 3;
const BIAS = 256;
/** Weight sets: the model's confidence (|stretch| in 4 steps) while a top-K token is still consistent, and one for the tail only. */
const BIT_SETS = 5;
/** End-of-token weight sets: top-K candidate or tail × how often this record already decided at the same bytes (0, 1, more). */
const FLAG_SETS = 6;
/** Initial weights (16.16): where the model still has a candidate it leads (about 1: its input passes at full strength); in the tail `cm` does. s24 raised them from 0.75–0.85 (stories 0.915 → 0.901 bits/byte with the beam; docs/LLM.md). */
const INITIAL_BIT_WEIGHTS = [
  [0.3, 0.9, 0],
  [1, 0.3, 0],
  [1, 0.25, 0],
  [1.05, 0.2, 0],
  [1.1, 0.15, 0],
];
/** How the mixer starts and learns; both ends of a stream must use the same. */
export interface MixTuning {
  /** Initial weights per bit weight set: [model, cm, bias]. */
  weights: readonly (readonly number[])[];
  /** Learning rate in 1/1024: Δw = rate / 1024 · error · input (real units). */
  rate: number;
  /**
   * When the model is this sure (in 1/4096) whether the current token ends, that is coded before
   * the next byte, so the next token's byte comes from the model's next distribution; otherwise
   * the byte first, then the end. 0: always byte first; 2048: always end first.
   */
  early: number;
  /** Who predicts the next token's first byte when it is coded before the end: `cm`, or the vocabulary's counts of tokens starting so. */
  prior: "cm" | "vocabulary";
  /**
   * How tokens are cut: "coded" (the encoder's tokenization, every ambiguous end coded: `early`,
   * `prior`) or "greedy" (both sides cut the bytes by the longest vocabulary match; nothing about
   * the segmentation is coded, and where the bytes so far are a token that may go on, the model
   * is fed it speculatively for the next token's first byte, taken back if the token goes on).
   */
  segmentation: "coded" | "greedy" | "beam";
  /** Greedy: where a byte is known, cut by the longest match only ("longest"), or also where the model's mass of a cut before the byte beats going on ("likely"). */
  cut: "longest" | "likely";
  /** Greedy: weight sets also by which input has erred less in this record so far (3 classes), besides the model's confidence. */
  select: boolean;
  /** Greedy: an adaptive probability map after the mixer (by the model's confidence and that class), averaged 1:3 with the mixer. */
  apm: boolean;
  /** Greedy: speculate only where the model gives the end of the token at least this (1/4096); elsewhere the next token's first byte is the vocabulary's counts. Beam: evaluate a new token's hypothesis only from this share (1/4096) of the total. */
  speculate: number;
  /** Beam: most hypotheses kept after each byte's split. */
  beam: number;
  /** Beam: a hypothesis below this share (1/4096) of the total is dropped. */
  prune: number;
  /** Beam: hypotheses whose current token started at the same byte are merged into the largest (their shares added): the tree of histories stays shallow. */
  merge: boolean;
}

/**
 * The mixing coder's revision, recorded in every llm-mix engine record: any change to this file or to
 * the constants the bits depend on (squash points, weight sets, the beam's pruning and merging) that
 * changes a payload's bits must raise it, so that a payload of another revision is refused by name
 * (E_VERSION) instead of failing its checksum as if corrupted (review25 M-1). The payload digests
 * pinned in test/model/llm-mix.test.ts fail on such a change.
 */
export const MIX_CODER_REVISION = 1;

export const MIX_TUNING: MixTuning = { weights: INITIAL_BIT_WEIGHTS, rate: 16, early: 2048, prior: "cm", segmentation: "beam", speculate: 16, cut: "likely", select: true, apm: false, beam: 4, prune: 1, merge: true };
/** Bits of the model alone and `cm` alone are accumulated in float64 for the bench only; they never reach the coded stream. */
const log2 = Math.log2;

/**
 * Codes one text: byte by byte, each byte's bits from two hypotheses of the model (the current
 * token continues with it, or the current token ends and the next one starts with it) mixed with
 * `cm`, then whether the token ended. Holds the mixer (learned within the text from fixed
 * initial weights). Masses are doubles: only +, *, / (correctly rounded IEEE arithmetic, the
 * same on every machine), turned into 12-bit probabilities with `Math.floor`.
 */
class MixCoder {
  codedBits = 0;
  codedFlags = 0;
  modelBits = 0;
  cmBits = 0;
  flagBits = 0;
  tokens = 0;
  private readonly weights = new Int32Array((BIT_SETS + FLAG_SETS) * INPUTS);
  private readonly inputs = new Int32Array(INPUTS);
  /** End-of-token decisions so far in this text by the bytes they were made at: n0 | n1 << 16. */
  private readonly flagCounts = new Map<string, number>();
  /** The current token's top-K candidates still consistent with its bytes, and the masses they give (see Hypothesis). */
  private hypothesis: Hypothesis | undefined;

  constructor(
    private readonly vocabulary: MixVocabulary,
    private readonly cm: RecordBits,
    private readonly io: BitIo,
    private readonly tuning: MixTuning,
    private readonly window: TokenWindow,
    readonly escapes: EscapeEstimator,
  ) {
    for (let s = 0; s < BIT_SETS; s++) for (let i = 0; i < INPUTS; i++) this.weights[s * INPUTS + i] = Math.round(((tuning.weights[s] as number[])[i] as number) * 65536);
    for (let s = 0; s < FLAG_SETS; s++) {
      const seen = s % 3;
      this.weights[(BIT_SETS + s) * INPUTS] = seen === 0 ? 65536 : 39322;
      this.weights[(BIT_SETS + s) * INPUTS + 1] = seen === 0 ? 0 : seen === 1 ? 26214 : 45875;
    }
  }

  /**
   * Codes `length` bytes (`text` and its token ends when encoding, `null` when decoding) after
   * `lead` known bytes; `stop` is asked after each byte (budget, abort, overrun). Returns the bytes, or `null` when stopped.
   */
  async codeText(length: number, lead: number, text: Uint8Array | null, ends: Uint8Array | null, stop: () => boolean): Promise<Uint8Array | null> {
    const out = new Uint8Array(length);
    if (length === 0) return out;
    const { child, subtree } = this.vocabulary;
    let token: number[] = [];
    // The current token's trie node (-1: no token continues with the bytes so far).
    let node = 0;
    this.startToken(await this.window.start());
    for (let i = 0; i < lead; i++) {
      node = this.walkKnown(node, LEAD_BYTE, token.length);
      token.push(LEAD_BYTE);
    }
    for (let i = 0; i < length; i++) {
      let position = token.length;
      // The end hypothesis: the current token ends before this byte (its mass), and the next token starts with it.
      let endMass = position > 0 && node >= 0 ? this.current.ending(node, position) : 0;
      if (endMass > 0) {
        const continueMass = this.current.whole(node) - endMass;
        if (continueMass > 0) {
          const pEnd = Math.floor((endMass * 4096) / (endMass + continueMass));
          if (pEnd < this.tuning.early || pEnd > 4096 - this.tuning.early) {
            // Sure enough: the end first, and the next token's bytes from the model's next distribution.
            const ended = this.codeFlag(endMass, continueMass, this.current.candidates.length > 0 ? 1 : 0, keyOf(Uint8Array.from(token)), ends ? (ends[i] as number) : 0);
            if (ended) {
              const id = this.finishToken(token);
              this.startToken(await this.window.advance(id));
              token = [];
              node = 0;
              position = 0;
            } else {
              this.current.keepLonger(position);
            }
            endMass = 0;
          }
        } else {
          // No token continues: the end is forced, and the model's next distribution gives the next byte.
          const id = this.finishToken(token);
          this.startToken(await this.window.advance(id));
          token = [];
          node = 0;
          position = 0;
          endMass = 0;
        }
      }
      let root = 0;
      const want = text ? (text[i] as number) : 0;
      let byte = 0;
      for (let b = 7; b >= 0; b--) {
        const zero = node >= 0 ? (child[2 * node] as number) : 0;
        const one = node >= 0 ? (child[2 * node + 1] as number) : 0;
        let m1 = one ? this.current.mass(one, position, b, 1) : 0;
        let m0 = zero ? this.current.mass(zero, position, b, 0) : 0;
        const r0 = child[2 * root] as number;
        const r1 = child[2 * root + 1] as number;
        const pCm = this.cm.predict();
        // Under the end hypothesis the next token's first byte is `cm`'s to predict (the model's next distribution does not exist yet).
        const q1 = r1 === 0 ? 0 : r0 === 0 ? 65536 : this.tuning.prior === "cm" ? pCm : Math.floor((65536 * (subtree[r1] as number)) / (subtree[root] as number));
        const e1 = endMass > 0 ? (endMass * q1) / 65536 : 0;
        const e0 = endMass > 0 ? (endMass * (65536 - q1)) / 65536 : 0;
        m1 += e1;
        m0 += e0;
        let bit: number;
        if (m1 > 0 && m0 > 0) bit = this.codeBit(m1, m0, pCm, this.current.candidates.length > 0, (want >> b) & 1);
        else if (m1 > 0 || m0 > 0) bit = m1 > 0 ? 1 : 0;
        else throw new RangeError("decoded bits that start no token of the vocabulary (corrupt stream)");
        this.cm.update(bit);
        node = node >= 0 && (bit ? one : zero) ? (bit ? one : zero) : -1;
        this.current.keep(position, b, bit);
        endMass = bit ? e1 : e0;
        root = bit ? r1 : r0;
        byte = (byte << 1) | bit;
      }
      out[i] = byte;
      // Did the token end before this byte? Forced where only one hypothesis survived.
      const continueMass = node >= 0 ? this.current.whole(node) : 0;
      let ended: number;
      if (endMass > 0 && continueMass > 0) ended = this.codeFlag(endMass, continueMass, this.current.candidates.length > 0 ? 1 : 0, `${keyOf(Uint8Array.from(token))}|${byte}`, ends ? (ends[i] as number) : 0);
      else if (endMass > 0 || continueMass > 0) ended = endMass > 0 ? 1 : 0;
      else throw new RangeError("decoded bytes that are no token of the vocabulary (corrupt stream)");
      if (ended) {
        const id = this.finishToken(token);
        this.startToken(await this.window.advance(id));
        token = [];
        node = this.walkKnown(0, byte, 0);
      }
      token.push(byte);
      if (stop()) return null;
    }
    this.finishToken(token);
    return out;
  }

  /** The current token's hypothesis (set by `startToken`). */
  private get current(): Hypothesis {
    if (!this.hypothesis) throw new Error("no token started");
    return this.hypothesis;
  }

  /** A new token's distribution: its top-K candidates (tokens with bytes) and the escape's share for the rest. */
  private startToken(distribution: TopTokens): void {
    this.hypothesis = new Hypothesis(this.vocabulary, tableFor(distribution, this.escapes));
  }

  /** The token whose bytes are `token`: counted, its escape observed; throws when the vocabulary has no such token. */
  private finishToken(token: readonly number[]): number {
    const id = this.vocabulary.canonical.get(keyOf(Uint8Array.from(token)));
    if (id === undefined) throw new RangeError("decoded bytes that are no token of the vocabulary (corrupt stream)");
    this.tokens++;
    this.escapes.observe(this.current.table.tokens.indexOf(id) < 0);
    return id;
  }

  /** Walks a byte both sides know (not coded, not seen by `cm`) from `node`; returns the node after it. */
  private walkKnown(node: number, byte: number, position: number): number {
    const child = this.vocabulary.child;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      node = child[2 * node + bit] as number;
      if (node === 0) throw new RangeError("a known byte starts no token of the vocabulary");
      this.current.keep(position, b, bit);
    }
    return node;
  }











  /** Codes a bit of the byte stream from the model's masses and `cm`'s probability. */
  private codeBit(m1: number, m0: number, pCm16: number, listed: boolean, want: number): number {
    const pModel = clamp12(Math.floor((m1 * 4096) / (m1 + m0)));
    const sModel = stretch(pModel);
    const pCm = clamp12(pCm16 >> 4);
    const set = listed ? 1 + Math.min(3, Math.abs(sModel) >> 9) : 0;
    this.inputs[0] = sModel;
    this.inputs[1] = stretch(pCm);
    this.inputs[2] = BIAS;
    const bit = this.mix(set, want);
    this.codedBits++;
    this.modelBits -= log2(bit ? pModel / 4096 : 1 - pModel / 4096);
    this.cmBits -= log2(bit ? pCm16 / 65536 : 1 - pCm16 / 65536);
    return bit;
  }

  /** Codes whether the token ended before the byte just coded: the model's end mass against its continuing mass. */
  private codeFlag(mEnd: number, mContinue: number, listed: number, key: string, want: number): number {
    const pModel = clamp12(Math.floor((mEnd * 4096) / (mEnd + mContinue)));
    // What this record decided before at the same bytes (a word seen again is split the same way).
    const counts = this.flagCounts.get(key) ?? 0;
    const n0 = counts & 0xffff;
    const n1 = counts >>> 16;
    const seen = Math.min(2, n0 + n1);
    this.inputs[0] = stretch(pModel);
    this.inputs[1] = stretch(clamp12(Math.floor(((2 * n1 + 1) * 4096) / (2 * (n0 + n1) + 2))));
    this.inputs[2] = BIAS;
    const bit = this.mix(BIT_SETS + listed * 3 + seen, want);
    if (n0 + n1 < 0xffff) this.flagCounts.set(key, bit ? counts + 0x10000 : counts + 1);
    this.codedBits++;
    this.codedFlags++;
    const cost = -log2(bit ? pModel / 4096 : 1 - pModel / 4096);
    this.modelBits += cost;
    this.cmBits += cost;
    this.flagBits += cost;
    return bit;
  }

  /** Mixes the inputs with weight set `set`, codes the decision and learns from it. */
  private mix(set: number, want: number): number {
    const w = this.weights;
    const x = this.inputs;
    const base = set * INPUTS;
    const p12 = mixerPredict(w, x, base);
    const p16 = Math.min(65535, Math.max(1, p12 << 4));
    const bit = this.io.code(p16, want);
    // Δw (16.16) = rate / 1024 · (err / 4096) · (x / 256) · 65536 = x · err · rate / 2^14.
    const err = ((bit << 12) - p12) * this.tuning.rate;
    mixerLearn(w, x, base, err);
    return bit;
  }
}

/** The logistic mixer's 12-bit probability from weight set `base` (16.16 weights, stretched inputs). */
function mixerPredict(w: Int32Array, x: Int32Array, base: number): number {
  let dot = 0;
  for (let i = 0; i < INPUTS; i++) dot += Math.imul(w[base + i] as number, x[i] as number) >> 8;
  const d = dot >> 8;
  return squash(d < -2047 ? -2047 : d > 2047 ? 2047 : d);
}

/** Moves weight set `base` along the error `err` (already scaled by the learning rate). */
function mixerLearn(w: Int32Array, x: Int32Array, base: number, err: number): void {
  for (let i = 0; i < INPUTS; i++) w[base + i] = (w[base + i] as number) + ((Math.imul(x[i] as number, err) + 8192) >> 14);
}

function clamp12(p: number): number {
  return p < 1 ? 1 : p > 4095 ? 4095 : p;
}

function keyOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("latin1");
}

function grow(array: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}

/** Greedy coder's weight-set classes by who erred less so far in the record: the model (by more than the gap), neither, `cm`. */
const RECORD_CLASSES = 3;
const RECORD_CLASS_GAP = 128 << 4;
/** Initial weights of the "neither" and "`cm` erred less" classes ([model, cm, bias]; the model's class starts from `MixTuning.weights`). */
const RECORD_CLASS_WEIGHTS = [[], [0.5, 0.6, 0], [0.15, 1, 0]];
/** The running errors' averaging: 1/2^ERROR_SHIFT per coded bit. */
const ERROR_SHIFT = 5;
const APM_RATE = 7;

/**
 * One distribution of the model seen from the bytes coded under it: its top-K tokens still
 * consistent with those bytes (quantised frequencies), and every other token of the vocabulary
 * with an equal share of the escape. Masses are scaled by `tail` so they stay integer-valued.
 */
class Hypothesis {
  readonly candidates: Uint8Array[] = [];
  readonly frequencies: number[] = [];
  readonly tail: number;
  readonly escape: number;

  constructor(
    private readonly vocabulary: MixVocabulary,
    readonly table: FrequencyTable,
  ) {
    const pieces = vocabulary.pieces;
    for (let r = 0; r < table.tokens.length; r++) {
      const bytes = pieces[table.tokens[r] as number];
      if (!bytes || bytes.length === 0) continue;
      this.candidates.push(bytes);
      this.frequencies.push((table.cumulative[r + 1] as number) - (table.cumulative[r] as number));
    }
    this.tail = Math.max(1, vocabulary.textTokens - this.candidates.length);
    this.escape = table.escape;
  }

  /** Keeps the candidates longer than `position` bytes (the token did not end there). */
  keepLonger(position: number): void {
    const candidates = this.candidates;
    const frequencies = this.frequencies;
    let kept = 0;
    for (let c = 0; c < candidates.length; c++) {
      if ((candidates[c] as Uint8Array).length > position) {
        candidates[kept] = candidates[c] as Uint8Array;
        frequencies[kept] = frequencies[c] as number;
        kept++;
      }
    }
    candidates.length = kept;
    frequencies.length = kept;
  }

  /** Keeps the candidates whose byte `position` has `bit` at `b`. */
  keep(position: number, b: number, bit: number): void {
    const candidates = this.candidates;
    const frequencies = this.frequencies;
    let kept = 0;
    for (let c = 0; c < candidates.length; c++) {
      const bytes = candidates[c] as Uint8Array;
      if (bytes.length > position && (((bytes[position] as number) >> b) & 1) === bit) {
        candidates[kept] = bytes;
        frequencies[kept] = frequencies[c] as number;
        kept++;
      }
    }
    candidates.length = kept;
    frequencies.length = kept;
  }

  /** Mass of the tokens through trie node `next` (bit `bit` at `b` of byte `position`). */
  mass(next: number, position: number, b: number, bit: number): number {
    let mass = 0;
    let listed = 0;
    for (let c = 0; c < this.candidates.length; c++) {
      const bytes = this.candidates[c] as Uint8Array;
      if (bytes.length > position && (((bytes[position] as number) >> b) & 1) === bit) {
        mass += this.frequencies[c] as number;
        listed++;
      }
    }
    return mass * this.tail + this.escape * ((this.vocabulary.subtree[next] as number) - listed);
  }

  /** Mass of the tokens that are exactly the `position` bytes so far (at `node`). */
  ending(node: number, position: number): number {
    let mass = 0;
    let listed = 0;
    for (let c = 0; c < this.candidates.length; c++) {
      if ((this.candidates[c] as Uint8Array).length === position) {
        mass += this.frequencies[c] as number;
        listed++;
      }
    }
    return mass * this.tail + this.escape * ((this.vocabulary.terminal[node] as number) - listed);
  }

  /** Mass of every token consistent with the bytes so far (at `node`). */
  whole(node: number): number {
    let mass = 0;
    for (let c = 0; c < this.candidates.length; c++) mass += this.frequencies[c] as number;
    return mass * this.tail + this.escape * ((this.vocabulary.subtree[node] as number) - this.candidates.length);
  }
}

/**
 * The model's context for the greedy segmentation: tokens fed for good, and at most one token fed
 * on speculation (taken back with `RewindablePredictor.unfeed`, or kept when the cut falls there).
 * Restarts with a carried-over window like `TokenWindow`; never speculates across a restart.
 */
class SpeculativeWindow extends TokenWindow {
  /** The token fed on speculation and the distribution after it, or none. */
  private pending: { token: number; distribution: TopTokens } | null = null;
  speculations = 0;
  takenBack = 0;

  constructor(
    private readonly rewindable: RewindablePredictor,
    settings: LlmCodingSettings,
  ) {
    super(rewindable, settings);
  }

  /** Whether `speculate` may run now (the window has room for one more token without a restart). */
  get roomy(): boolean {
    return this.pending === null && this.used + 1 <= this.settings.windowTokens;
  }

  /** Feeds `token` on speculation; the distribution after it. */
  async speculate(token: number): Promise<TopTokens> {
    this.speculations++;
    this.evaluations++;
    const distribution = (await this.rewindable.feed(token, true)) as TopTokens;
    this.pending = { token, distribution };
    return distribution;
  }

  /** Takes back a speculation (none: nothing to do). */
  async discard(): Promise<void> {
    if (!this.pending) return;
    this.pending = null;
    this.takenBack++;
    await this.rewindable.unfeed();
  }

  /** Feeds `token` for good (a speculation of the same token is kept, another taken back); the next distribution. */
  override async advance(token: number): Promise<TopTokens> {
    if (this.pending?.token === token) {
      const { distribution } = this.pending;
      this.pending = null;
      this.history.push(token);
      this.used++;
      return distribution;
    }
    await this.discard();
    return super.advance(token);
  }
}

/** The coder of `tuning.segmentation` ("beam" or "greedy"): the same arguments on both sides. */
function derivedCutCoder(vocabulary: MixVocabulary, cm: RecordBits, io: BitIo, tuning: MixTuning, predictor: RewindablePredictor, settings: LlmCodingSettings): GreedyMixCoder | BeamMixCoder {
  const escapes = new EscapeEstimator(settings.topK);
  return tuning.segmentation === "beam" ? new BeamMixCoder(vocabulary, cm, io, tuning, predictor, settings, escapes) : new GreedyMixCoder(vocabulary, cm, io, tuning, predictor, settings, escapes);
}

/**
 * What the two coders that derive the cuts share: the selecting mixer, the model's window, and the
 * counts the bench reads (bits by input, model evaluations, tokens taken back).
 */
abstract class DerivedCutCoder<W extends { readonly evaluations: number; readonly takenBack: number }> {
  tokens = 0;
  protected readonly mixer: SelectingMixer;

  constructor(
    protected readonly window: W,
    io: BitIo,
    tuning: MixTuning,
  ) {
    this.mixer = new SelectingMixer(io, tuning);
  }

  get codedBits(): number {
    return this.mixer.codedBits;
  }
  get modelBits(): number {
    return this.mixer.modelBits;
  }
  get cmBits(): number {
    return this.mixer.cmBits;
  }
  get evaluations(): number {
    return this.window.evaluations;
  }
  /** Tokens taken back to reach another branch or cut. */
  get takenBack(): number {
    return this.window.takenBack;
  }
  abstract get speculations(): number;
}

/**
 * The mixing coder with a segmentation both sides derive from the bytes (`MixTuning.segmentation`
 * "greedy"): the bytes since the last cut ("pending") are always a prefix of some token; a byte
 * that extends them extends them, a byte that does not cuts the longest token the pending bytes
 * start with (the rest is scanned again). A pending string no token extends is cut at once. The
 * model's probability of each byte is the sum of three hypotheses:
 *
 * - the pending token goes on with it (the current distribution's tokens that extend it);
 * - the pending bytes are a token that ends here (its mass), and the next token starts with the byte:
 *   the distribution after feeding the pending token on speculation (`SpeculativeWindow`), or, when
 *   the model gives that end little mass (`MixTuning.speculate`) or the window is full, the
 *   vocabulary's counts of tokens starting so;
 * - the pending bytes are no token, and the text leaves them (the cut falls earlier): the end mass
 *   the last token-shaped prefix had, spread by the vocabulary's counts.
 *
 * No decision about the cut is coded; `cm` and the model are mixed on every bit as in `MixCoder`.
 */
class GreedyMixCoder extends DerivedCutCoder<SpeculativeWindow> {
  private current!: Hypothesis;
  private pending: number[] = [];
  /** The pending bytes' trie node (always a node: the pending bytes start some token). */
  private node = 0;
  /** The end mass of the longest pending prefix that is a token (the current distribution's scale). */
  private lastEnd = 0;

  constructor(
    private readonly vocabulary: MixVocabulary,
    private readonly cm: RecordBits,
    io: BitIo,
    private readonly tuning: MixTuning,
    predictor: RewindablePredictor,
    settings: LlmCodingSettings,
    readonly escapes: EscapeEstimator,
  ) {
    super(new SpeculativeWindow(predictor, settings), io, tuning);
  }

  get speculations(): number {
    return this.window.speculations;
  }

  async codeText(length: number, lead: number, text: Uint8Array | null, stop: () => boolean): Promise<Uint8Array | null> {
    const out = new Uint8Array(length);
    if (length === 0) return out;
    const { child, subtree, terminal } = this.vocabulary;
    this.startToken(await this.window.start());
    if (lead) await this.push(LEAD_BYTE);
    for (let i = 0; i < length; i++) {
      const position = this.pending.length;
      let node = this.node;
      // The end hypothesis: the pending bytes are a token that ends here.
      let endMass = 0;
      let next: Hypothesis | null = null;
      if (position > 0 && (terminal[node] as number) > 0) {
        endMass = this.lastEnd;
        const whole = this.current.whole(node);
        if (endMass > 0 && Math.floor((endMass * 4096) / whole) >= this.tuning.speculate && this.window.roomy) {
          const token = this.vocabulary.canonical.get(keyOf(Uint8Array.from(this.pending))) as number;
          next = new Hypothesis(this.vocabulary, tableFor(await this.window.speculate(token), this.escapes));
        }
      }
      // The earlier-cut hypothesis: the pending bytes are no token, and the text leaves them.
      let leaveMass = position > 0 && (terminal[node] as number) === 0 ? this.lastEnd : 0;
      let root = 0;
      let continueMass = 0;
      const want = text ? (text[i] as number) : 0;
      let byte = 0;
      const listed = this.current.candidates.length > 0 || (next !== null && next.candidates.length > 0);
      for (let b = 7; b >= 0; b--) {
        const zero = node >= 0 ? (child[2 * node] as number) : 0;
        const one = node >= 0 ? (child[2 * node + 1] as number) : 0;
        const c1 = one ? this.current.mass(one, position, b, 1) : 0;
        const c0 = zero ? this.current.mass(zero, position, b, 0) : 0;
        let m1 = c1;
        let m0 = c0;
        const r0 = child[2 * root] as number;
        const r1 = child[2 * root + 1] as number;
        // The next token's first byte: the speculative distribution, or the vocabulary's counts.
        const s1 = r1 === 0 ? 0 : next ? next.mass(r1, 0, b, 1) : (subtree[r1] as number);
        const s0 = r0 === 0 ? 0 : next ? next.mass(r0, 0, b, 0) : (subtree[r0] as number);
        const v1 = r1 === 0 ? 0 : (subtree[r1] as number);
        const v0 = r0 === 0 ? 0 : (subtree[r0] as number);
        const e1 = s1 + s0 > 0 ? (endMass * s1) / (s1 + s0) : 0;
        const e0 = endMass - e1;
        const l1 = v1 + v0 > 0 ? (leaveMass * v1) / (v1 + v0) : 0;
        const l0 = leaveMass - l1;
        m1 += e1 + l1;
        m0 += e0 + l0;
        const pCm = this.cm.predict();
        let bit: number;
        if (m1 > 0 && m0 > 0) bit = this.mixer.codeBit(m1, m0, pCm, listed, (want >> b) & 1);
        else if (m1 > 0 || m0 > 0) bit = m1 > 0 ? 1 : 0;
        else throw new RangeError("decoded bits that start no token of the vocabulary (corrupt stream)");
        this.cm.update(bit);
        node = node >= 0 && (bit ? one : zero) ? (bit ? one : zero) : -1;
        this.current.keep(position, b, bit);
        next?.keep(0, b, bit);
        endMass = bit ? e1 : e0;
        leaveMass = bit ? l1 : l0;
        continueMass = bit ? c1 : c0;
        root = bit ? r1 : r0;
        byte = (byte << 1) | bit;
      }
      out[i] = byte;
      // The cut both sides now make: where the model puts more mass on a cut than on going on, the cut.
      if (this.tuning.cut === "likely" && endMass > continueMass && endMass >= leaveMass) await this.cut(position);
      else if (this.tuning.cut === "likely" && leaveMass > continueMass) await this.cut(this.longestToken());
      await this.push(byte);
      if (stop()) return null;
    }
    await this.window.discard();
    return out;
  }

  /** A new token's distribution. */
  private startToken(distribution: TopTokens): void {
    this.current = new Hypothesis(this.vocabulary, tableFor(distribution, this.escapes));
    this.pending = [];
    this.node = 0;
    this.lastEnd = 0;
  }

  /** Cuts the first `length` pending bytes as a token, feeds it and starts the next token (the rest of the pending bytes scanned again). */
  private async cut(length: number): Promise<void> {
    const bytes = this.pending;
    const id = this.vocabulary.canonical.get(keyOf(Uint8Array.from(bytes.slice(0, length))));
    if (id === undefined) throw new RangeError("bytes that start no token of the vocabulary");
    this.tokens++;
    this.escapes.observe(this.current.table.tokens.indexOf(id) < 0);
    this.startToken(await this.window.advance(id));
    for (const byte of bytes.slice(length)) await this.push(byte);
  }

  /** The length of the longest token the pending bytes start with. */
  private longestToken(): number {
    const { child, terminal } = this.vocabulary;
    let longest = 0;
    let at = 0;
    for (let i = 0; i < this.pending.length; i++) {
      for (let b = 7; b >= 0; b--) at = child[2 * at + (((this.pending[i] as number) >> b) & 1)] as number;
      if ((terminal[at] as number) > 0) longest = i + 1;
    }
    if (longest === 0) throw new RangeError("pending bytes that start no token of the vocabulary");
    return longest;
  }

  /** Adds a known byte to the pending ones: extends them, or cuts the longest token they start with first. */
  private async push(byte: number): Promise<void> {
    const { child, subtree, terminal } = this.vocabulary;
    let node = this.node;
    for (let b = 7; b >= 0 && (b === 7 || node !== 0); b--) node = child[2 * node + ((byte >> b) & 1)] as number;
    if (node === 0) {
      // No token goes on with this byte: cut the longest token the pending bytes start with.
      if (this.pending.length === 0) throw new RangeError("a byte that starts no token of the vocabulary");
      await this.cut(this.longestToken());
      await this.push(byte);
      return;
    }
    await this.window.discard();
    const position = this.pending.length;
    for (let b = 7; b >= 0; b--) this.current.keep(position, b, (byte >> b) & 1);
    this.pending.push(byte);
    this.node = node;
    if ((terminal[node] as number) > 0) this.lastEnd = this.current.ending(node, this.pending.length);
    if ((subtree[node] as number) === (terminal[node] as number)) await this.cut(this.pending.length);
  }
}

/**
 * The greedy and beam coders' mixer: the model's and `cm`'s stretched probabilities and a bias,
 * weight sets by the model's confidence and (`MixTuning.select`) by which input has erred less in
 * this record so far; an optional APM after it (`MixTuning.apm`).
 */
class SelectingMixer {
  codedBits = 0;
  modelBits = 0;
  cmBits = 0;
  private readonly weights = new Int32Array(RECORD_CLASSES * BIT_SETS * INPUTS);
  private readonly inputs = new Int32Array(INPUTS);
  /** Running mean absolute error (12-bit, ×16) of the model and of `cm` in this record. */
  private errorModel = 0;
  private errorCm = 0;
  /** The APM: per context 24 interpolation points (16-bit probabilities). */
  private readonly apm = new Uint16Array(RECORD_CLASSES * BIT_SETS * 24);
  private apmIndex = 0;

  constructor(
    private readonly io: BitIo,
    private readonly tuning: MixTuning,
  ) {
    for (let c = 0; c < RECORD_CLASSES; c++) {
      for (let s = 0; s < BIT_SETS; s++) {
        const initial = c === 0 || !tuning.select ? (tuning.weights[s] as number[]) : (RECORD_CLASS_WEIGHTS[c] as number[]);
        for (let i = 0; i < INPUTS; i++) this.weights[(c * BIT_SETS + s) * INPUTS + i] = Math.round((initial[i] as number) * 65536);
      }
    }
    for (let i = 0; i < this.apm.length; i++) this.apm[i] = squash(Math.floor((((i % 24) * 2 + 1) * 4096) / 48) - 2048) * 16;
  }

  /** Codes a bit of the byte stream from the model's masses and `cm`'s probability. */
  codeBit(m1: number, m0: number, pCm16: number, listed: boolean, want: number): number {
    const pModel = clamp12(Math.floor((m1 * 4096) / (m1 + m0)));
    const sModel = stretch(pModel);
    const pCm = clamp12(pCm16 >> 4);
    const gap = this.errorModel - this.errorCm;
    const recordClass = !this.tuning.select ? 0 : gap < -RECORD_CLASS_GAP ? 0 : gap > RECORD_CLASS_GAP ? 2 : 1;
    const set = recordClass * BIT_SETS + (listed ? 1 + Math.min(3, Math.abs(sModel) >> 9) : 0);
    this.inputs[0] = sModel;
    this.inputs[1] = stretch(pCm);
    this.inputs[2] = BIAS;
    const w = this.weights;
    const x = this.inputs;
    const base = set * INPUTS;
    const p12 = mixerPredict(w, x, base);
    let pFinal = p12;
    if (this.tuning.apm) {
      // lpaq's APM: interpolate between the two points around stretch(p); the nearer one learns.
      const scaled = (stretch(p12) + 2048) * 23;
      const weight = scaled & 0xfff;
      const at = set * 24 + (scaled >> 12);
      this.apmIndex = at + (weight >> 11);
      const pApm = (Math.imul(this.apm[at] as number, 4096 - weight) + Math.imul(this.apm[at + 1] as number, weight)) >> 16;
      pFinal = (p12 + 3 * pApm + 2) >> 2;
    }
    const p16 = Math.min(65535, Math.max(1, pFinal << 4));
    const bit = this.io.code(p16, want);
    if (this.tuning.apm) {
      const g = (bit << 16) + (bit << APM_RATE) - bit - bit;
      this.apm[this.apmIndex] = (this.apm[this.apmIndex] as number) + ((g - (this.apm[this.apmIndex] as number)) >> APM_RATE);
    }
    const err = ((bit << 12) - p12) * this.tuning.rate;
    mixerLearn(w, x, base, err);
    const target = bit << 12;
    this.errorModel += ((Math.abs(target - pModel) << 4) - this.errorModel) >> ERROR_SHIFT;
    this.errorCm += ((Math.abs(target - pCm) << 4) - this.errorCm) >> ERROR_SHIFT;
    this.codedBits++;
    this.modelBits -= log2(bit ? pModel / 4096 : 1 - pModel / 4096);
    this.cmBits -= log2(bit ? pCm16 / 65536 : 1 - pCm16 / 65536);
    return bit;
  }
}

/**
 * A point in the tree of tokenizations the beam coder keeps: the token fed last and the node before
 * it (the history is the path from the root, shared with every other history through it: nothing
 * is copied, so a record of n tokens keeps O(n) of them, not O(n²); review M1), and the table of the
 * distribution after the history once evaluated (released when every hypothesis has gone past it).
 */
export interface HistoryNode {
  /** The history's last token (-1 at the root). */
  readonly token: number;
  /** Tokens in the history. */
  readonly depth: number;
  readonly parent: HistoryNode | null;
  table: FrequencyTable | null;
}

/** The empty history. */
export function historyRoot(): HistoryNode {
  return { token: -1, depth: 0, parent: null, table: null };
}

/** The history `parent` then `token`. */
export function extendHistory(parent: HistoryNode, token: number): HistoryNode {
  return { token, depth: parent.depth + 1, parent, table: null };
}

/** A history given as tokens (a chain of new nodes). */
export function historyOf(tokens: readonly number[]): HistoryNode {
  let node = historyRoot();
  for (const token of tokens) node = extendHistory(node, token);
  return node;
}

/** The node of `node`'s history at `depth` (its first `depth` tokens). */
function ancestorAt(node: HistoryNode, depth: number): HistoryNode {
  let at = node;
  while (at.depth > depth) at = at.parent as HistoryNode;
  return at;
}

/** The tokens of `node`'s history from position `from` on. */
function tokensFrom(node: HistoryNode, from: number): number[] {
  const out = new Array<number>(Math.max(0, node.depth - from));
  let at = node;
  for (let i = node.depth - 1; i >= from; i--) {
    out[i - from] = at.token;
    at = at.parent as HistoryNode;
  }
  return out;
}

/**
 * How many first tokens the histories of `a` and `b` share, at most `limit`: compared token by
 * token from there up to the first node both share (two nodes may spell one history).
 */
function commonDepth(a: HistoryNode, b: HistoryNode, limit: number): number {
  const depth = Math.min(limit, a.depth, b.depth);
  let x: HistoryNode | null = ancestorAt(a, depth);
  let y: HistoryNode | null = ancestorAt(b, depth);
  let common = depth;
  while (x && y && x !== y) {
    if (x.token !== y.token) common = x.depth - 1;
    x = x.parent;
    y = y.parent;
  }
  return common;
}

/**
 * One tokenization hypothesis of the bytes so far: the tokens before the current one (`node`),
 * the current token's bytes so far (`pending`, a prefix of some token; `trie` their node) and its
 * share of the byte stream's probability. A state without a hypothesis starts a token after a cut
 * whose distribution was not evaluated (too small a share): its first byte comes from the
 * vocabulary's counts, and it is evaluated after that byte or dropped.
 */
interface BeamState {
  node: HistoryNode;
  hypothesis: Hypothesis | null;
  pending: number[];
  trie: number;
  weight: number;
}

/**
 * The model's context for the beam coder: any history of the tree, reached from the one fed last
 * by taking back tokens (`RewindablePredictor.unfeed`) and feeding the rest. A window as
 * `TokenWindow`'s: BOS, the prefix and the history from `start`; a history that does not fit, or
 * leaves the fed one before `start`, restarts it with the last `carryTokens` tokens.
 */
export class BeamWindow {
  evaluations = 0;
  takenBack = 0;
  /** The tokens fed since `start` (the window's part of the history fed last). */
  private fed: number[] = [];
  /** The history fed last, its first `start` tokens (those before the window). */
  private base: HistoryNode | null = null;
  private start = 0;
  private started = false;

  constructor(
    private readonly predictor: RewindablePredictor,
    private readonly settings: LlmCodingSettings,
  ) {}

  /** The distribution after `node`'s history. Walks at most a window's tokens of the tree. */
  async evaluate(node: HistoryNode): Promise<TopTokens> {
    const head = 1 + this.settings.prefix.length;
    const depth = node.depth;
    let restart = !this.started || depth <= this.start || head + depth - this.start > this.settings.windowTokens;
    if (!restart && commonDepth(ancestorAt(node, this.start), this.base as HistoryNode, this.start) < this.start) restart = true;
    const tail = restart ? [] : tokensFrom(node, this.start);
    let common = 0;
    if (!restart) {
      while (common < this.fed.length && common < tail.length && this.fed[common] === tail[common]) common++;
      // The distribution after the last token needs that token fed again.
      if (common === tail.length) common--;
      if (common < 0) restart = true;
    }
    if (restart) {
      const carried = depth > 0 && this.settings.carryTokens > 0 ? tokensFrom(node, Math.max(0, depth - this.settings.carryTokens)) : [];
      await this.predictor.reset();
      const feed = [this.settings.bosToken, ...this.settings.prefix, ...carried];
      let distribution: TopTokens | null = null;
      for (let i = 0; i < feed.length; i++) distribution = await this.predictor.feed(feed[i] as number, i === feed.length - 1);
      this.evaluations += feed.length;
      this.started = true;
      this.start = depth - carried.length;
      this.base = ancestorAt(node, this.start);
      this.fed = carried;
      return distribution as TopTokens;
    }
    for (let n = this.fed.length; n > common; n--) await this.predictor.unfeed();
    this.takenBack += this.fed.length - common;
    this.fed.length = common;
    let distribution: TopTokens | null = null;
    for (let i = common; i < tail.length; i++) {
      distribution = await this.predictor.feed(tail[i] as number, i === tail.length - 1);
      this.fed.push(tail[i] as number);
      this.evaluations++;
    }
    return distribution as TopTokens;
  }
}

/**
 * The mixing coder with the byte marginal over tokenizations (`MixTuning.segmentation` "beam"):
 * it keeps the live tokenization hypotheses of the bytes so far (`BeamState`), each weighted by
 * its probability, and the model's probability of a byte (bit by bit) is the sum over them. Before
 * each byte, a hypothesis whose pending bytes are a token splits in two: the token goes on, or it
 * ended and a new one starts (the model evaluated after it when that share is at least
 * `MixTuning.speculate`/4096, else the vocabulary's counts for its first byte). Hypotheses below
 * `MixTuning.prune`/4096 of the total, and all but the `MixTuning.beam` largest, are dropped; both
 * sides drop the same. Where no hypothesis survives a byte, the largest one before it is cut by the
 * longest match. Nothing about the segmentation is coded; `cm` is mixed on every bit.
 */
class BeamMixCoder extends DerivedCutCoder<BeamWindow> {
  evaluated = 0;
  rescues = 0;
  private committed = 0;

  constructor(
    private readonly vocabulary: MixVocabulary,
    private readonly cm: RecordBits,
    io: BitIo,
    private readonly tuning: MixTuning,
    predictor: RewindablePredictor,
    settings: LlmCodingSettings,
    readonly escapes: EscapeEstimator,
  ) {
    super(new BeamWindow(predictor, settings), io, tuning);
  }

  /** Distributions evaluated (one per history node). */
  get speculations(): number {
    return this.evaluated;
  }

  async codeText(length: number, lead: number, text: Uint8Array | null, stop: () => boolean): Promise<Uint8Array | null> {
    const out = new Uint8Array(length);
    if (length === 0) return out;
    const { child, subtree, terminal, canonical } = this.vocabulary;
    const root = historyRoot();
    await this.evaluate(root);
    let states: BeamState[] = [{ node: root, hypothesis: new Hypothesis(this.vocabulary, root.table as FrequencyTable), pending: [], trie: 0, weight: 1 }];
    if (lead) {
      const state = states[0] as BeamState;
      state.trie = this.walk(state, LEAD_BYTE);
      if (state.trie === 0) throw new RangeError("the lead byte starts no token of the vocabulary");
      state.pending.push(LEAD_BYTE);
    }
    const { beam, prune, speculate } = this.tuning;
    for (let i = 0; i < length; i++) {
      // Split: a hypothesis whose pending bytes are a token goes on, or that token ended.
      const split: BeamState[] = [];
      for (const state of states) {
        const hypothesis = state.hypothesis as Hypothesis;
        if (state.pending.length > 0 && (terminal[state.trie] as number) > 0) {
          const whole = hypothesis.whole(state.trie);
          const end = hypothesis.ending(state.trie, state.pending.length);
          const token = canonical.get(keyOf(Uint8Array.from(state.pending))) as number;
          const endWeight = (state.weight * end) / whole;
          if (whole > end) split.push({ ...state, weight: (state.weight * (whole - end)) / whole });
          if (end > 0) split.push({ node: extendHistory(state.node, token), hypothesis: null, pending: [], trie: 0, weight: endWeight });
        } else split.push(state);
      }
      split.sort((a, b) => b.weight - a.weight);
      let total = 0;
      for (const state of split) total += state.weight;
      const kept: BeamState[] = [];
      for (const state of split) {
        if (kept.length > 0 && (kept.length >= beam || state.weight * 4096 < total * prune)) continue;
        if (!state.hypothesis && state.weight * 4096 >= total * speculate) await this.open(state);
        kept.push(state);
      }
      // The byte, bit by bit: each hypothesis's mass of the bits so far, scaled to its share.
      const n = kept.length;
      const scale = new Float64Array(n);
      const node = new Int32Array(n);
      const mass = new Float64Array(n);
      let listed = false;
      for (let k = 0; k < n; k++) {
        const state = kept[k] as BeamState;
        node[k] = state.trie;
        if (state.hypothesis) {
          const h = state.hypothesis;
          scale[k] = state.weight / (h.whole(state.trie) - (state.pending.length > 0 ? h.ending(state.trie, state.pending.length) : 0));
          if (h.candidates.length > 0) listed = true;
        } else scale[k] = state.weight / (subtree[0] as number);
      }
      const want = text ? (text[i] as number) : 0;
      let byte = 0;
      for (let b = 7; b >= 0; b--) {
        let m1 = 0;
        let m0 = 0;
        const a1 = new Float64Array(n);
        const a0 = new Float64Array(n);
        for (let k = 0; k < n; k++) {
          const at = node[k] as number;
          if (at < 0) continue;
          const state = kept[k] as BeamState;
          const zero = child[2 * at] as number;
          const one = child[2 * at + 1] as number;
          const h = state.hypothesis;
          const position = state.pending.length;
          const c1 = one === 0 ? 0 : h ? h.mass(one, position, b, 1) : (subtree[one] as number);
          const c0 = zero === 0 ? 0 : h ? h.mass(zero, position, b, 0) : (subtree[zero] as number);
          a1[k] = (scale[k] as number) * c1;
          a0[k] = (scale[k] as number) * c0;
          m1 += a1[k] as number;
          m0 += a0[k] as number;
        }
        const pCm = this.cm.predict();
        const bit = m1 + m0 > 0 ? this.mixer.codeBit(m1, m0, pCm, listed, (want >> b) & 1) : this.mixer.codeBit(1, 1, pCm, listed, (want >> b) & 1);
        this.cm.update(bit);
        for (let k = 0; k < n; k++) {
          const at = node[k] as number;
          if (at < 0) continue;
          const next = child[2 * at + bit] as number;
          node[k] = next === 0 ? -1 : next;
          mass[k] = bit ? (a1[k] as number) : (a0[k] as number);
          kept[k]?.hypothesis?.keep(kept[k]?.pending.length as number, b, bit);
        }
        byte = (byte << 1) | bit;
      }
      out[i] = byte;
      // The survivors: their new shares; an unevaluated one is evaluated when large enough (or the only one left).
      let sum = 0;
      let evaluatedLive = false;
      for (let k = 0; k < n; k++) {
        if ((node[k] as number) < 0 || (mass[k] as number) <= 0) continue;
        sum += mass[k] as number;
        if ((kept[k] as BeamState).hypothesis) evaluatedLive = true;
      }
      let live: BeamState[] = [];
      for (let k = 0; k < n; k++) {
        const state = kept[k] as BeamState;
        const w = mass[k] as number;
        if ((node[k] as number) < 0 || w <= 0) continue;
        if (!state.hypothesis) {
          if (evaluatedLive && w * 4096 < sum * speculate) continue;
          const opened = await this.open(state);
          for (let b = 7; b >= 0; b--) opened.keep(0, b, (byte >> b) & 1);
        }
        state.pending.push(byte);
        state.trie = node[k] as number;
        state.weight = w / sum;
        live.push(state);
      }
      if (live.length === 0) {
        this.rescues++;
        live = [await this.rescue(kept[0] as BeamState, byte)];
      }
      if (this.tuning.merge) live = merged(live);
      states = live;
      this.commit(states);
      if (stop()) return null;
    }
    const best = states.reduce((a, b) => (b.weight > a.weight ? b : a));
    this.tokens = best.node.depth + (best.pending.length > 0 ? 1 : 0);
    return out;
  }

  /** Evaluates a state's history and starts its token. */
  private async open(state: BeamState): Promise<Hypothesis> {
    await this.evaluate(state.node);
    state.hypothesis = new Hypothesis(this.vocabulary, state.node.table as FrequencyTable);
    return state.hypothesis;
  }

  private async evaluate(node: HistoryNode): Promise<void> {
    if (node.table) return;
    this.evaluated++;
    node.table = tableFor(await this.window.evaluate(node), this.escapes);
  }

  /** The trie node after `byte` from the state's (0: no token goes on so); filters the state's candidates. */
  private walk(state: BeamState, byte: number): number {
    const { child } = this.vocabulary;
    let at = state.trie;
    for (let b = 7; b >= 0; b--) {
      at = child[2 * at + ((byte >> b) & 1)] as number;
      state.hypothesis?.keep(state.pending.length, b, (byte >> b) & 1);
      if (at === 0) return 0;
    }
    return at;
  }

  /** No hypothesis survived `byte`: the largest one before it, its pending bytes and `byte` cut by the longest match. */
  private async rescue(state: BeamState, byte: number): Promise<BeamState> {
    const { child, terminal, canonical } = this.vocabulary;
    let bytes = [...state.pending, byte];
    let node = state.node;
    for (;;) {
      await this.evaluate(node);
      let at = 0;
      let longest = 0;
      let i = 0;
      walk: for (; i < bytes.length; i++) {
        for (let b = 7; b >= 0; b--) {
          at = child[2 * at + (((bytes[i] as number) >> b) & 1)] as number;
          if (at === 0) break walk;
        }
        if ((terminal[at] as number) > 0) longest = i + 1;
      }
      if (i === bytes.length) {
        await this.evaluate(node);
        const fresh: BeamState = { node, hypothesis: new Hypothesis(this.vocabulary, node.table as FrequencyTable), pending: [], trie: 0, weight: 1 };
        for (const known of bytes) {
          fresh.trie = this.walk(fresh, known);
          fresh.pending.push(known);
        }
        return fresh;
      }
      if (longest === 0) throw new RangeError("bytes that start no token of the vocabulary");
      const token = canonical.get(keyOf(Uint8Array.from(bytes.slice(0, longest)))) as number;
      node = extendHistory(node, token);
      bytes = bytes.slice(longest);
    }
  }

  /**
   * Tokens every hypothesis agrees on are final: the escape estimate learns whether each was in its
   * table's top K (counts only: the order does not matter), and those tables are released (no
   * hypothesis goes back before them). Walks the uncommitted part of the tree only.
   */
  private commit(states: readonly BeamState[]): void {
    const first = (states[0] as BeamState).node;
    let common = first.depth;
    for (const state of states) common = commonDepth(first, state.node, common);
    if (common <= this.committed) return;
    for (let at = ancestorAt(first, common); at.depth > this.committed; at = at.parent as HistoryNode) {
      const parent = at.parent as HistoryNode;
      this.escapes.observe((parent.table as FrequencyTable).tokens.indexOf(at.token) < 0);
      parent.table = null;
    }
    this.committed = common;
  }
}

/** Hypotheses whose current token started at the same byte, merged into the largest of them (shares added; the order by share, ties first come). */
function merged(states: BeamState[]): BeamState[] {
  const sorted = [...states].sort((a, b) => b.weight - a.weight);
  const out: BeamState[] = [];
  for (const state of sorted) {
    const same = out.find((o) => o.pending.length === state.pending.length);
    if (same) same.weight += state.weight;
    else out.push(state);
  }
  return out;
}
