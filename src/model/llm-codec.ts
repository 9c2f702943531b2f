import type { AsyncCodec } from "../codec/async-codec.js";
import type { Asset } from "../codec/codec.js";
import type { CodecCandidate } from "../codec/policy.js";
import { isBaseAsset } from "../codec/cm/base.js";
import { CODEC_IDS } from "../codec/ids.js";
import { decodeStoredText } from "../codec/text.js";
import type { RegisteredModel } from "../core/store.js";
import { MemzipError, ErrorCode } from "../errors.js";
import type { LlmCoder } from "./llm-coder.js";

/** Bytes by which the coder's budget check may overestimate an envelope (the header is estimated, the coder's tail not yet flushed). */
export const LLM_BUDGET_SLACK = 8;

/** What the `llm` codec needs of `LlmCoder`: its public encode and decode, and the options that fix its output. */
export type LlmCodecBackend = Pick<LlmCoder, "encode" | "decode" | "options">;

/**
 * The `llm` codec inside the codec abstraction: `LlmCoder` writing with `model` (any registered
 * model when reading: an envelope names its own). Its asset is a priming text or a memory's
 * summary (`llm-prefix`), optional. Without a model it declines every write.
 */
export function createLlmCodec(coder: LlmCodecBackend, model?: RegisteredModel): AsyncCodec {
  const proven = new WeakSet<Uint8Array>();
  return {
    name: "llm",
    id: CODEC_IDS.llm,
    accepts: "llm-prefix",
    model: true,
    setup: model ? `${model.fingerprint.slice(0, 16)}:${JSON.stringify(coder.options)}` : "",
    budgetSlack: LLM_BUDGET_SLACK,
    async encode(original, { asset, budget, signal }) {
      if (!model) return null;
      const encoded = await coder.encode(decodeStoredText(original), original, model, budget, asset, signal);
      if (!encoded) return null;
      // A model worker decodes its envelope again before it replies: that proof stands.
      if (encoded.verified === true) proven.add(encoded.envelope);
      return encoded.envelope;
    },
    proven: (envelope) => proven.has(envelope),
    async decode(opened, { asset }) {
      if (opened.codecId !== CODEC_IDS.llm) throw new MemzipError(ErrorCode.FORMAT, `the llm codec cannot read an envelope of codec #${opened.codecId}`);
      return coder.decode(opened, () => asset);
    },
  };
}

/** The `llm` attempts of one write: `model` with each priming in turn (none, the namespace's text, a memory's summary); none without a model. */
export function llmAttempts(coder: LlmCodecBackend, model: RegisteredModel | undefined, prefixes: readonly (Asset | undefined)[]): CodecCandidate[] {
  if (!model) return [];
  const codec = createLlmCodec(coder, model);
  return prefixes.map((asset) => (asset ? { codec, asset } : { codec }));
}

/** What the `llm-mix` codec needs of `LlmCoder`. */
export type LlmMixBackend = Pick<LlmCoder, "encodeMixed" | "decodeMixed" | "options">;

/**
 * `llm-mix` (docs/LLM.md "Mixing with `cm`"): the model and the namespace's `cm` snapshot mixed bit
 * by bit. Its envelope names one engine record, which names the model, the snapshot, the window and
 * the tuning; the write's asset (the snapshot) is recorded with the row (`engineAsset`), not in the
 * envelope. Without a model it declines every write; it reads with any registered model.
 */
export function createLlmMixCodec(coder: LlmMixBackend, model?: RegisteredModel): AsyncCodec {
  return {
    name: "llm-mix",
    id: CODEC_IDS["llm-mix"],
    engineAsset: "cm-snapshot",
    model: true,
    setup: model ? `${model.fingerprint.slice(0, 16)}:mix:${JSON.stringify(coder.options)}` : "",
    budgetSlack: LLM_BUDGET_SLACK,
    async encode(original, { asset, budget, signal }) {
      if (!model || asset?.kind !== "cm-snapshot") return null;
      const encoded = await coder.encodeMixed(decodeStoredText(original), original, model, asset, budget, signal);
      return encoded ? encoded.envelope : null;
    },
    async decode(opened) {
      if (opened.codecId !== CODEC_IDS["llm-mix"]) throw new MemzipError(ErrorCode.FORMAT, `the llm-mix codec cannot read an envelope of codec #${opened.codecId}`);
      return coder.decodeMixed(opened);
    },
  };
}

/**
 * The model attempts of one write. The policy's (`forced` undefined): with `llm.mix` on and a `cm`
 * snapshot of the namespace's own, `llm-mix` with it (in place of `llm`: the mix has the model's
 * predictions and `cm`'s); else the `llm` attempts (`llmAttempts`). A forced `llm-mix`: the mix with
 * `snapshot` (the writer's choice: the namespace's own, else the shipped base); a forced `llm`: its
 * attempts; any other forced codec: none (forcing one codec leaves the model out).
 */
export function modelAttempts(
  coder: LlmCodecBackend & LlmMixBackend,
  model: RegisteredModel | undefined,
  prefixes: readonly (Asset | undefined)[],
  snapshot: Asset | undefined,
  forced?: string,
): CodecCandidate[] {
  if (!model) return [];
  const mix = snapshot?.kind === "cm-snapshot" ? [{ codec: createLlmMixCodec(coder, model), asset: snapshot }] : [];
  if (forced === "llm-mix") return mix;
  if (forced !== undefined && forced !== "llm") return [];
  if (forced === undefined && coder.options.mix && mix.length > 0) return mix;
  return llmAttempts(coder, model, prefixes);
}

/** The asset the skip rule keys a write's model attempts by: the mixed attempt's snapshot, else the namespace's priming prefix. */
export function attemptsKeyAsset(models: readonly CodecCandidate[], prefix: Asset | undefined): Asset | undefined {
  return models[0]?.codec.engineAsset ? models[0].asset : prefix;
}

/** Whether a stored memory's codec is a model's (`llm`, `llm-mix`): its wins are the model's, and it is never grouped. */
export function isModelCodecName(codec: string): boolean {
  return codec === "llm" || codec === "llm-mix";
}

/** The namespace's own `cm` snapshot among a write's candidates (not a shipped base): what `llm-mix` mixes with. */
export function ownSnapshot(candidates: readonly CodecCandidate[]): Asset | undefined {
  return candidates.find((c) => c.codec.name === "cm" && c.asset?.kind === "cm-snapshot" && !isBaseAsset(c.asset))?.asset;
}
