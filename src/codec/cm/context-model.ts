import { SQUASH, STRETCH } from "./logistic.js";

/** Sizes that bound the model's memory; both ends of a stream must use the same values. */
export interface ContextModelParams {
  /** log2 of hashed counter slots (3 bytes each). */
  tableBits: number;
  /** log2 of the match model's hash slots (4 bytes each). */
  matchBits: number;
}

export const CONTEXT_MODEL_DEFAULTS = { tableBits: 22, matchBits: 20 } as const satisfies ContextModelParams;

// Inputs to the mixer: order 0 and 1 (direct tables), orders 2, 3, 4, 6 and a word context
// (hashed), the match model, and a bias.
const HASHED = 5;
const COUNTERS = 2 + HASHED;
const INPUTS = COUNTERS + 2;
const O1_BASE = 256;
const HASHED_BASE = 256 + 65536;
const MATCH_MIN = 6;
const MIXER_SETS = 256 * 4;
const MIXER_RATE = 10;
const COUNT_LIMIT = 255;
const APM_RATE = 7;
/** Undo entries one coded bit can add: every counter, two APM cells, and a match-table slot at byte ends. */
const UNDO_PER_BIT = COUNTERS + 3;

/** Adaptation rate per observation count, in 1/1024: about 2 / (2n + 3), never below 1/256. */
const RATE = new Int32Array(COUNT_LIMIT + 1);
for (let n = 0; n <= COUNT_LIMIT; n++) RATE[n] = Math.max(4, Math.floor(2048 / (2 * n + 3)));

/**
 * A bitwise context-mixing model over bytes (lpaq-like): adaptive counters in several contexts,
 * a match model over everything seen, logistic mixing with weights selected by the partial byte
 * and match length, and an APM stage. Integer arithmetic only, so encoder and decoder agree bit
 * for bit on every machine.
 *
 * Lifecycle: `train` on a namespace's texts, then `freeze`; afterwards each record is coded
 * from that frozen state (`beginRecord` … `endRecord`), adapting inside the record and rolled
 * back after it through an undo log, so records decode independently of each other.
 */
export class ContextModel {
  readonly params: ContextModelParams;
  /** Counter slots: probability of a 1 (16 bits) << 16 | observation count; one array so a lookup touches one cache line. */
  private readonly counters: Uint32Array;
  private readonly hashShift: number;
  private readonly slot = new Int32Array(COUNTERS);
  private readonly nibbleBase = new Int32Array(HASHED);
  private readonly contextHash = new Int32Array(HASHED);
  private readonly stretched = new Int32Array(INPUTS);
  private weights = new Int32Array(MIXER_SETS * INPUTS).fill(20000);
  private mixerBase = 0;
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
  private pristineMatchCounters = new Uint16Array(0);
  private frozenHistoryLength = 0;
  private undoSlots = new Int32Array(1 << 16);
  private undoValues = new Int32Array(1 << 16);
  private undoLength = 0;

  constructor(params: ContextModelParams = CONTEXT_MODEL_DEFAULTS) {
    this.params = params;
    const slots = HASHED_BASE + 2 ** params.tableBits;
    this.counters = new Uint32Array(slots).fill(32768 << 16);
    this.hashShift = 32 - params.tableBits;
    this.matchTable = new Int32Array(2 ** params.matchBits);
    this.matchShift = 32 - params.matchBits;
    this.history = new Uint8Array(1 << 16);
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
    this.pristineMatchCounters = this.matchCounters.slice();
    this.frozenHistoryLength = this.historyLength;
  }

  /** Resets the byte context to the record boundary, with room to undo a record of `length` bytes. */
  beginRecord(length = 0): void {
    const needed = (length + 1) * 8 * UNDO_PER_BIT + 64;
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
    const { undoSlots, undoValues, counters, apm, matchTable } = this;
    for (let i = this.undoLength - 1; i >= 0; i--) {
      const slot = undoSlots[i] as number;
      const value = undoValues[i] as number;
      if (slot >= 0) {
        counters[slot] = value;
      } else if (slot >= -(1 << 30)) {
        apm[-1 - slot] = value;
      } else {
        matchTable[slot + (1 << 30) + matchTable.length] = value;
      }
    }
    this.undoLength = 0;
    this.weights.set(this.pristineWeights);
    this.matchCounters.set(this.pristineMatchCounters);
    this.historyLength = this.frozenHistoryLength;
  }

