import { SQUASH, STRETCH } from "./logistic.js";

/** Sizes that bound the model's memory; both ends of a stream must use the same values. */
export interface ContextModelParams {
  /** log2 of hashed counter slots (4 bytes each: 23 → 32 MiB). */
  tableBits: number;
  /** log2 of the match model's hash slots (4 bytes each). */
  matchBits: number;
}

export const CONTEXT_MODEL_DEFAULTS = { tableBits: 23, matchBits: 20 } as const satisfies ContextModelParams;

// Inputs to the mixer: order 0 and 1 (direct tables), orders 2, 3, 4 and a word context
// (hashed), the match model, and a bias. Measured on the dev corpus (train 1500 / test 500):
// an order-6 or order-5 context, a code-point bigram context for Chinese and a second,
// order-1 APM each made the held-out size worse or no better at these table sizes, so they
// are left out; a second mixer selected by the previous byte gained 0.9 %.
const HASHED = 4;
const COUNTERS = 2 + HASHED;
const INPUTS = COUNTERS + 2;
/** The mixer's constant input. */
const BIAS = 256;
const O1_BASE = 256;
const HASHED_BASE = 256 + 65536;
const MATCH_MIN = 6;
const MIXER_SETS = 256 * 4;
const MIXER_RATE = 10;
const COUNT_LIMIT = 60;
const APM_RATE = 6;
/** Undo entries one coded byte can add: counters per bit, and a match-table slot. */
const UNDO_PER_BYTE = 8 * COUNTERS + 1;
const INITIAL_COUNTER = 32768 << 16;
/** log2 of the per-record scratch slots that hold contexts a frozen model has never seen. */
const SCRATCH_BITS = 16;

/** Adaptation rate per observation count, in 1/1024: about 2 / (2n + 3), down to 1/64 at the count limit. */
const RATE = new Int32Array(COUNT_LIMIT + 1);
for (let n = 0; n <= COUNT_LIMIT; n++) RATE[n] = Math.max(4, Math.floor(2048 / (2 * n + 3)));

/**
 * A bitwise context-mixing model over bytes (lpaq-like): adaptive counters in several contexts
 * (hashed ones in tagged 16-slot buckets, one per nibble), a match model over everything seen,
 * two logistic mixers (weights selected by partial byte and match length, and by previous byte
 * and bit position) averaged in the logistic domain, and an APM stage. Integer arithmetic only, so encoder and decoder agree bit
 * for bit on every machine.
 *
 * Lifecycle: `train` on a namespace's texts, then `freeze`; afterwards each record is coded
 * from that frozen state (`beginRecord` … `endRecord`), adapting inside the record and rolled
 * back after it through an undo log, so records decode independently of each other.
 */
export class ContextModel {
  readonly params: ContextModelParams;
  /** Counter slots: probability of a 1 (16 bits) << 16 | observation count; one array so a lookup touches one cache line. */
  private readonly counters: Int32Array;
  private readonly hashShift: number;
  /** First scratch slot: slots from here on hold a record's new contexts and are wiped, not undone, after it. */
  private readonly scratchBase: number;
  private claimedScratch = new Int32Array(1024);
  private claimedScratchLength = 0;
  private readonly slot = new Int32Array(COUNTERS);
  private readonly nibbleBase = new Int32Array(HASHED);
  private readonly contextHash = new Int32Array(HASHED);
  private readonly stretched = new Int32Array(INPUTS);
  private weights = new Int32Array(MIXER_SETS * INPUTS).fill(20000);
  private mixerBase = 0;
  private weights2 = new Int32Array(2048 * INPUTS).fill(20000);
  private mixer2Base = 0;
  private p1 = 2048;
  private p2 = 2048;
  private pMix = 2048;
  private readonly apm = new Uint16Array(256 * 33);
  private apmIndex = 0;
  private apmWeight = 0;
  private matchCounters = new Uint16Array(64).fill(32768);
  private matchCounter = 0;
  private history: Uint8Array;
  private historyLength = 0;
  private readonly matchTable: Int32Array;
  private readonly matchShift: number;
  private matchPtr = 0;
  private matchLength = 0;
  private predictedByte = 0;
  private c0 = 1;
  private bitPosition = 0;
  private c4 = 0;
  private c8 = 0;
  private word = 0;
  // Undo logs, used once frozen: slot and old value, replayed backwards by endRecord.
  private frozen = false;
  private pristineWeights = new Int32Array(0);
  private pristineApm = new Uint16Array(0);
  private pristineWeights2 = new Int32Array(0);
  private pristineMatchCounters = new Uint16Array(0);
  private frozenHistoryLength = 0;
  private undoSlots = new Int32Array(1 << 16);
  private undoValues = new Int32Array(1 << 16);
  private undoLength = 0;

