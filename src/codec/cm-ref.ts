import type { Codec } from "./codec.js";
import { preparedSnapshot } from "./cm/prepared-snapshot.js";
import { readVarint, varintLength, writeVarint } from "./envelope.js";
import { CODEC_IDS } from "./ids.js";

/**
 * `cm-ref`: a memory whose exact text is one the namespace's context-model snapshot learned from
 * is stored as its position there. The snapshot already pays for that text (coded by the model
 * as one stream), so the memory costs only its envelope. Declines any other text.
 */
export function createCmRefCodec(): Codec {
  return {
    name: "cm-ref",
    id: CODEC_IDS["cm-ref"],
    requires: "cm-snapshot",
    prepare: (asset) => void preparedSnapshot(asset),
    isPrepared: (asset) => preparedSnapshot.peek(asset) !== undefined,
    encode(original, asset) {
      const index = preparedSnapshot(asset).indexOf(original);
      if (index < 0) return null;
      const payload = new Uint8Array(varintLength(index));
      writeVarint(payload, 0, index);
      return payload;
    },
    decode(payload, originalLength, asset) {
      const [index, end] = readVarint(payload, 0);
      const sample = preparedSnapshot(asset).samples[index];
      if (end !== payload.length || !sample) throw new RangeError(`cm-ref payload names text #${index}, which the snapshot does not hold`);
      if (sample.length !== originalLength) throw new RangeError(`snapshot text #${index} is ${sample.length} bytes, expected ${originalLength}`);
      return sample.slice();
    },
  };
}
