import type { Asset, Codec } from "./codec.js";
import type { ContextModel } from "./cm/context-model.js";
import { preparedSnapshot } from "./cm/prepared-snapshot.js";
import { RangeDecoder, RangeEncoder } from "./range-coder.js";

/**
 * `cm`: a context model trained on the namespace's own memories drives the range coder. Each
 * record is coded from the frozen snapshot and adapts within itself, so records decode alone.
 */
export function createCmCodec(): Codec {
  const modelFor = (asset: Asset | undefined): ContextModel => preparedSnapshot(asset).model;
  return {
    name: "cm",
    id: 3,
    requires: "cm-snapshot",
    prepare: (asset) => void modelFor(asset),
    encode(original, asset) {
      const model = modelFor(asset);
      const encoder = new RangeEncoder(original.length);
      model.beginRecord(original.length);
      try {
        for (let i = 0; i < original.length; i++) {
          const byte = original[i] as number;
          for (let b = 7; b >= 0; b--) {
            const bit = (byte >> b) & 1;
            encoder.encodeBit(model.predict(), bit);
            model.update(bit);
          }
        }
      } finally {
        model.endRecord();
      }
      return encoder.finish();
    },
    decode(payload, originalLength, asset) {
      const model = modelFor(asset);
      const decoder = new RangeDecoder(payload);
      const out = new Uint8Array(originalLength);
      model.beginRecord(originalLength);
      try {
        for (let i = 0; i < originalLength; i++) {
          let byte = 0;
          for (let b = 0; b < 8; b++) {
            const bit = decoder.decodeBit(model.predict());
            model.update(bit);
            byte = (byte << 1) | bit;
          }
          out[i] = byte;
          if (decoder.overrun > 64) throw new RangeError("cm payload ends long before the text does");
        }
      } finally {
        model.endRecord();
      }
      return out;
    },
  };
}
