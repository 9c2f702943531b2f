import type { Codec } from "./codec.js";
import { CODEC_IDS } from "./ids.js";

/** Stores the bytes as they are: the right choice for texts too short for any model to pay off. */
export const rawCodec: Codec = {
  name: "raw",
  id: CODEC_IDS.raw,
  encode: (original) => original.slice(),
  decode(payload, originalLength) {
    if (payload.length !== originalLength) throw new RangeError(`raw payload is ${payload.length} bytes, expected ${originalLength}`);
    return payload.slice();
  },
};
