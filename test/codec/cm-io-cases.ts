/** Shared by the cm record I/O tests: dev records as bytes, a small frozen model, and the JavaScript coder's payload. */
import { ContextModel, type ModelVersion } from "../../src/codec/cm/context-model.js";
import { RangeEncoder } from "../../src/codec/range-coder.js";
import { devCorpus } from "../helpers.js";

const encoder = new TextEncoder();
export const devTexts: readonly Uint8Array[] = devCorpus().map((r) => encoder.encode(r.text));

/** A small model (tableBits 18, matchBits 16) trained on 150 dev records from `from` on, and frozen. */
export function smallModel(version: ModelVersion, from = 0): ContextModel {
  const model = new ContextModel({ tableBits: 18, matchBits: 16 }, version);
  for (const bytes of devTexts.slice(from, from + 150)) model.train(bytes);
  model.freeze();
  return model;
}

/** The payload of the JavaScript range coder's path (`encodeRecord` with a RangeEncoder), as the cm codec coded before the coder moved into the WebAssembly. */
export function jsPayload(model: ContextModel, bytes: Uint8Array): Buffer {
  const rc = new RangeEncoder(bytes.length);
  model.encodeRecord(bytes, rc);
  return Buffer.from(rc.finish());
}
