import { MemzipError, ErrorCode } from "../errors.js";
import { checksum32 } from "./checksum.js";
import { assetRef, type Asset, type AssetKind, type Codec } from "./codec.js";
import { openEnvelope, sealEnvelope, type OpenedEnvelope } from "./envelope.js";

/** Finds the asset an envelope references by the first bytes of its id (`assetRef`). */
export type AssetResolver = (ref: Uint8Array) => Asset | undefined;

/** What a codec needs besides its payload: an asset it cannot work without (`requires`) or one it may take (`accepts`). */
export interface AssetNeeds {
  readonly name: string;
  readonly requires?: AssetKind;
  readonly accepts?: AssetKind;
}

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
  if (!codec) throw unknownCodec(opened.codecId);
  const asset = envelopeAsset(codec, opened, resolveAsset);
  return checkDecodedBytes(codec.name, opened, decodePayload(codec, opened, asset));
}

/** The codec byte names no codec this build (or this engine's registry) knows. */
export function unknownCodec(codecId: number): MemzipError {
  return new MemzipError(ErrorCode.UNKNOWN_CODEC, `envelope was written by codec #${codecId}, which this build does not know`, {
    hint: "Upgrade memzip, or recode the memory with a build that knows the codec.",
    details: { codecId },
  });
}

/** The asset an opened envelope names, checked against what its codec needs; typed errors when it is missing or not allowed. */
export function envelopeAsset(codec: AssetNeeds, opened: OpenedEnvelope, resolveAsset: AssetResolver): Asset | undefined {
  const kind = codec.requires ?? codec.accepts;
  if (codec.requires && !opened.asset) throw new MemzipError(ErrorCode.FORMAT, `codec ${codec.name} needs an asset but the envelope names none`);
  if (!opened.asset) return undefined;
  if (!kind) throw new MemzipError(ErrorCode.FORMAT, `codec ${codec.name} takes no asset but the envelope names one`);
  const asset = resolveAsset(opened.asset);
  if (!asset || asset.kind !== kind) {
    const ref = Buffer.from(opened.asset).toString("hex");
    throw new MemzipError(ErrorCode.MISSING_ASSET, `the ${kind} ${ref}… that this memory was written with is not in the store`, {
      hint: "Import the asset from the store that wrote the memory (memzip export keeps assets), then retry; a base model shipped with a newer memzip (docs/CM.md) needs that version.",
      details: { codec: codec.name, assetRef: ref, kind },
    });
  }
  return asset;
}

/** Runs a pure codec's decode; whatever it throws becomes `E_FORMAT` (a corrupted or truncated payload). */
export function decodePayload(codec: Codec, opened: OpenedEnvelope, asset: Asset | undefined): Uint8Array {
  try {
    return codec.decode(opened.payload, opened.originalLength, asset);
  } catch (cause) {
    throw new MemzipError(ErrorCode.FORMAT, `the ${codec.name} payload cannot be decoded (${(cause as Error).message})`, {
      hint: "The payload is corrupted or truncated; restore the memory from a backup or an export.",
      cause,
      details: { codec: codec.name },
    });
  }
}

/** Returns `decoded` when it has the length and checksum the envelope recorded; `E_CHECKSUM` otherwise. */
export function checkDecodedBytes(codecName: string, opened: OpenedEnvelope, decoded: Uint8Array): Uint8Array {
  if (decoded.length !== opened.originalLength || checksum32(decoded) !== opened.checksum) {
    throw new MemzipError(ErrorCode.CHECKSUM, `the ${codecName} payload decoded to bytes that fail the original's checksum`, {
      hint: "The payload or the asset it needs is corrupted or not the one it was written with; restore from a backup.",
      details: { codec: codecName, expectedLength: opened.originalLength, decodedLength: decoded.length },
    });
  }
  return decoded;
}
