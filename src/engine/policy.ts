import { xxh64 } from "@node-rs/xxhash";
import type { Cache } from "../cache/cache.js";
import type { Asset, AssetKind, Codec } from "../codec/codec.js";
import { openEnvelope } from "../codec/envelope.js";
import { LLM_CODEC_ID } from "../codec/llm.js";
import { chooseSmallestVerified, type Candidate, type Choice } from "../codec/policy.js";
import { rawCodec } from "../codec/raw.js";
import type { CodecName, createCodecs } from "../codec/registry.js";
import { decodeStoredText } from "../codec/text.js";
import type { ResolvedEngineOptions, WriteCodecName } from "../engine-options.js";
import { MemzipError, ErrorCode } from "../errors.js";
import type { LlmCoder } from "../model/llm-coder.js";
import type { RegisteredModel } from "../core/store.js";
import type { CodecPool } from "../pipeline/codec-pool.js";
import type { Metrics } from "../pipeline/metrics.js";
import { withTimeout } from "../pipeline/resilience.js";

/** Bytes of slack for an `llm` attempt that competes with another `llm` envelope (see `choose`). */
export const LLM_BUDGET_SLACK = 8;

/** The model `llm` writes with, and the primings to try (the namespace's text, a summary); the smallest proven envelope wins. */
export interface LlmCandidate {
  model: RegisteredModel;
  prefixes: readonly (Asset | undefined)[];
}

/** What the write policy picked for one memory. */
export interface WriteChoice {
  codec: string;
  asset: Asset | undefined;
  envelope: Uint8Array;
  verifyFailures: string[];
}

/** What the write policy needs from the engine; it never touches the store. */
export interface WritePolicyDeps {
  codecs: ReturnType<typeof createCodecs>;
  options: ResolvedEngineOptions;
  /** Proven envelopes by text and codec setup, so repeats skip the work. */
  cache: Cache;
  metrics: Metrics;
  /** Writes `llm` envelopes. */
  llm: LlmCoder;
  /** The worker pool for the classical codecs (started on first use). */
  pool: () => CodecPool;
  /** Decodes a classical envelope synchronously (its asset already known to the engine). */
  decodeClassical: (envelope: Uint8Array) => Uint8Array;
  /** Decodes any envelope (an `llm` one too). */
  decodeBytes: (envelope: Uint8Array) => Promise<Uint8Array>;
  /** The asset an envelope's reference names. */
  assetByRef: (ref: Uint8Array) => Promise<Asset | undefined>;
}

/**
 * The write policy: which codecs (with which assets) compete for a memory, and the smallest envelope
 * that decodes back to the exact bytes, classical codecs first and then the model.
 */
export class WritePolicy {
  constructor(private readonly deps: WritePolicyDeps) {}

  /** The asset kinds the candidates for a write need (resolve them, then call `candidates`). */
  requiredKinds(forced?: WriteCodecName): AssetKind[] {
    if (forced === "llm") return [];
    const names = forced ? [forced] : this.deps.options.codecs;
    const kinds = new Set<AssetKind>();
    for (const name of names) {
      const codec = this.deps.codecs.byName.get(name) as Codec;
      if (codec.requires) kinds.add(codec.requires);
    }
    return [...kinds];
  }

  /** The candidates for a write in a namespace, given the namespace's active assets by kind. */
  candidates(namespace: string, active: ReadonlyMap<AssetKind, Asset>, forced?: WriteCodecName): Candidate[] {
    if (forced === "llm") return [];
    const names = forced ? [forced] : this.deps.options.codecs;
    const candidates: Candidate[] = [];
    for (const name of names) {
      const codec = this.deps.codecs.byName.get(name) as Codec;
      if (!codec.requires) {
        candidates.push({ codec });
        continue;
      }
      const asset = active.get(codec.requires);
      if (asset) candidates.push({ codec, asset });
      else if (forced) {
        throw new MemzipError(ErrorCode.MISSING_ASSET, `codec ${name} needs a ${codec.requires} for namespace "${namespace}", and there is none`, {
          hint: codec.requires === "zstd-dictionary" ? "Run `memzip dict train` first." : "Run `memzip model train` first.",
        });
      }
    }
    return candidates;
  }

