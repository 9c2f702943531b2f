import { xxh64 } from "@node-rs/xxhash";
import type { Cache } from "../cache/cache.js";
import type { Asset, AssetKind } from "../codec/codec.js";
import { currentBaseAsset } from "../codec/cm/base.js";
import { openEnvelope } from "../codec/envelope.js";
import { refMatches } from "../codec/envelope-codec.js";
import { chooseSmallest, decodesTo, type AttemptFailure, type CodecCandidate, type PolicyChoice } from "../codec/policy.js";
import { isCodecName, type CodecRegistry } from "../codec/registry.js";
import type { ResolvedEngineOptions, WriteCodecName } from "../engine-options.js";
import { MemzipError, ErrorCode } from "../errors.js";
import type { CodecPool } from "../pipeline/codec-pool.js";
import type { Metrics } from "../pipeline/metrics.js";
import { withTimeout } from "../core/resilience.js";

/** What the write policy picked for one memory. */
export interface WriteChoice {
  codec: string;
  asset: Asset | undefined;
  envelope: Uint8Array;
  verifyFailures: string[];
  /** The smallest envelope each candidate finished, by codec name (absent from the cache, and for a codec that gave up at its budget). */
  finished?: Record<string, number>;
}

/** What the write policy needs from the engine; it never touches the store. */
export interface WritePolicyDeps {
  /** Every codec the engine reads and writes with (built-in, model, registered from outside). */
  registry: CodecRegistry;
  options: ResolvedEngineOptions;
  /** Proven envelopes by text and codec setup, so repeats skip the work. */
  cache: Cache;
  metrics: Metrics;
  /** The worker pool for the built-in pure codecs (started on first use). */
  pool: () => CodecPool;
  /** Decodes any envelope with the engine's codecs and assets (pending summaries included). */
  decodeBytes: (envelope: Uint8Array, assetId?: string) => Promise<Uint8Array>;
  /** The asset an envelope's reference names. */
  assetByRef: (ref: Uint8Array) => Promise<Asset | undefined>;
  /** The base model shipped with memzip that `cm` codes with before a namespace has a snapshot (with `cmBase`); defaults to the bare asset. */
  baseModel?: () => Asset;
}

/**
 * The write policy: which codecs (with which assets) compete for a memory, and one loop
 * (`chooseSmallest`, codec/policy.ts) that keeps the smallest envelope decoding back to the exact
 * bytes. Model codecs are candidates like any other (the writer appends their attempts); the
 * built-in pure codecs may run first on worker threads (the classical fast path).
 */
/** Envelopes a policy remembers having proven (`WritePolicy.proven`): about 100 bytes each. */
const PROVEN_MAX = 16_384;

export class WritePolicy {
  /**
   * The envelopes this process proved, by cache key: its xxh64. A cache hit with those very bytes
   * is not decoded again; any other bytes under the key (a disk or shared tier another process
   * wrote, a flipped bit) are. Bounded: the oldest are forgotten first (and then proven again).
   */
  private readonly proven = new Map<string, string>();

  constructor(private readonly deps: WritePolicyDeps) {}

  private prove(key: string, envelope: Uint8Array): void {
    this.proven.delete(key);
    if (this.proven.size >= PROVEN_MAX) this.proven.delete(this.proven.keys().next().value as string);
    this.proven.set(key, xxh64(envelope).toString(16));
  }

  /** The codecs a write tries, in order: the configured ones, then codecs registered from outside; a forced one alone. Model codecs come from the writer. */
  private codecsFor(forced?: WriteCodecName) {
    const { registry, options } = this.deps;
    if (forced !== undefined) return registry.named(forced)?.model ? [] : [registry.named(forced)];
    const outside = registry.list().filter((codec) => !codec.model && !isCodecName(codec.name));
    return [...options.codecs.map((name) => registry.named(name)), ...outside];
  }

  /** Whether a write can be forced to `name`: a codec this engine writes with (built-in, model, registered from outside). */
  knows(name: string): boolean {
    return this.deps.registry.named(name) !== undefined;
  }

