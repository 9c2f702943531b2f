/**
 * The `llm` coding steps on a loaded model, shared by the main thread and the model workers:
 * the coding settings, the engine record, encode (with its budget and deadline) and decode.
 */
import { createHash } from "node:crypto";
import { checksum32 } from "../codec/checksum.js";
import { assetRef, type Asset } from "../codec/codec.js";
import { ENVELOPE_VERSION, fixedHeaderBytes, REF_BYTES, sealEnvelope } from "../codec/envelope.js";
import { LLM_CODEC_ID, decodeTokens, encodeTokens, validateLlmSettings, type LlmCodingSettings } from "../codec/llm.js";
import type { ContextModel } from "../codec/cm/context-model.js";
import { CODEC_IDS } from "../codec/ids.js";
import { buildMixVocabulary, decodeMixed, encodeMixed, MIX_CODER_REVISION, MIX_TUNING, type MixTuning, type MixVocabulary } from "../codec/llm-mix.js";
import type { EngineRecord } from "../core/store.js";
import type { LlamaTokenModel } from "./llama.js";

/** Largest window chosen automatically: longer texts are cut into windows with a carried-over tail. */
const AUTO_WINDOW_LIMIT = 2048;

export interface LlmEncoding {
  envelope: Uint8Array;
  tokens: number;
  escapes: number;
  crossEntropyBits: number;
  tableBits: number;
  /** Set when the envelope was already decoded back to the exact bytes (by the worker that wrote it). */
  verified?: boolean;
}

const prefixCache = new WeakMap<LlamaTokenModel, Map<string, number[]>>();

/** The coding settings for a loaded model: window from the model's context unless configured. */
export function codingSettings(llama: LlamaTokenModel, options: { topK: number; windowTokens: number; carryTokens: number }, prefix?: Asset): LlmCodingSettings {
  const windowTokens = options.windowTokens || Math.min(AUTO_WINDOW_LIMIT, llama.trainContextSize || AUTO_WINDOW_LIMIT);
  const carryTokens = options.carryTokens || Math.floor(windowTokens / 4);
  const settings: LlmCodingSettings = {
    vocabularySize: llama.vocabularySize,
    bosToken: llama.bosToken,
    topK: Math.min(options.topK, llama.vocabularySize),
    windowTokens,
    carryTokens,
    prefix: prefix ? primingTokens(llama, prefix, windowTokens, carryTokens) : [],
  };
  validateLlmSettings(settings);
  return settings;
}

/**
 * A priming text's tokens, at most a quarter of the window (its end, which sits next to the
 * memory). Tokenizing is deterministic for a model, so the decoder rebuilds the same prefix.
 */
export function primingTokens(llama: LlamaTokenModel, prefix: Asset, windowTokens: number, carryTokens: number): number[] {
  const key = `${prefix.id}:${windowTokens}:${carryTokens}`;
  let tokens = prefixCache.get(llama)?.get(key);
  if (!tokens) {
    const all = llama.tokenizeLoose(Buffer.from(prefix.bytes).toString("utf8"));
    tokens = all.slice(Math.max(0, all.length - Math.min(Math.floor(windowTokens / 4), windowTokens - carryTokens - 2)));
    const cache = prefixCache.get(llama) ?? new Map<string, number[]>();
    cache.set(key, tokens);
    prefixCache.set(llama, cache);
  }
  return tokens;
}

/** The engine record for a loaded model and coding settings; its id is the sha256 of both. */
export function engineRecordFor(llama: LlamaTokenModel, settings: LlmCodingSettings): EngineRecord {
  const coding = { topK: settings.topK, windowTokens: settings.windowTokens, carryTokens: settings.carryTokens };
  const id = createHash("sha256").update(JSON.stringify({ runtime: llama.engine, settings: coding })).digest("hex");
  return { id, runtime: llama.engine, settings: coding, createdAt: Date.now() };
}

/** Encodes with a loaded model; `null` when the tokenizer cannot reproduce the text, the budget is exceeded or `signal` aborts. */
export async function encodeLoaded(
  llama: LlamaTokenModel,
  text: string,
  original: Uint8Array,
  refs: { modelFingerprint: string; engineId: string; prefix: Asset | undefined },
  settings: LlmCodingSettings,
  budgetBytes: number,
  signal?: AbortSignal,
): Promise<LlmEncoding | null> {
  const tokens = llama.tokenize(text);
  if (tokens === null || tokens.length > original.length + 1) return null;
  // Version 2 header: magic and flags, codec, length (at most 5), checksum, then 4-byte references (llm keeps them whole).
  const headerBytes = fixedHeaderBytes(ENVELOPE_VERSION, original.length) + (refs.prefix ? 3 : 2) * REF_BYTES;
  const result = await llama.withPredictor(settings.windowTokens, settings.topK, (predictor) =>
    encodeTokens(predictor, tokens, original.length + 1, settings, budgetBytes - headerBytes, signal),
  );
  if (typeof result === "string") return null;
  const envelopeRefs = { model: refOf(refs.modelFingerprint), engine: refOf(refs.engineId), ...(refs.prefix ? { asset: assetRef(refs.prefix) } : {}) };
  const envelope = sealEnvelope(LLM_CODEC_ID, original, result.payload, envelopeRefs);
  return { envelope, tokens: result.tokens, escapes: result.escapes, crossEntropyBits: result.crossEntropyBits, tableBits: result.tableBits };
}