  constructor(params: ContextModelParams = CONTEXT_MODEL_DEFAULTS) {
    this.params = params;
    this.scratchBase = HASHED_BASE + 2 ** params.tableBits;
    this.counters = new Int32Array(this.scratchBase + 2 ** SCRATCH_BITS).fill(INITIAL_COUNTER);
    this.hashShift = 32 - params.tableBits;
    this.matchTable = new Int32Array(2 ** params.matchBits);
    this.matchShift = 32 - params.matchBits;
    this.history = new Uint8Array(1 << 16);
    this.stretched[COUNTERS + 1] = BIAS;
    for (let ctx = 0; ctx < 256; ctx++) {
      for (let j = 0; j < 33; j++) this.apm[ctx * 33 + j] = SQUASH[(j - 16) * 128 + 2048] as number * 16;
    }
    this.beginRecord();
  }

  /** Learns from one text as a record of its own (before `freeze`). */
  train(bytes: Uint8Array): void {
    if (this.frozen) throw new Error("the model is frozen");
    this.beginRecord();
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i] as number;
      for (let b = 7; b >= 0; b--) {
        this.predict();
        this.update((byte >> b) & 1);
      }
    }
    this.appendHistory(0);
  }

  /** Ends training: from now on every record starts from this state. */
  freeze(): void {
    this.frozen = true;
    this.pristineWeights = this.weights.slice();
    this.pristineApm = this.apm.slice();
    this.pristineWeights2 = this.weights2.slice();
    this.pristineMatchCounters = this.matchCounters.slice();
    this.frozenHistoryLength = this.historyLength;
  }

  /** Resets the byte context to the record boundary, with room to undo a record of `length` bytes. */
  beginRecord(length = 0): void {
    const needed = (length + 1) * UNDO_PER_BYTE;
    if (this.frozen && needed > this.undoSlots.length) {
      this.undoSlots = new Int32Array(needed);
      this.undoValues = new Int32Array(needed);
    }
    this.c0 = 1;
    this.bitPosition = 0;
    this.c4 = 0;
    this.c8 = 0;
    this.word = 0;
    this.matchLength = 0;
    this.afterByte();
  }

  /** Rolls every change made since `beginRecord` back (frozen models only). */
  endRecord(): void {
    if (!this.frozen) return;
    const { undoSlots, undoValues, counters, matchTable } = this;
    for (let i = this.undoLength - 1; i >= 0; i--) {
      const slot = undoSlots[i] as number;
      const value = undoValues[i] as number;
      if (slot >= 0) {
        counters[slot] = value;
      } else {
        matchTable[-1 - slot] = value;
      }
    }
    this.undoLength = 0;
    for (let i = 0; i < this.claimedScratchLength; i++) {
      const bucket = this.claimedScratch[i] as number;
      for (let k = 0; k < 16; k++) counters[bucket + k] = INITIAL_COUNTER;
    }
    this.claimedScratchLength = 0;
    this.weights.set(this.pristineWeights);
    this.apm.set(this.pristineApm);
    this.weights2.set(this.pristineWeights2);
    this.matchCounters.set(this.pristineMatchCounters);
    this.historyLength = this.frozenHistoryLength;
  }

  /** P(next bit = 1) in 1..65535 out of 65536. */
  predict(): number {
    const { slot, stretched, counters, weights, mixerBase, weights2, mixer2Base } = this;
    let dot = 0;
    let dot2 = 0;
    for (let i = 0; i < COUNTERS; i++) {
      const x = STRETCH[(counters[slot[i] as number] as number) >>> 20] as number;
      stretched[i] = x;
      dot += (weights[mixerBase + i] as number) * x;
      dot2 += (weights2[mixer2Base + i] as number) * x;
    }
    let match = 0;
    if (this.matchLength > 0) {
      const expected = (this.predictedByte >> (7 - this.bitPosition)) & 1;
      this.matchCounter = Math.min(this.matchLength, 31) * 2 + expected;
      match = STRETCH[(this.matchCounters[this.matchCounter] as number) >>> 4] as number;
    } else {
      this.matchCounter = -1;
    }
    stretched[COUNTERS] = match;
    dot += (weights[mixerBase + COUNTERS] as number) * match + (weights[mixerBase + COUNTERS + 1] as number) * BIAS;
    dot2 += (weights2[mixer2Base + COUNTERS] as number) * match + (weights2[mixer2Base + COUNTERS + 1] as number) * BIAS;
    let d = Math.floor(dot / 65536);
    if (d > 2047) d = 2047;
    else if (d < -2047) d = -2047;
    let d2 = Math.floor(dot2 / 65536);
    if (d2 > 2047) d2 = 2047;
    else if (d2 < -2047) d2 = -2047;
    this.p1 = SQUASH[d + 2048] as number;
    this.p2 = SQUASH[d2 + 2048] as number;
    this.pMix = SQUASH[((d + d2) >> 1) + 2048] as number;
    const s = (STRETCH[this.pMix] as number) + 2048;
    this.apmIndex = this.c0 * 33 + (s >> 7);
    this.apmWeight = s & 127;
    const pApm = ((this.apm[this.apmIndex] as number) * (128 - this.apmWeight) + (this.apm[this.apmIndex + 1] as number) * this.apmWeight) >> 7;
    const p = (this.pMix * 16 + pApm) >> 1;
    return p < 1 ? 1 : p > 65535 ? 65535 : p;
  }

  update(bit: number): void {
    const { slot, counters, frozen, undoSlots, undoValues, scratchBase } = this;
    const target = bit ? 65535 : 0;
    let u = this.undoLength;
    for (let i = 0; i < COUNTERS; i++) {
      const s = slot[i] as number;
      const value = counters[s] as number;
      if (frozen && s < scratchBase) {
        undoSlots[u] = s;
        undoValues[u++] = value;
      }
      const p = value >>> 16;
      const n = value & 0xffff;
      counters[s] = ((p + (((target - p) * (RATE[n] as number)) >> 10)) << 16) | (n < COUNT_LIMIT ? n + 1 : n);
    }
    if (this.matchCounter >= 0) {
      const m = this.matchCounters[this.matchCounter] as number;
      this.matchCounters[this.matchCounter] = m + ((target - m) >> 6);
    }
    this.undoLength = u;
    const err = ((bit << 12) - this.p1) * MIXER_RATE;
    const err2 = ((bit << 12) - this.p2) * MIXER_RATE;
    const { weights, stretched, mixerBase, weights2, mixer2Base, apm, apmIndex, apmWeight } = this;
    for (let i = 0; i < INPUTS; i++) {
      const x = stretched[i] as number;
      weights[mixerBase + i] = (weights[mixerBase + i] as number) + ((x * err) >> 16);
      weights2[mixer2Base + i] = (weights2[mixer2Base + i] as number) + ((x * err2) >> 16);
    }
    const a0 = apm[apmIndex] as number;
    const a1 = apm[apmIndex + 1] as number;
    apm[apmIndex] = a0 + ((((target - a0) >> APM_RATE) * (128 - apmWeight)) >> 7);
    apm[apmIndex + 1] = a1 + ((((target - a1) >> APM_RATE) * apmWeight) >> 7);
    this.c0 = (this.c0 << 1) | bit;
    this.bitPosition++;
    if (this.bitPosition === 8) {
      const byte = this.c0 & 0xff;
      this.c0 = 1;
      this.bitPosition = 0;
      this.appendHistory(byte);
      this.afterByte();
      return;
    }
    if (this.matchLength > 0 && ((this.predictedByte | 0x100) >> (8 - this.bitPosition)) !== this.c0) this.matchLength = 0;
    if (this.bitPosition === 4) this.computeNibbleBases();
    this.computeSlots();
  }

  private appendHistory(byte: number): void {
    if (this.historyLength === this.history.length) {
      const grown = new Uint8Array(this.history.length * 2);
      grown.set(this.history);
      this.history = grown;
    }
    this.history[this.historyLength++] = byte;
    this.c8 = (this.c8 << 8) | (this.c4 >>> 24);
    this.c4 = (this.c4 << 8) | byte;
    const isWordByte = (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39) || byte >= 0x80;
    this.word = isWordByte ? Math.imul(this.word ^ (byte | 0x20), 0x2f0b4c2d) + 0x3c6ef372 : 0;
    this.updateMatch(byte);
  }

  private updateMatch(byte: number): void {
    const { history, historyLength } = this;
    if (this.matchLength > 0 && this.matchPtr < historyLength - 1 && history[this.matchPtr] === byte) {
      this.matchLength++;
      this.matchPtr++;
    } else {
      this.matchLength = 0;
    }
    if (historyLength < MATCH_MIN) return;
    const h = (Math.imul(this.c4, 0x9e3779b1) ^ Math.imul(this.c8 & 0xffff, 0x85ebca6b)) >>> this.matchShift;
    if (this.matchLength === 0) {
      const candidate = this.matchTable[h] as number;
      if (candidate > 0) {
        let length = 0;
        while (length < 32 && candidate - 1 - length >= 0 && history[candidate - 1 - length] === history[historyLength - 1 - length]) length++;
        if (length >= MATCH_MIN) {
          this.matchLength = length;
          this.matchPtr = candidate;
        }
      }
    }
    if (this.frozen) this.log(-1 - h, this.matchTable[h] as number);
    this.matchTable[h] = historyLength;
  }

  private afterByte(): void {
    this.predictedByte = this.matchLength > 0 ? (this.history[this.matchPtr] as number) : 0;
    const c4 = this.c4;
    const h = this.contextHash;
    h[0] = Math.imul(c4 & 0xffff, 0x2c1b3c6d) + 0x01000193;
    h[1] = Math.imul(c4 & 0xffffff, 0x297a2d39) + 0x02000193;
    h[2] = Math.imul(c4, 0x1b873593) ^ 0x03000193;
    h[3] = Math.imul(this.word === 0 ? c4 & 0xff : this.word, 0x68e31da4) + 0x05000193;
    this.computeNibbleBases();
    this.computeSlots();
  }

  /**
   * Finds each hashed context's bucket of 16 slots for the coming nibble. Slot 0 holds a tag;
   * a context lives in one of two neighbouring buckets, and a new one takes the less used of the
   * two (reset to the initial state), so colliding contexts rarely share counters.
   */
  private computeNibbleBases(): void {
    const nibbleContext = this.bitPosition === 0 ? 0 : this.c0;
    const counters = this.counters;
    for (let i = 0; i < HASHED; i++) {
      const mixed = Math.imul((this.contextHash[i] as number) ^ Math.imul(nibbleContext + 1, 0x2545f491), 0x9e3779b1);
      const home = HASHED_BASE + (((mixed ^ (mixed >>> 15)) >>> this.hashShift) & ~15);
      const tag = (mixed & 0xffff) | 0x10000;
      if (counters[home] === tag) {
        this.nibbleBase[i] = home;
        continue;
      }
      const neighbour = home ^ 16;
      if (counters[neighbour] === tag) {
        this.nibbleBase[i] = neighbour;
        continue;
      }
      if (this.frozen) {
        this.nibbleBase[i] = this.scratchBucket(mixed, tag);
        continue;
      }
      const victim = ((counters[home + 1] as number) & 0xffff) <= ((counters[neighbour + 1] as number) & 0xffff) ? home : neighbour;
      counters[victim] = tag;
      for (let k = 1; k < 16; k++) counters[victim + k] = INITIAL_COUNTER;
      this.nibbleBase[i] = victim;
    }
  }

  /** A frozen model keeps contexts it never saw in scratch buckets, wiped after the record. */
  private scratchBucket(mixed: number, tag: number): number {
    const counters = this.counters;
    const bucket = this.scratchBase + ((Math.imul(mixed, 0x85ebca6b) >>> (32 - SCRATCH_BITS)) & ~15);
    if (counters[bucket] === tag) return bucket;
    if (counters[bucket] === INITIAL_COUNTER) {
      if (this.claimedScratchLength === this.claimedScratch.length) {
        const grown = new Int32Array(this.claimedScratch.length * 2);
        grown.set(this.claimedScratch);
        this.claimedScratch = grown;
      }
      this.claimedScratch[this.claimedScratchLength++] = bucket;
    } else {
      for (let k = 1; k < 16; k++) counters[bucket + k] = INITIAL_COUNTER;
    }
    counters[bucket] = tag;
    return bucket;
  }

  private computeSlots(): void {
    const c0 = this.c0;
    const bits = this.bitPosition;
    const partial = bits < 4 ? c0 : (c0 & ((1 << (bits - 4)) - 1)) | (1 << (bits - 4));
    const slot = this.slot;
    slot[0] = c0;
    slot[1] = O1_BASE + (((this.c4 & 0xff) << 8) | c0);
    for (let i = 0; i < HASHED; i++) slot[2 + i] = (this.nibbleBase[i] as number) + partial;
    const lengthBucket = this.matchLength === 0 ? 0 : this.matchLength < 16 ? 1 : this.matchLength < 32 ? 2 : 3;
    this.mixerBase = (lengthBucket * 256 + c0) * INPUTS;
    this.mixer2Base = ((this.c4 & 0xff) * 8 + bits) * INPUTS;
  }

  private log(slot: number, value: number): void {
    if (this.undoLength === this.undoSlots.length) {
      const slots = new Int32Array(this.undoSlots.length * 2);
      slots.set(this.undoSlots);
      this.undoSlots = slots;
      const values = new Int32Array(this.undoValues.length * 2);
      values.set(this.undoValues);
      this.undoValues = values;
    }
    this.undoSlots[this.undoLength] = slot;
    this.undoValues[this.undoLength++] = value;
  }
}