  /**
   * The policy's choice, remembered by content in the engine's cache: the same text with the same
   * candidates (codecs, their assets, the model) gets back the envelope that was proven for it before.
   * Classical candidates go first; `llm` then only has to beat the smallest of them, and gives up as
   * soon as its output is larger, so a model that cannot win costs a fraction of a full pass.
   */
  async choose(bytes: Uint8Array, candidates: readonly Candidate[], llm: LlmCandidate | undefined, forceLlm: boolean, usePool = false): Promise<WriteChoice> {
    const { options, metrics } = this.deps;
    const setup = candidates.map((c) => (c.asset ? `${c.codec.name}@${c.asset.id.slice(0, 16)}` : c.codec.name)).join(",");
    const llmSetup = llm
      ? `llm@${llm.model.fingerprint.slice(0, 16)}:${llm.prefixes.map((p) => p?.id.slice(0, 16) ?? "").join("+")}:${JSON.stringify(options.llm)}${forceLlm ? "!" : ""}`
      : "";
    const key = `envelope:${xxh64(bytes).toString(16)}:${bytes.length}:${setup}:${llmSetup}:${options.rawBelow}`;
    const cached = this.deps.cache.get(key);
    if (cached) {
      const header = openEnvelope(cached, options.maxTextBytes);
      const codec = header.codecId === LLM_CODEC_ID ? "llm" : (this.deps.codecs.byId.get(header.codecId) as Codec).name;
      return { codec, asset: header.asset ? await this.deps.assetByRef(header.asset) : undefined, envelope: cached.slice(), verifyFailures: [] };
    }
    const classical = usePool && bytes.length >= options.rawBelow ? await this.chooseOnPool(bytes, candidates) : chooseSmallestVerified(bytes, candidates, (envelope) => this.deps.decodeClassical(envelope), options.rawBelow);
    let choice: WriteChoice = { codec: classical.codec.name, asset: classical.asset, envelope: classical.envelope, verifyFailures: classical.verifyFailures };
    if (llm && bytes.length >= options.rawBelow) {
      for (const prefix of llm.prefixes) {
        // A later attempt must beat the best so far: the coder gives up once it cannot. Its budget check is
        // conservative by a few bytes (the header is estimated, the coder's tail not yet flushed), so an
        // attempt against another llm envelope gets that slack and the real lengths decide.
        const budget = choice.codec === "llm" ? choice.envelope.length + LLM_BUDGET_SLACK : forceLlm ? Infinity : classical.envelope.length - 1;
        metrics.add("llmAttempts");
        const encoded = await withTimeout(
          options.itemTimeoutMs,
          (signal) => this.deps.llm.encode(decodeStoredText(bytes), bytes, llm.model, budget, prefix, signal),
          "coding a memory with the model",
        ).catch((error: unknown) => {
          // A model that cannot be loaded is the user's to fix; anything else passes this memory to the next codec.
          if (error instanceof MemzipError && (error.code === ErrorCode.MISSING_MODEL || error.code === ErrorCode.DEPENDENCY)) throw error;
          if (error instanceof MemzipError && error.code === ErrorCode.TIMEOUT) metrics.add("llmTimeouts");
          else choice.verifyFailures = [...choice.verifyFailures, "llm"];
          return null;
        });
        if (encoded && ((forceLlm && choice.codec !== "llm") || encoded.envelope.length < choice.envelope.length)) {
          // Verify-on-write: only an envelope that decodes back to the exact bytes is stored (a model worker proves its own).
          const proven = encoded.verified === true || (await this.deps.decodeBytes(encoded.envelope).then((decoded) => Buffer.from(decoded).equals(bytes), () => false));
          if (proven) choice = { codec: "llm", asset: prefix, envelope: encoded.envelope, verifyFailures: choice.verifyFailures };
          else choice.verifyFailures = [...choice.verifyFailures, "llm"];
        }
      }
    }
    this.deps.cache.set(key, choice.envelope.slice());
    return choice;
  }

  /** The classical policy on a worker thread: same codecs, same verification, off the main thread. */
  async chooseOnPool(bytes: Uint8Array, candidates: readonly Candidate[]): Promise<Choice> {
    const picked = await this.deps.pool().choose(bytes, candidates.map(({ codec, asset }) => (asset ? { codec: codec.name, asset } : { codec: codec.name })), this.deps.options.rawBelow);
    this.deps.metrics.add("workerTasks");
    const codec = picked.codec === rawCodec.name ? rawCodec : (this.deps.codecs.byName.get(picked.codec as CodecName) as Codec);
    const asset = picked.assetId === undefined ? undefined : candidates.find((c) => c.asset?.id === picked.assetId)?.asset;
    return { codec, asset, envelope: picked.envelope, verifyFailures: picked.verifyFailures };
  }
}