/** Decodes a payload with a loaded model; the caller checks length and checksum. */
export async function decodeLoaded(llama: LlamaTokenModel, payload: Uint8Array, originalLength: number, settings: LlmCodingSettings): Promise<Uint8Array> {
  const tokens = await llama.withPredictor(settings.windowTokens, settings.topK, (predictor) => decodeTokens(predictor, payload, originalLength + 1, settings));
  return Buffer.from(llama.detokenize(tokens), "utf8");
}

/** Whether decoded bytes are the original (length and checksum as the envelope records them). */
export function matches(decoded: Uint8Array, originalLength: number, checksum: number): boolean {
  return decoded.length === originalLength && checksum32(decoded) === checksum;
}

export function refOf(hexId: string): Uint8Array {
  return Buffer.from(hexId.slice(0, REF_BYTES * 2), "hex");
}

const vocabularies = new WeakMap<LlamaTokenModel, MixVocabulary>();

/** The mixing coder's view of a loaded model's vocabulary (built once per model). */
export function mixVocabulary(llama: LlamaTokenModel): MixVocabulary {
  let vocabulary = vocabularies.get(llama);
  if (!vocabulary) {
    const { pieces, fallback } = llama.tokenPieces();
    vocabulary = buildMixVocabulary(pieces, fallback);
    vocabularies.set(llama, vocabulary);
  }
  return vocabulary;
}

/**
 * The engine record of `llm-mix` payloads: the runtime and window as `llm`'s, and the model, the
 * `cm` snapshot and the mixing coder's tuning named in full. Its id is the sha256 of all of them,
 * so one record stands for one namespace snapshot with one model on one runtime.
 */
export function mixEngineRecordFor(llama: LlamaTokenModel, settings: LlmCodingSettings, modelFingerprint: string, snapshotId: string, tuning: MixTuning = MIX_TUNING): EngineRecord {
  const coding = { topK: settings.topK, windowTokens: settings.windowTokens, carryTokens: settings.carryTokens, mix: { model: modelFingerprint, cm: snapshotId, tuning, coder: MIX_CODER_REVISION } };
  const id = createHash("sha256").update(JSON.stringify({ runtime: llama.engine, settings: coding })).digest("hex");
  return { id, runtime: llama.engine, settings: coding, createdAt: Date.now() };
}

/**
 * Encodes with a loaded model and `cm` mixed (`llm-mix`): an envelope naming only `engineId`;
 * `null` when the vocabulary cannot spell the text, the budget is exceeded or `signal` aborts.
 */
export async function encodeMixedLoaded(
  llama: LlamaTokenModel,
  text: string,
  original: Uint8Array,
  engineId: string,
  settings: LlmCodingSettings,
  tuning: MixTuning,
  cm: ContextModel,
  budgetBytes: number,
  signal?: AbortSignal,
): Promise<LlmEncoding | null> {
  const vocabulary = mixVocabulary(llama);
  const tokens = llama.tokenizeLoose(text);
  const headerBytes = fixedHeaderBytes(ENVELOPE_VERSION, original.length) + REF_BYTES;
  const bits = cm.openRecord(original.length);
  let result;
  try {
    result = await llama.withPredictor(settings.windowTokens, settings.topK, (predictor) =>
      encodeMixed(predictor, vocabulary, tokens, original, bits, settings, budgetBytes - headerBytes, signal, tuning),
    );
  } finally {
    bits.close();
  }
  if (!result) return null;
  const envelope = sealEnvelope(CODEC_IDS["llm-mix"], original, result.payload, { engine: refOf(engineId) });
  if (envelope.length > budgetBytes) return null;
  return { envelope, tokens: result.tokens, escapes: result.escapes, crossEntropyBits: result.modelBits, tableBits: result.modelBits };
}

/** Decodes an `llm-mix` payload with a loaded model and `cm`; the caller checks length and checksum. */
export async function decodeMixedLoaded(llama: LlamaTokenModel, payload: Uint8Array, originalLength: number, settings: LlmCodingSettings, tuning: MixTuning, cm: ContextModel): Promise<Uint8Array> {
  const bits = cm.openRecord(originalLength);
  try {
    return await llama.withPredictor(settings.windowTokens, settings.topK, (predictor) => decodeMixed(predictor, mixVocabulary(llama), payload, originalLength, bits, settings, tuning));
  } finally {
    bits.close();
  }
}
