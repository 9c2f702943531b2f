import type { Asset, Codec } from "./codec.js";
import { encodeEnvelope } from "./envelope-codec.js";
import { rawCodec } from "./raw.js";

/** A codec the policy may try, with the asset it would write with. */
export interface Candidate {
  codec: Codec;
  asset?: Asset;
}

export interface Choice {
  codec: Codec;
  asset: Asset | undefined;
  envelope: Uint8Array;
  /** Candidates that failed to encode, or whose smaller envelope did not decode back exactly, and were passed over. */
  verifyFailures: string[];
}

/** Decodes an envelope back to bytes (or throws); the policy uses it to prove each choice. */
export type EnvelopeDecoder = (envelope: Uint8Array) => Uint8Array;

/**
 * Keeps the smallest envelope that provably decodes back to `original`. Below `rawBelow` bytes
 * only `raw` is tried. `raw` is always the last resort, so a choice always exists.
 */
export function chooseSmallestVerified(
  original: Uint8Array,
  candidates: readonly Candidate[],
  decode: EnvelopeDecoder,
  rawBelow: number,
): Choice {
  const tried: { candidate: Candidate; envelope: Uint8Array }[] = [];
  const pool = original.length < rawBelow ? [] : candidates;
  const verifyFailures: string[] = [];
  for (const candidate of [...pool, { codec: rawCodec }]) {
    try {
      const envelope = encodeEnvelope(candidate.codec, original, candidate.asset);
      if (envelope) tried.push({ candidate, envelope });
    } catch {
      // A codec that cannot encode (a broken asset, say) is passed over like one that cannot prove its output.
      verifyFailures.push(candidate.codec.name);
    }
  }
  // Stable sort: on equal sizes the earlier candidate wins, raw (last) only when nothing beats it.
  tried.sort((a, b) => a.envelope.length - b.envelope.length);
  for (const { candidate, envelope } of tried) {
    if (decodesTo(decode, envelope, original)) {
      return { codec: candidate.codec, asset: candidate.asset, envelope, verifyFailures };
    }
    verifyFailures.push(candidate.codec.name);
  }
  throw new Error("unreachable: the raw envelope always decodes");
}

function decodesTo(decode: EnvelopeDecoder, envelope: Uint8Array, original: Uint8Array): boolean {
  try {
    return Buffer.from(decode(envelope)).equals(original);
  } catch {
    return false;
  }
}
