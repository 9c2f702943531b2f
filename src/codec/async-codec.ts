import type { Asset, AssetKind, Codec } from "./codec.js";
import { checkDecodedBytes, decodeCandidatesAsync, decodePayload, encodeEnvelope, envelopeAssets, unknownCodec, type AssetResolver } from "./envelope-codec.js";
import { openEnvelope, type OpenedEnvelope } from "./envelope.js";
import { MemzipError, ErrorCode } from "../errors.js";

export interface EncodeOptions {
  /** The asset to write with (a dictionary, a snapshot, a model's priming text). */
  asset?: Asset;
  /**
   * Largest envelope worth returning, in bytes: the smallest proven envelope so far, less one.
   * A codec may stop early and return `null` once its output would exceed it (a model codec
   * should: a hopeless attempt then costs a fraction of a full pass); it may also ignore it.
   */
  budget: number;
  /** Stops the attempt (a per-memory deadline); the codec returns `null` or throws. */
  signal?: AbortSignal;
}

export interface DecodeOptions {
  /** The asset the envelope names, already resolved and of the kind the codec requires or accepts. */
  asset?: Asset;
  signal?: AbortSignal;
}

/**
 * A codec as the write policy and the reader see it: asynchronous, working on whole envelopes
 * (a model codec puts its model and engine references in the header). The pure synchronous
 * codecs are lifted into it by `liftCodec`; a model codec (`llm`) implements it directly.
 */
export interface AsyncCodec {
  readonly name: string;
  /** The byte that names this codec inside envelopes (`CODEC_IDS` for the built-in ones). */
  readonly id: number;
  /** The asset kind this codec cannot work without, if any. */
  readonly requires?: AssetKind;
  /** An asset kind this codec may write with but does not need (a model codec's priming text). */
  readonly accepts?: AssetKind;
  /**
   * An asset kind this codec writes with that its envelopes do not name (its engine record does:
   * `llm-mix`'s `cm` snapshot). The candidate's asset is recorded with the row as any other, so the
   * store keeps it while the memory needs it.
   */
  readonly engineAsset?: AssetKind;
  /**
   * A model codec: slow enough that each attempt runs under the per-memory deadline
   * (`itemTimeoutMs`) and counts as a model attempt in the engine's metrics.
   */
  readonly model?: boolean;
  /** The pure synchronous core this codec lifts, if it is one: worker threads can run that. */
  readonly sync?: Codec;
  /**
   * Everything besides the input and the asset that fixes this codec's output (a model's
   * fingerprint and coding settings); caches of chosen envelopes key on it.
   */
  readonly setup?: string;
  /**
   * Bytes by which the codec's own budget check may overestimate its output (an estimated
   * header, an unflushed coder). Against an envelope of the same codec the policy adds them to
   * the budget, so that the real lengths decide.
   */
  readonly budgetSlack?: number;
  /** The sealed envelope, or `null` when the codec declines the input or its output exceeds `budget`. */
  encode(original: Uint8Array, options: EncodeOptions): Promise<Uint8Array | null>;
  /** Rebuilds the exact original bytes of an envelope this codec wrote, or throws (a `MemzipError` that says why). */
  decode(envelope: OpenedEnvelope, options: DecodeOptions): Promise<Uint8Array>;
  /** Whether this codec itself already decoded `envelope` back to its input (a model worker does, before it replies). */
  proven?(envelope: Uint8Array): boolean;
}

/** Lifts a pure synchronous codec into the async interface; its envelopes are byte-identical. */
export function liftCodec(codec: Codec): AsyncCodec {
  return {
    name: codec.name,
    id: codec.id,
    ...(codec.requires ? { requires: codec.requires } : {}),
    sync: codec,
    // async: a throwing core rejects the promise instead of throwing at the call.
    encode: async (original, options) => encodeEnvelope(codec, original, options.asset),
    decode: async (opened, options) => decodePayload(codec, opened, options.asset),
  };
}

/** Finds a codec by its envelope id: a `CodecRegistry`, or any map. */
export interface CodecLookup {
  get(id: number): AsyncCodec | undefined;
}

/**
 * Decodes an envelope with whichever codec its header names, or throws a typed error: unknown
 * codec, missing asset, a payload that does not decode, bytes that fail the checksum.
 */
export async function decodeWith(codecs: CodecLookup, envelope: Uint8Array, resolveAsset: AssetResolver, maxOriginalLength: number, signal?: AbortSignal): Promise<Uint8Array> {
  const opened = openEnvelope(envelope, maxOriginalLength);
  const codec = codecs.get(opened.codecId);
  if (!codec) throw unknownCodec(opened.codecId);
  // A version 2 hint may name several assets of the kind: each is tried until one rebuilds the text.
  return decodeCandidatesAsync(codec.name, envelopeAssets(codec, opened, resolveAsset), async (asset) => {
    let decoded: Uint8Array;
    try {
      decoded = await codec.decode(opened, { ...(asset ? { asset } : {}), ...(signal ? { signal } : {}) });
    } catch (cause) {
      if (cause instanceof MemzipError) throw cause;
      throw new MemzipError(ErrorCode.FORMAT, `the ${codec.name} payload cannot be decoded (${(cause as Error).message})`, {
        hint: "The payload is corrupted or truncated; restore the memory from a backup or an export.",
        cause,
        details: { codec: codec.name },
      });
    }
    return checkDecodedBytes(codec.name, opened, decoded);
  });
}
