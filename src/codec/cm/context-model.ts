import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { RangeDecoder, RangeEncoder } from "../range-coder.js";

/** Sizes that bound the model's memory; both ends of a stream must use the same values. */
export interface ContextModelParams {
  /** log2 of hashed counter slots (4 bytes each: 23 → 32 MiB). */
  tableBits: number;
  /** log2 of the match model's hash slots (4 bytes each). */
  matchBits: number;
}

export const CONTEXT_MODEL_DEFAULTS = { tableBits: 23, matchBits: 20 } as const satisfies ContextModelParams;

/** The model's exports; the algorithm lives in asm/context-model.ts (AssemblyScript). */
interface ModelExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  saveState(): number;
  loadState(at: number): void;
  init(tableBits: number, matchBits: number): void;
  freeze(): void;
  beginRecord(length: number): void;
  endTrainingRecord(): void;
  endRecord(): number;
  predict(): number;
  update(bit: number): void;
  /** Model version 3 on: one call per byte when the byte is known, one per bit when decoding. */
  codeByte?(byte: number): number;
  step?(bit: number): number;
  /** Model version 6 on: the range coder inside the WebAssembly, a whole record per call (asm/context-model.ts). */
  recordIO?(inBytes: number, outBytes: number): number;
  recordOutput?(): number;
  encodeRecordIO?(length: number): number;
  decodeRecordIO?(length: number, payloadLength: number): number;
}

/** Per-bit access to one record of a frozen model (`ContextModel.openRecord`). */
export interface RecordBits {
  /** P(next bit = 1) in 1..65535 out of 65536. */
  predict(): number;
  /** Learns the bit that followed the last `predict`. */
  update(bit: number): void;
  /** Rolls the model back to its frozen state; the record cannot be used afterwards. */
  close(): void;
}

/** Zero bytes a decoder may read past the end of a stream before it is called corrupt (the encoder trims trailing zeros). */
const MAX_OVERRUN = 64;
const OVERRUN_MESSAGE = "the coded stream ends long before the text does";
/**
 * The longest record a model codes: the history that holds the record doubles its capacity in 32-bit arithmetic
 * (asm/context-model.ts, ensureHistory), and a length past 2^31 would reach the WebAssembly as a negative number.
 */
export const MAX_RECORD_BYTES = 2 ** 29;
/**
 * Payload bytes a decoder of a `length`-byte record can read: 6 to start, then at most two a bit (every probability is
 * clamped to 1..65535 of 65536, so a bit narrows the range by at most 2^16), with room to spare. Bytes past it are never
 * read, so they are not copied into the model's memory (which never shrinks).
 */
const readableBytes = (length: number): number => 6 + 16 * length + 16;

/** Throws a RangeError unless `length` is a record length a model can code. */
function checkRecordLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_RECORD_BYTES) {
    throw new RangeError(`a cm record is 0 to ${MAX_RECORD_BYTES} bytes long, not ${length}`);
  }
}

/**
 * Model versions and the WebAssembly each runs. A snapshot names its model version, so envelopes
 * coded with an older model keep decoding with that model's frozen code (asm/context-model-v2.ts, -v3.ts, -v4.ts, -v5.ts, -v6.ts, -v7.ts).
 */
export const MODEL_FILES = { 2: "context-model-v2.wasm", 3: "context-model-v3.wasm", 4: "context-model-v4.wasm", 5: "context-model-v5.wasm", 6: "context-model-v6.wasm", 7: "context-model-v7.wasm", 8: "context-model.wasm" } as const;
export type ModelVersion = keyof typeof MODEL_FILES;
/** The model new snapshots are trained with. */
export const CURRENT_MODEL_VERSION: ModelVersion = 8;

export function isModelVersion(value: number): value is ModelVersion {
  return Object.hasOwn(MODEL_FILES, value);
}

let learnedBytes = 0;

/** Bytes of text this thread's models learned from (trained on, or decoded from a snapshot): tests check which thread trains. */
export function bytesLearned(): number {
  return learnedBytes;
}