  /** P(next bit = 1) in 1..65535 out of 65536. */
  predict(): number {
    const { slot, stretched, counters } = this;
    for (let i = 0; i < COUNTERS; i++) stretched[i] = STRETCH[(counters[slot[i] as number] as number) >>> 20] as number;
    if (this.matchLength > 0) {
      const expected = (this.predictedByte >> (7 - this.bitPosition)) & 1;
      this.matchCounter = Math.min(this.matchLength, 31) * 2 + expected;
      stretched[COUNTERS] = STRETCH[(this.matchCounters[this.matchCounter] as number) >>> 4] as number;
    } else {
      this.matchCounter = -1;
      stretched[COUNTERS] = 0;
    }
    stretched[COUNTERS + 1] = 256;
    const { weights, mixerBase } = this;
    let dot = 0;
    for (let i = 0; i < INPUTS; i++) dot += (weights[mixerBase + i] as number) * (stretched[i] as number);
    let d = Math.floor(dot / 65536);
    if (d > 2047) d = 2047;
    else if (d < -2047) d = -2047;
    this.pMix = SQUASH[d + 2048] as number;
    const s = (STRETCH[this.pMix] as number) + 2048;
    this.apmIndex = this.c0 * 33 + (s >> 7);
    this.apmWeight = s & 127;
    const pApm = ((this.apm[this.apmIndex] as number) * (128 - this.apmWeight) + (this.apm[this.apmIndex + 1] as number) * this.apmWeight) >> 7;
    const p = (this.pMix * 16 + pApm * 3) >> 2;
    return p < 1 ? 1 : p > 65535 ? 65535 : p;
  }

  update(bit: number): void {
    const { slot, counters, frozen, undoSlots, undoValues } = this;
    const target = bit ? 65535 : 0;
    let u = this.undoLength;
    for (let i = 0; i < COUNTERS; i++) {
      const s = slot[i] as number;
      const value = counters[s] as number;
      if (frozen) {
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
    const err = ((bit << 12) - this.pMix) * MIXER_RATE;
    const { weights, stretched, mixerBase } = this;
    for (let i = 0; i < INPUTS; i++) weights[mixerBase + i] = (weights[mixerBase + i] as number) + (((stretched[i] as number) * err) >> 16);
    for (let k = 0; k < 2; k++) {
      const index = this.apmIndex + k;
      const a = this.apm[index] as number;
      if (frozen) {
        undoSlots[u] = -1 - index;
        undoValues[u++] = a;
      }
      const weight = k === 0 ? 128 - this.apmWeight : this.apmWeight;
      this.apm[index] = a + ((((target - a) >> APM_RATE) * weight) >> 7);
    }
    this.undoLength = u;
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
    if (this.frozen) this.log(h - this.matchTable.length - (1 << 30), this.matchTable[h] as number);
    this.matchTable[h] = historyLength;
  }

  private afterByte(): void {
    this.predictedByte = this.matchLength > 0 ? (this.history[this.matchPtr] as number) : 0;
    const c4 = this.c4;
    const h = this.contextHash;
    h[0] = Math.imul(c4 & 0xffff, 0x2c1b3c6d) + 0x01000193;
    h[1] = Math.imul(c4 & 0xffffff, 0x297a2d39) + 0x02000193;
    h[2] = Math.imul(c4, 0x1b873593) ^ 0x03000193;
    h[3] = Math.imul(c4 ^ Math.imul(this.c8 & 0xffff, 0x7feb352d), 0x846ca68b) + 0x04000193;
    h[4] = Math.imul(this.word === 0 ? c4 & 0xff : this.word, 0x68e31da4) + 0x05000193;
    this.computeNibbleBases();
    this.computeSlots();
  }

  private computeNibbleBases(): void {
    const nibbleContext = this.bitPosition === 0 ? 0 : this.c0;
    for (let i = 0; i < HASHED; i++) {
      const mixed = Math.imul((this.contextHash[i] as number) ^ Math.imul(nibbleContext + 1, 0x2545f491), 0x9e3779b1);
      this.nibbleBase[i] = HASHED_BASE + (((mixed ^ (mixed >>> 15)) >>> this.hashShift) & ~15);
    }
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
