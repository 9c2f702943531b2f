import type { Asset, Codec } from "./codec.js";
import type { ContextModel } from "./cm/context-model.js";
import { preparedSnapshot } from "./cm/prepared-snapshot.js";
import { CODEC_IDS } from "./ids.js";

/**
 * `cm`: a context model trained on the namespace's own memories drives the range coder. Each
 * record is coded from the frozen snapshot and adapts within itself, so records decode alone.
 */
export function createCmCodec(): Codec {
  const modelFor = (asset: Asset | undefined): ContextModel => preparedSnapshot(asset).model;
  return {
    name: "cm",
    id: CODEC_IDS.cm,
    requires: "cm-snapshot",
    prepare: (asset) => void modelFor(asset),
    isPrepared: (asset) => preparedSnapshot.peek(asset)?.modelLoaded === true,
    prepareSliced: (asset) => preparedSnapshot(asset).loadModelSliced(),
    holdPrepared: (asset) => preparedSnapshot.hold(asset),
    encode: (original, asset) => modelFor(asset).encodeRecordBytes(original),
    decode: (payload, originalLength, asset) => modelFor(asset).decodeRecordBytes(originalLength, payload),
  };
}