const compiled = new Map<ModelVersion, { module: WebAssembly.Module; hash: Uint8Array }>();

function wasmModule(version: ModelVersion): { module: WebAssembly.Module; hash: Uint8Array } {
  let entry = compiled.get(version);
  if (!entry) {
    const bytes = readFileSync(new URL(`../../../asm/${MODEL_FILES[version]}`, import.meta.url));
    entry = { module: new WebAssembly.Module(bytes), hash: createHash("sha256").update(bytes).digest() };
    compiled.set(version, entry);
  }
  return entry;
}

/** sha256 of a model version's WebAssembly: a saved model state is valid only for the exact code that wrote it. */
export function modelCodeHash(version: ModelVersion): Uint8Array {
  return wasmModule(version).hash;
}

/** A model's whole state: its linear memory and where in it the globals were saved. */
export interface ModelState {
  /** A view of the model's memory, valid until the model codes again. */
  memory: Uint8Array;
  stateAt: number;
}

/**
 * A bitwise context-mixing model over bytes (lpaq-like), compiled to WebAssembly from
 * asm/context-model.ts: integer arithmetic only, so encoder and decoder agree bit for bit on
 * every machine. Each model owns one WebAssembly instance and its memory (about 45 MiB at the
 * defaults with a few MiB of training text).
 *
 * Lifecycle: `train` on a namespace's texts, then `freeze`; afterwards each record is coded
 * from that frozen state (`beginRecord` … `endRecord`), adapting inside the record and rolled
 * back after it, so records decode independently of each other.
 */
export class ContextModel {
  readonly params: ContextModelParams;
  readonly version: ModelVersion;
  private model: ModelExports;
  private frozen = false;
  /** What the model learned from, kept to rebuild the frozen state after a record too long to roll back. */
  private readonly trainedOn: Uint8Array[] = [];

  constructor(params: ContextModelParams = CONTEXT_MODEL_DEFAULTS, version: ModelVersion = CURRENT_MODEL_VERSION, restored?: { model: ModelExports; trainedOn: readonly Uint8Array[] }) {
    this.params = params;
    this.version = version;
    if (restored) {
      this.model = restored.model;
      this.trainedOn.push(...restored.trainedOn);
      this.frozen = true;
    } else {
      this.model = ContextModel.instantiate(params, version);
    }
  }

  /**
   * A frozen model rebuilt from a saved state instead of by training: `fill` writes the saved
   * memory (`byteLength` bytes) into the view it is given and says whether it checks out.
   * `trainedOn` are the texts the state learned from. Returns undefined when the state is unusable.
   */
  static fromState(params: ContextModelParams, version: ModelVersion, trainedOn: readonly Uint8Array[], byteLength: number, stateAt: number, fill: (memory: Uint8Array) => boolean): ContextModel | undefined {
    const model = ContextModel.restoring(version, byteLength, stateAt);
    if (!model || !fill(new Uint8Array(model.memory.buffer, 0, byteLength))) return undefined;
    model.loadState(stateAt);
    return new ContextModel(params, version, { model, trainedOn });
  }

  /** `fromState` with a `fill` that may take turns of the event loop between parts of its work (the memory is no one else's meanwhile). */
  static async fromStateAsync(params: ContextModelParams, version: ModelVersion, trainedOn: readonly Uint8Array[], byteLength: number, stateAt: number, fill: (memory: Uint8Array) => Promise<boolean>): Promise<ContextModel | undefined> {
    const model = ContextModel.restoring(version, byteLength, stateAt);
    if (!model || !(await fill(new Uint8Array(model.memory.buffer, 0, byteLength)))) return undefined;
    model.loadState(stateAt);
    return new ContextModel(params, version, { model, trainedOn });
  }