  /** The asset kinds the candidates for a write need or may use (resolve them, then call `candidates`). */
  requiredKinds(forced?: WriteCodecName): AssetKind[] {
    const kinds = new Set<AssetKind>();
    for (const codec of this.codecsFor(forced)) {
      const kind = codec?.requires ?? codec?.accepts;
      if (kind) kinds.add(kind);
    }
    return [...kinds];
  }

  /**
   * The candidates for a write in a namespace, given the namespace's active assets by kind, with
   * `raw` last (the fallback every other candidate must beat). A forced model codec: none (the
   * writer's model attempts then win over `raw` when they prove themselves).
   */
  candidates(namespace: string, active: ReadonlyMap<AssetKind, Asset>, forced?: WriteCodecName): CodecCandidate[] {
    const { registry } = this.deps;
    if (forced !== undefined && registry.named(forced)?.model) return [];
    const candidates: CodecCandidate[] = [];
    for (const codec of this.codecsFor(forced)) {
      if (!codec) continue;
      const asset = active.get((codec.requires ?? codec.accepts) as AssetKind) ?? this.baseFor(codec.name);
      if (asset) candidates.push({ codec, asset });
      else if (!codec.requires) candidates.push({ codec });
      else if (forced) {
        throw new MemzipError(ErrorCode.MISSING_ASSET, `codec ${codec.name} needs a ${codec.requires} for namespace "${namespace}", and there is none`, {
          hint: codec.requires === "zstd-dictionary" ? "Run `memzip dict train` first." : "Run `memzip model train` first.",
        });
      }
    }
    const raw = registry.named("raw");
    if (raw && !candidates.some((c) => c.codec === raw)) candidates.push({ codec: raw });
    return candidates;
  }

  /**
   * `cm` in a namespace without a snapshot of its own: the base model shipped with memzip, when
   * `cmBase` is on. Only `cm` takes it: `cm-ref` would store a text the base learned from as a
   * position in a model the store does not hold (and would flatter every figure on the dev corpus).
   */
  private baseFor(codecName: string): Asset | undefined {
    if (codecName !== "cm" || !this.deps.options.cmBase) return undefined;
    return this.deps.baseModel ? this.deps.baseModel() : currentBaseAsset();
  }

