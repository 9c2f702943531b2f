/**
 * `node dist/bench/cm-cost.js VERSION [MODE] [PASSES]`: a fixed workload for counting a model
 * version's coding instructions (docs/CM.md "Model version 6"), run under
 * `valgrind --tool=cachegrind --cache-sim=no node dist/bench/cm-cost.js 6 1` and again with MODE 0.
 * A default-size model trained on dev records 0–199 and frozen; MODE 1 (the default) then codes and
 * decodes records 1500–1649 PASSES times (default 2), each from the frozen state, checking every
 * decode; MODE 2 only encodes them; MODE 0 stops after the freeze. The difference of the two counts is the coding work alone.
 * Prints the payload bytes and bits/byte (the same on every run) so that a count is tied to its bits. Records are
 * coded as the cm codec codes them (`encodeRecordBytes` / `decodeRecordBytes`: version 6 with the range coder inside
 * the WebAssembly, older versions through the JavaScript one).
 */
import { ContextModel, CONTEXT_MODEL_DEFAULTS, isModelVersion } from "../src/codec/cm/context-model.js";
import { devTexts } from "./corpus.js";

const [versionArg, modeArg, passesArg] = process.argv.slice(2);
const version = Number(versionArg);
if (!isModelVersion(version)) throw new Error("usage: cm-cost.js VERSION [MODE 0|1|2] [PASSES]");
const mode = Number(modeArg ?? 1);
const passes = Number(passesArg ?? 2);
const encoder = new TextEncoder();
const texts = devTexts().map((text) => encoder.encode(text));
const model = new ContextModel(CONTEXT_MODEL_DEFAULTS, version);
for (const bytes of texts.slice(0, 200)) model.train(bytes);
model.freeze();
let payloadBytes = 0;
let originalBytes = 0;
if (mode === 1 || mode === 2) {
  for (let pass = 0; pass < passes; pass++) {
    for (const bytes of texts.slice(1500, 1650)) {
      const payload = model.encodeRecordBytes(bytes);
      payloadBytes += payload.length;
      originalBytes += bytes.length;
      if (mode === 2) continue;
      const decoded = model.decodeRecordBytes(bytes.length, payload);
      if (Buffer.compare(Buffer.from(decoded), Buffer.from(bytes)) !== 0) throw new Error("a record does not decode to itself");
    }
  }
}
console.log(JSON.stringify({ version, mode, passes, originalBytes, payloadBytes, bitsPerByte: originalBytes ? Number(((payloadBytes * 8) / originalBytes).toFixed(4)) : 0 }));