  /** A new instance whose memory is grown to `byteLength` for a saved state to be written into, or undefined when the sizes cannot be. */
  private static restoring(version: ModelVersion, byteLength: number, stateAt: number): ModelExports | undefined {
    if (byteLength % 65536 !== 0 || stateAt < 0 || stateAt + 512 > byteLength) return undefined;
    const model = new WebAssembly.Instance(wasmModule(version).module, {}).exports as unknown as ModelExports;
    const pages = model.memory.buffer.byteLength / 65536;
    if (byteLength / 65536 < pages) return undefined;
    model.memory.grow(byteLength / 65536 - pages);
    return model;
  }

  /** The frozen model's state between records, for `fromState`. */
  saveState(): ModelState {
    if (!this.frozen) throw new Error("only a frozen model's state is saved");
    const stateAt = this.model.saveState();
    return { memory: new Uint8Array(this.model.memory.buffer), stateAt };
  }

  /** The texts the model learned from, in order. */
  get trainingTexts(): readonly Uint8Array[] {
    return this.trainedOn;
  }

  private static instantiate(params: ContextModelParams, version: ModelVersion): ModelExports {
    const model = new WebAssembly.Instance(wasmModule(version).module, {}).exports as unknown as ModelExports;
    model.init(params.tableBits, params.matchBits);
    return model;
  }

  /** Learns from one text as a record of its own (before `freeze`). */
  train(bytes: Uint8Array): void {
    this.trainEncoding(bytes);
  }

  /** Learns from one text and, given an encoder, codes it with the predictions made while learning. */
  trainEncoding(bytes: Uint8Array, encoder?: RangeEncoder): void {
    if (this.frozen) throw new Error("the model is frozen");
    checkRecordLength(bytes.length);
    this.trainedOn.push(bytes);
    learnedBytes += bytes.length;
    learn(this.model, bytes, encoder);
  }

  /** The inverse of `trainEncoding`: decodes a text of `length` bytes while learning from it. */
  trainDecoding(length: number, decoder: RangeDecoder): Uint8Array {
    checkRecordLength(length);
    if (this.frozen) throw new Error("the model is frozen");
    this.model.beginRecord(length);
    const bytes = decodeBytes(this.model, length, decoder);
    this.model.endTrainingRecord();
    this.trainedOn.push(bytes);
    learnedBytes += length;
    return bytes;
  }

  /**
   * Codes one record from the frozen state into its payload (what `encodeRecord` with a new RangeEncoder and its
   * `finish` give, byte for byte), then rolls the model back. Model versions 6 to 8 code the whole record inside the
   * WebAssembly; older versions go through the JavaScript range coder.
   */
  encodeRecordBytes(bytes: Uint8Array): Uint8Array {
    checkRecordLength(bytes.length);
    const model = this.model;
    if (!model.recordIO || !model.encodeRecordIO || !model.recordOutput) {
      const encoder = new RangeEncoder(bytes.length);
      this.encodeRecord(bytes, encoder);
      return encoder.finish();
    }
    model.beginRecord(bytes.length);
    try {
      // Room for a payload a little larger than the record (random bytes); the encoder grows it when needed.
      const at = model.recordIO(bytes.length, bytes.length + (bytes.length >> 3) + 64);
      new Uint8Array(model.memory.buffer, at, bytes.length).set(bytes);
      const length = model.encodeRecordIO(bytes.length);
      return new Uint8Array(model.memory.buffer, model.recordOutput(), length).slice();
    } finally {
      this.endRecord();
    }
  }

  /**
   * Decodes one record of `length` bytes from its payload and the frozen state, then rolls the model back: the
   * inverse of `encodeRecordBytes`, the same bytes (or the same RangeError on a corrupt payload) as `decodeRecord`
   * with a RangeDecoder of the payload.
   */
  decodeRecordBytes(length: number, whole: Uint8Array): Uint8Array {
    checkRecordLength(length);
    const payload = whole.length > readableBytes(length) ? whole.subarray(0, readableBytes(length)) : whole;
    const model = this.model;
    if (!model.recordIO || !model.decodeRecordIO || !model.recordOutput) return this.decodeRecord(length, new RangeDecoder(payload));
    model.beginRecord(length);
    try {
      const at = model.recordIO(payload.length, length);
      new Uint8Array(model.memory.buffer, at, payload.length).set(payload);
      if (model.decodeRecordIO(length, payload.length) !== 0) throw new RangeError(OVERRUN_MESSAGE);
      return new Uint8Array(model.memory.buffer, model.recordOutput(), length).slice();
    } finally {
      this.endRecord();
    }
  }