  /**
   * The policy's choice, remembered by content in the engine's cache: the same text with the same
   * candidates (codecs, their setup and assets) gets back the envelope that was proven for it before.
   * Each candidate gets the smallest proven size so far as its budget, so a model that cannot win
   * gives up early; model codecs run under the per-memory deadline.
   */
  async choose(bytes: Uint8Array, candidates: readonly CodecCandidate[], usePool = false): Promise<WriteChoice> {
    const { options, metrics, registry } = this.deps;
    const setup = candidates.map(({ codec, asset }) => `${codec.name}${codec.setup ? `#${codec.setup}` : ""}${asset ? `@${asset.id.slice(0, 16)}` : ""}`).join(",");
    const key = `envelope:${xxh64(bytes).toString(16)}:${bytes.length}:${setup}:${options.rawBelow}`;
    const cached = this.deps.cache.get(key);
    // Proven again before it is used, unless this process proved these very bytes: the disk tier is a file that other
    // processes write, and one flipped bit there was committed as an acknowledged memory no read could decode (trial44).
    // A cached envelope that does not decode to this text is dropped, and the text coded afresh.
    const decode = (envelope: Uint8Array) => this.deps.decodeBytes(envelope, candidateAssetId(envelope, candidates, options.maxTextBytes));
    const known = cached !== undefined && this.proven.get(key) === xxh64(cached).toString(16);
    if (cached && !known && !(await decodesTo(decode, cached, bytes))) {
      this.deps.cache.delete(key);
      this.proven.delete(key);
    } else if (cached) {
      if (!known) this.prove(key, cached);
      const header = openEnvelope(cached, options.maxTextBytes);
      const codec = registry.get(header.codecId)?.name ?? `#${header.codecId}`;
      // The asset is one of the candidates the key names (a version 2 hint alone may match several).
      const asset = header.asset
        ? (candidateAsset(header, candidates) ?? (await this.deps.assetByRef(header.asset)))
        : registry.get(header.codecId)?.engineAsset
          ? candidates.find((c) => c.codec.id === header.codecId)?.asset
          : undefined;
      return { codec, asset, envelope: cached.slice(), verifyFailures: [] };
    }
    let start: PolicyChoice | undefined;
    let rest = candidates;
    if (usePool && bytes.length >= options.rawBelow) {
      // Nothing to pool (a forced model codec): no proven start, so a forced codec still gets an unlimited budget.
      const pooled = candidates.filter((c) => c.codec.sync !== undefined && isCodecName(c.codec.name));
      if (pooled.length > 0) {
        start = await this.chooseOnPool(bytes, pooled);
        rest = candidates.filter((c) => !pooled.includes(c));
      }
    }
    const choice = await chooseSmallest(bytes, rest, {
      rawBelow: options.rawBelow,
      // The asset the envelope was written with is one of the candidates: verification decodes with it, never with another sharing its hint.
      decode,
      ...(start ? { start } : {}),
      attempt: (candidate, encode) => {
        if (!candidate.codec.model) return encode();
        metrics.add("llmAttempts");
        return withTimeout(options.itemTimeoutMs, encode, "coding a memory with the model");
      },
      classify: (error) => this.failureOf(error),
    });
    const written: WriteChoice = { codec: choice.codec.name, asset: choice.asset, envelope: choice.envelope, verifyFailures: choice.verifyFailures, ...(choice.finished ? { finished: choice.finished } : {}) };
    this.deps.cache.set(key, written.envelope.slice());
    this.prove(key, written.envelope);
    return written;
  }

  /** A model that cannot be loaded is the user's to fix; a deadline passes the memory on; anything else counts as a failure. */
  private failureOf(error: unknown): AttemptFailure {
    if (error instanceof MemzipError && (error.code === ErrorCode.MISSING_MODEL || error.code === ErrorCode.DEPENDENCY)) return "fatal";
    if (error instanceof MemzipError && error.code === ErrorCode.TIMEOUT) {
      this.deps.metrics.add("llmTimeouts");
      return "skip";
    }
    return "failure";
  }

  /** The classical fast path: the built-in pure codecs and `raw` on a worker thread, same rule, off the main thread. */
  async chooseOnPool(bytes: Uint8Array, candidates: readonly CodecCandidate[]): Promise<PolicyChoice> {
    const picked = await this.deps.pool().choose(bytes, candidates.map(({ codec, asset }) => (asset ? { codec: codec.name, asset } : { codec: codec.name })), this.deps.options.rawBelow);
    this.deps.metrics.add("workerTasks");
    const codec = this.deps.registry.named(picked.codec);
    if (!codec) throw new MemzipError(ErrorCode.FORMAT, `the codec worker chose ${picked.codec}, which this engine does not know`);
    const asset = picked.assetId === undefined ? undefined : candidates.find((c) => c.asset?.id === picked.assetId)?.asset;
    return { codec, asset, envelope: picked.envelope, verifyFailures: picked.verifyFailures };
  }
}

/** The id of the candidate asset a fresh envelope names (its codec's, matching its reference), if one does. */
function candidateAssetId(envelope: Uint8Array, candidates: readonly CodecCandidate[], maxTextBytes: number): string | undefined {
  let header;
  try {
    header = openEnvelope(envelope, maxTextBytes);
  } catch {
    return undefined;
  }
  return candidateAsset(header, candidates)?.id;
}

/** The candidate asset an envelope header names: its codec's, matching its reference (a version 2 hint or a version 1 reference). */
function candidateAsset(header: { codecId: number; asset?: Uint8Array }, candidates: readonly CodecCandidate[]): Asset | undefined {
  const wanted = header.asset;
  if (!wanted) return undefined;
  return candidates.find((c) => c.codec.id === header.codecId && c.asset !== undefined && refMatches(c.asset, wanted))?.asset;
}
