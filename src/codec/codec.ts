/** Kinds of stored asset a codec can depend on. */
export type AssetKind = "zstd-dictionary" | "cm-snapshot" | "llm-prefix";

/** A content-addressed blob (dictionary, model snapshot) that payloads reference by id. */
export interface Asset {
  /** Hex sha256 of `bytes`. */
  readonly id: string;
  readonly kind: AssetKind;
  readonly bytes: Uint8Array;
}

/**
 * A lossless transform of UTF-8 bytes. The core is synchronous and pure: the same input and
 * asset always give the same payload. The envelope (checksum, references) is added around it.
 */
export interface Codec {
  readonly name: string;
  /** The byte that names this codec inside envelopes; never reused for another codec. */
  readonly id: number;
  /** The asset kind this codec cannot work without, if any. */
  readonly requires?: AssetKind;
  /** Loads what the asset needs (a model) ahead of the first call, so timings can tell the two apart. */
  prepare?(asset: Asset): void;
  /** Whether what `prepare` loads for the asset is loaded on this thread now (absent: nothing worth loading ahead). */
  isPrepared?(asset: Asset): boolean;
  /** `prepare` a part at a time, with turns of the event loop between (a model's load, ~0.1–0.3 s in one go). */
  prepareSliced?(asset: Asset): Promise<void>;
  /** Keeps what is prepared for the asset on this thread until the returned release is called (from `prepareSliced` to the decode). */
  holdPrepared?(asset: Asset): () => void;
  /** Returns the payload, or `null` when the codec declines this input. */
  encode(original: Uint8Array, asset?: Asset): Uint8Array | null;
  /** Rebuilds exactly `originalLength` bytes or throws. */
  decode(payload: Uint8Array, originalLength: number, asset?: Asset): Uint8Array;
}

/** Bytes of an asset id that envelopes carry. */
export const ASSET_REF_BYTES = 4;

/** The first bytes of an asset id, as stored in envelopes. */
export function assetRef(asset: Asset): Uint8Array {
  return Buffer.from(asset.id.slice(0, ASSET_REF_BYTES * 2), "hex");
}