  /** Codes one record from the frozen state with the JavaScript range coder, then rolls the model back to it. */
  encodeRecord(bytes: Uint8Array, encoder: RangeEncoder): void {
    checkRecordLength(bytes.length);
    this.model.beginRecord(bytes.length);
    try {
      encodeBytes(this.model, bytes, encoder);
    } finally {
      this.endRecord();
    }
  }

  /** Decodes one record of `length` bytes from the frozen state, then rolls the model back to it. */
  decodeRecord(length: number, decoder: RangeDecoder): Uint8Array {
    checkRecordLength(length);
    this.model.beginRecord(length);
    try {
      return decodeBytes(this.model, length, decoder);
    } finally {
      this.endRecord();
    }
  }

  /**
   * One record of `length` bytes from the frozen state, bit by bit, for a coder that mixes this
   * model's predictions with another's (src/codec/llm-mix.ts): `predict` before every bit, then
   * `update` with it, most significant bit of each byte first; `close` rolls the model back.
   */
  openRecord(length: number): RecordBits {
    checkRecordLength(length);
    if (!this.frozen) throw new Error("only a frozen model codes records");
    const model = this.model;
    model.beginRecord(length);
    let open = true;
    return {
      predict: () => model.predict(),
      update: (bit) => model.update(bit),
      close: () => {
        if (!open) return;
        open = false;
        this.endRecord();
      },
    };
  }

  /** Ends training: from now on every record starts from this state. */
  freeze(): void {
    this.frozen = true;
    this.model.freeze();
  }

  /** Rolls the frozen model back after a record, rebuilding it when the record was too long to log. */
  private endRecord(): void {
    if (this.model.endRecord() === 0) return;
    const model = ContextModel.instantiate(this.params, this.version);
    for (const bytes of this.trainedOn) learn(model, bytes);
    model.freeze();
    this.model = model;
  }
}

function learn(model: ModelExports, bytes: Uint8Array, encoder?: RangeEncoder): void {
  model.beginRecord(bytes.length);
  encodeBytes(model, bytes, encoder);
  model.endTrainingRecord();
}

/** Each bit, most significant first: predict, code, learn. Without an encoder it only learns. */
function encodeBytes(model: ModelExports, bytes: Uint8Array, encoder?: RangeEncoder): void {
  if (model.codeByte) {
    let view = new Int32Array(model.memory.buffer);
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i] as number;
      const at = model.codeByte(byte) >> 2;
      if (!encoder) continue;
      if (view.buffer !== model.memory.buffer) view = new Int32Array(model.memory.buffer);
      for (let b = 7; b >= 0; b--) encoder.encodeBit(view[at + 7 - b] as number, (byte >> b) & 1);
    }
    return;
  }
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const p = model.predict();
      encoder?.encodeBit(p, bit);
      model.update(bit);
    }
  }
}

function decodeBytes(model: ModelExports, length: number, decoder: RangeDecoder): Uint8Array {
  const bytes = new Uint8Array(length);
  const step = model.step;
  let p = step && length > 0 ? model.predict() : 0;
  for (let i = 0; i < length; i++) {
    let byte = 0;
    for (let b = 0; b < 8; b++) {
      let bit: number;
      if (step) {
        bit = decoder.decodeBit(p);
        if (i === length - 1 && b === 7) model.update(bit);
        else p = step(bit);
      } else {
        bit = decoder.decodeBit(model.predict());
        model.update(bit);
      }
      byte = (byte << 1) | bit;
    }
    bytes[i] = byte;
    if (decoder.overrun > MAX_OVERRUN) throw new RangeError(OVERRUN_MESSAGE);
  }
  return bytes;
}
