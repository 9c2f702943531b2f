import { MemzipError, ErrorCode } from "../errors.js";
import { checksum32 } from "./checksum.js";
import { assetRef, type Asset, type AssetKind, type Codec } from "./codec.js";
import { openEnvelope, sealEnvelope, type OpenedEnvelope } from "./envelope.js";

/**
 * Finds the asset an envelope references by the first bytes of its id: a version 1 envelope's 4-byte
 * reference names one asset; a version 2 envelope's 1-byte hint may match several, and the resolver
 * returns every asset it knows whose id starts with it (`matchingAssets`). The decoder tries those of
 * the kind its codec needs, in the order given, and returns the first decode that passes length and checksum.
 */
export type AssetResolver = (ref: Uint8Array) => Asset | readonly Asset[] | undefined;

/** Most candidates a version 2 hint may make the decoder try: each wrong one costs a decode of the payload (docs/FORMAT.md). */
export const MAX_HINT_CANDIDATES = 16;

/** Whether an asset's id starts with the reference bytes (a 4-byte reference or a 1-byte hint). */
export function refMatches(asset: Asset, ref: Uint8Array): boolean {
  return ref.length > 0 && asset.id.startsWith(Buffer.from(ref).toString("hex"));
}

/** The assets among `assets` whose id starts with `ref`, in the order given. */
export function matchingAssets(assets: Iterable<Asset>, ref: Uint8Array): Asset[] {
  const out: Asset[] = [];
  for (const asset of assets) if (refMatches(asset, ref)) out.push(asset);
  return out;
}

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
  return decodeCandidates(codec.name, envelopeAssets(codec, opened, resolveAsset), (asset) => checkDecodedBytes(codec.name, opened, decodePayload(codec, opened, asset)));
}

/**
 * Runs `decode` with each candidate asset in turn and returns the first result (a decode that passed
 * length and checksum); when every candidate fails, the first failure is thrown (with one candidate:
 * exactly its error, as a version 1 envelope always had).
 */
export function decodeCandidates<T>(codecName: string, candidates: readonly (Asset | undefined)[], decode: (asset: Asset | undefined) => T): T {
  let first: unknown;
  for (const asset of candidates) {
    try {
      return decode(asset);
    } catch (error) {
      first ??= error;
    }
  }
  throw candidateFailure(codecName, candidates, first);
}

/** As `decodeCandidates`, for an asynchronous decode (model codecs, the registry's dispatch). */
export async function decodeCandidatesAsync<T>(codecName: string, candidates: readonly (Asset | undefined)[], decode: (asset: Asset | undefined) => Promise<T>): Promise<T> {
  let first: unknown;
  for (const asset of candidates) {
    try {
      return await decode(asset);
    } catch (error) {
      first ??= error;
    }
  }
  throw candidateFailure(codecName, candidates, first);
}

function candidateFailure(codecName: string, candidates: readonly (Asset | undefined)[], first: unknown): unknown {
  if (candidates.length < 2 || !(first instanceof MemzipError) || first.code !== ErrorCode.CHECKSUM) return first;
  // Several assets share the hint and none rebuilds the text: the right one is missing, or the payload is damaged.
  const ids = candidates.map((asset) => asset?.id.slice(0, 16) ?? "none");
  return new MemzipError(ErrorCode.CHECKSUM, `the ${codecName} payload decoded with none of the ${candidates.length} assets its reference may name (${ids.join(", ")}…)`, {
    hint: "The asset the memory was written with is not in the store, or the payload is corrupted; restore the store from a backup (`memzip export --skip-bad` first saves every memory that still reads; an export holds texts, not assets).",
    cause: first,
    details: { codec: codecName, candidates: ids },
  });
}

/** The codec byte names no codec this build (or this engine's registry) knows. */
export function unknownCodec(codecId: number): MemzipError {
  return new MemzipError(ErrorCode.UNKNOWN_CODEC, `envelope was written by codec #${codecId}, which this build does not know`, {
    hint: "Upgrade memzip, or recode the memory with a build that knows the codec.",
    details: { codecId },
  });
}

/**
 * The assets an opened envelope may name, of the kind its codec needs: `[undefined]` when it names
 * none; one for a version 1 reference; for a version 2 hint, each matching asset of that kind (at most
 * MAX_HINT_CANDIDATES). Typed errors when none is there (E_MISSING_ASSET) or an asset is not allowed.
 */
export function envelopeAssets(codec: AssetNeeds, opened: OpenedEnvelope, resolveAsset: AssetResolver): (Asset | undefined)[] {
  const kind = codec.requires ?? codec.accepts;
  if (codec.requires && !opened.asset) throw new MemzipError(ErrorCode.FORMAT, `codec ${codec.name} needs an asset but the envelope names none`);
  if (!opened.asset) return [undefined];
  if (!kind) throw new MemzipError(ErrorCode.FORMAT, `codec ${codec.name} takes no asset but the envelope names one`);
  const found = resolveAsset(opened.asset);
  const wanted = opened.asset;
  const all = found === undefined ? [] : "id" in found ? [found as Asset] : (found as readonly Asset[]);
  const seen = new Set<string>();
  const candidates = all.filter((asset) => {
    if (asset.kind !== kind || seen.has(asset.id)) return false;
    seen.add(asset.id);
    return true;
  });
  if (candidates.length === 0) throw missingAsset(codec.name, kind, wanted);
  return candidates.slice(0, MAX_HINT_CANDIDATES);
}

/** The one asset an opened envelope names (its first candidate): for codecs that take exactly one (`llm`, whose references are 4 bytes). */
export function envelopeAsset(codec: AssetNeeds, opened: OpenedEnvelope, resolveAsset: AssetResolver): Asset | undefined {
  return envelopeAssets(codec, opened, resolveAsset)[0];
}

function missingAsset(codecName: string, kind: AssetKind, wanted: Uint8Array): MemzipError {
  const ref = Buffer.from(wanted).toString("hex");
  return new MemzipError(ErrorCode.MISSING_ASSET, `the ${kind} ${ref}… that this memory was written with is not in the store`, {
    hint: "Restore the store from a backup that holds the asset (`memzip export --skip-bad` first saves every memory that still reads; an export holds texts, not assets); a base model shipped with a newer memzip (docs/CM.md) needs that version.",
    details: { codec: codecName, assetRef: ref, kind },
  });
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
