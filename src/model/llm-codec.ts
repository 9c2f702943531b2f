import type { AsyncCodec } from "../codec/async-codec.js";
import type { Asset } from "../codec/codec.js";
import type { CodecCandidate } from "../codec/policy.js";
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
