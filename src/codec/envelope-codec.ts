import { MemzipError, ErrorCode } from "../errors.js";
import { checksum32 } from "./checksum.js";
import { assetRef, type Asset, type Codec } from "./codec.js";
import { openEnvelope, sealEnvelope } from "./envelope.js";

/** Finds the asset an envelope references by the first bytes of its id (`assetRef`). */
export type AssetResolver = (ref: Uint8Array) => Asset | undefined;

/** Encodes `original` with `codec` and wraps it in an envelope; `null` when the codec declines. */
export function encodeEnvelope(codec: Codec, original: Uint8Array, asset?: Asset): Uint8Array | null {
  const payload = codec.encode(original, asset);
  if (payload === null) return null;
  return sealEnvelope(codec.id, original, payload, asset ? { asset: assetRef(asset) } : {});
}

/**
 * Decodes an envelope back to the exact original bytes, or throws a typed error. A payload
 * that decodes to anything but the original (corruption, wrong asset) fails the checksum.
 */
export function decodeEnvelope(
  envelope: Uint8Array,
  codecs: ReadonlyMap<number, Codec>,
  resolveAsset: AssetResolver,
  maxOriginalLength: number,
): Uint8Array {
  const opened = openEnvelope(envelope, maxOriginalLength);
  const codec = codecs.get(opened.codecId);
  if (!codec) {
    throw new MemzipError(ErrorCode.UNKNOWN_CODEC, `envelope was written by codec #${opened.codecId}, which this build does not know`, {
      hint: "Upgrade memzip, or recode the memory with a build that knows the codec.",
      details: { codecId: opened.codecId },
    });
  }
  let asset: Asset | undefined;
  if (codec.requires) {
    if (!opened.asset) throw new MemzipError(ErrorCode.FORMAT, `codec ${codec.name} needs an asset but the envelope names none`);
    asset = resolveAsset(opened.asset);
    if (!asset || asset.kind !== codec.requires) {
      const ref = Buffer.from(opened.asset).toString("hex");
      throw new MemzipError(ErrorCode.MISSING_ASSET, `the ${codec.requires} ${ref}… that this memory was written with is not in the store`, {
        hint: "Import the asset from the store that wrote the memory (memzip export keeps assets), then retry.",
        details: { codec: codec.name, assetRef: ref, kind: codec.requires },
      });
    }
  } else if (opened.asset) {
    throw new MemzipError(ErrorCode.FORMAT, `codec ${codec.name} takes no asset but the envelope names one`);
  }
  let decoded: Uint8Array;
  try {
    decoded = codec.decode(opened.payload, opened.originalLength, asset);
  } catch (cause) {
    throw new MemzipError(ErrorCode.FORMAT, `the ${codec.name} payload cannot be decoded (${(cause as Error).message})`, {
      hint: "The payload is corrupted or truncated; restore the memory from a backup or an export.",
      cause,
      details: { codec: codec.name },
    });
  }
  if (decoded.length !== opened.originalLength || checksum32(decoded) !== opened.checksum) {
    throw new MemzipError(ErrorCode.CHECKSUM, `the ${codec.name} payload decoded to bytes that fail the original's checksum`, {
      hint: "The payload or the asset it needs is corrupted or not the one it was written with; restore from a backup.",
      details: { codec: codec.name, expectedLength: opened.originalLength, decodedLength: decoded.length },
    });
  }
  return decoded;
}
