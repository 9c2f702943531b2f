/**
 * Reading memories back: finding a memory, decoding its envelope (assets resolved from the store
 * first, then the synchronous codec core), binding the text to its row, and the recall modes.
 */
import type { Cache, CacheStats } from "../cache/cache.js";
import type { Asset, Codec } from "../codec/codec.js";
import { decodeEnvelope, type AssetResolver } from "../codec/envelope-codec.js";
import { openEnvelope } from "../codec/envelope.js";
import { decodeWith } from "../codec/async-codec.js";
import type { CodecRegistry } from "../codec/registry.js";
import type { SemanticRecord } from "../semantic/summary.js";
import { decodeStoredText } from "../codec/text.js";
import type { Store, StoredMemory, StoredSemantic } from "../core/store.js";
import type { ResolvedEngineOptions } from "../engine-options.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { detectLanguage } from "../semantic/language.js";
import type { SemanticLayer } from "../semantic/semantic.js";
import type { EngineAssets } from "./assets.js";
import { isModelCodecName } from "../model/llm-codec.js";
import { checkDecoded, envelopeKey, inAssetOrder, notFound, readLimit, unlessDamaged } from "./rows.js";
import type { RecallMode } from "./types.js";

export interface ReaderParts {
  store: Store;
  options: ResolvedEngineOptions;
  codecsById: ReadonlyMap<number, Codec>;
  /** Every codec the engine reads with, by envelope id. */
  codecs: CodecRegistry;
  assets: EngineAssets;
  /** Decoded texts by envelope content. */
  cache: Cache;
  semanticLayer: () => Promise<SemanticLayer | undefined>;
  /**
   * Decodes a pure codec's envelope on a codec worker thread (the engine's pool; none without workers): a memory of
   * `OFF_THREAD_DECODE_BYTES` or more is decoded there, so the caller's event loop stays free.
   */
  decodeOffThread?: (envelope: Uint8Array, assets: readonly Asset[], maxOriginalLength: number) => Promise<Uint8Array | undefined>;
}

/**
 * Texts of this many bytes or more decode on a codec worker when the engine has workers: `cm` decodes ~0.5–1 MB/s
 * here, so such a read held a server's event loop ~0.1 s and more (a 1 MiB memory ~1.6 s: every other request,
 * `/healthz` too, waited; one MCP `list_memories` over five of them, 12.6 s). Smaller ones decode in place, where a
 * round trip to a thread would cost more than the decode.
 */
export const OFF_THREAD_DECODE_BYTES = 64 << 10;

/**
 * A memory whose envelope no longer reads back: the error again, with the way to mend it. Writing the same
 * text with the same id codes it anew (`Reader.readsBack`), except under a model codec, which a write
 * does not decode (a forget and a new write mend that one).
 */
function damagedText(error: MemzipError, memory: StoredMemory): MemzipError {
  const where = `--id ${JSON.stringify(memory.id)} -n ${memory.namespace}`;
  const hint = isModelCodecName(memory.codec)
    ? `Forget it (\`memzip rm ${JSON.stringify(memory.id)} -n ${memory.namespace}\`) and write its text again (\`memzip add ${where}\`, or import an export or backup holding it).`
    : `Write its text again to repair it (\`memzip add ${where}\`, or import an export or backup holding it: a memory that no longer reads back is coded anew); \`memzip verify\` lists every such memory.`;
  return new MemzipError(error.code, error.message, { hint, details: error.details, cause: error });
}

export class Reader {
  constructor(private readonly parts: ReaderParts) {}

  /**
   * Decodes an envelope with this store's codecs, assets and models. `storedLength`, the length the
   * store recorded for it, raises the size limit: whatever was written (under any limit) reads back.
   * `assetId`, the asset the memory's row records, is the only asset tried when given (a version 2
   * envelope's hint alone may match several: then each is tried, docs/FORMAT.md).
   */
  async decodeBytes(envelope: Uint8Array, storedLength = 0, assetId?: string | null): Promise<Uint8Array> {
    const limit = readLimit(this.parts.options.maxTextBytes, storedLength);
    const opened = openEnvelope(envelope, limit);
    // The assets are resolved (awaited) first; then the codec the header names decodes (the registry dispatches).
    const wanted = opened.asset;
    const candidates = wanted ? await this.parts.assets.possibleAssets(wanted, assetId) : [];
    const { decodeOffThread, codecsById, options } = this.parts;
    const codec = codecsById.get(opened.codecId);
    // A model not loaded on this thread is loaded on a worker instead (`modelLoadThread`), and the read decoded there.
    const cold = options.modelLoadThread && codec?.isPrepared !== undefined && candidates.length > 0 && !candidates.some((asset) => codec.isPrepared?.(asset) === true);
    if (decodeOffThread && codec && (opened.originalLength >= OFF_THREAD_DECODE_BYTES || cold)) {
      // Undefined: no worker to take it (the engine is closing): in place.
      const decoded = await decodeOffThread(envelope, candidates, limit);
      if (decoded) return decoded;
    }
    // A model this thread has not loaded is loaded a slice at a time, other work (a server's requests) going on between,
    // and held until the decode (reads of other namespaces meanwhile would drop it past `cmModels`). Whatever fails
    // there (a damaged snapshot) fails again in the decode, which reports it.
    const unloaded = codec?.prepareSliced ? candidates.filter((asset) => codec.isPrepared?.(asset) !== true) : [];
    const releases = unloaded.length > 0 ? candidates.map((asset) => codec?.holdPrepared?.(asset)) : [];
    try {
      for (const asset of unloaded) {
        try {
          await codec?.prepareSliced?.(asset);
        } catch {
          // Met again below.
        }
      }
      return await decodeWith(this.parts.codecs, envelope, () => candidates, limit);
    } finally {
      for (const release of releases) release?.();
    }
  }

  /** Decodes a classical envelope synchronously against assets already known (the write policy's check). */
  decodeKnown(envelope: Uint8Array, resolve: AssetResolver = (ref) => this.parts.assets.knownByRef(ref)): Uint8Array {
    return decodeEnvelope(envelope, this.parts.codecsById, resolve, this.parts.options.maxTextBytes);
  }

  /**
   * Whether a stored memory reads back (through the cache; checked against its row): what a write of the same text
   * asks before it keeps the envelope. False only where the envelope is damaged (E_CHECKSUM, E_FORMAT): such a write
   * codes it anew (a repair). Anything else — an asset or model this machine lacks, a newer build's codec — is not a
   * write's to mend: true. A model codec's envelope is not decoded (that costs what coding it did): true.
   */
  async readsBack(memory: StoredMemory): Promise<boolean> {
    if (isModelCodecName(memory.codec)) return true;
    try {
      return (await unlessDamaged(this.bytesOf(memory))) !== undefined;
    } catch {
      return true;
    }
  }

  /** Whether an envelope decodes to exactly `bytes` (false for any failure). */
  async decodesTo(envelope: Uint8Array, bytes: Uint8Array): Promise<boolean> {
    try {
      return Buffer.from(await this.decodeBytes(envelope, bytes.length)).equals(bytes);
    } catch {
      return false;
    }
  }

  /**
   * The namespace of memory `id`: the one given (the memory must be there), else the only
   * namespace holding that id. An id held by several namespaces needs one (E_USAGE names them).
   */
  async locate(id: string, namespace?: string): Promise<string> {
    const { memories } = this.parts.store;
    if (namespace !== undefined) {
      if (!(await memories.fingerprints(namespace, [id])).has(id)) throw notFound(id, namespace);
      return namespace;
    }
    let holders = await memories.namespacesOf(id);
    if (holders.length > 1) {
      // An expired memory is absent: it neither makes the id ambiguous nor is named.
      const live = await Promise.all(holders.map(async (holder) => {
        const memory = await memories.get(holder, id);
        return memory !== undefined && !this.expired(memory);
      }));
      holders = holders.filter((_, i) => live[i]);
    }
    if (holders.length === 0) throw notFound(id);
    if (holders.length > 1) {
      throw new MemzipError(ErrorCode.USAGE, `memory "${id}" exists in several namespaces: ${holders.join(", ")}`, {
        hint: `Name one with --namespace (-n), e.g. -n ${holders[0] as string}.`,
        details: { id, namespaces: holders },
      });
    }
    return holders[0] as string;
  }

  /** A memory's row: one read when the namespace is given, else after `locate`. An expired memory is not found, as a missing one. */
  async find(id: string, namespace?: string): Promise<StoredMemory> {
    const where = namespace ?? (await this.locate(id));
    const memory = await this.parts.store.memories.get(where, id);
    if (!memory) throw notFound(id, where);
    if (this.expired(memory)) throw notFound(id, where, memory.expiresAt);
    return memory;
  }

  /** Whether a memory has expired by the engine's clock (reads treat it as absent until `compact` deletes it). */
  expired(memory: { expiresAt?: number }): boolean {
    return memory.expiresAt !== undefined && memory.expiresAt <= this.parts.options.clock();
  }

  async semanticOf(id: string, namespace?: string): Promise<StoredSemantic | undefined> {
    return this.parts.store.memories.getSemantic((await this.find(id, namespace)).namespace, id);
  }

  async recallBytes(id: string, namespace?: string): Promise<Uint8Array> {
    return this.bytesOf(await this.find(id, namespace));
  }

  /** The exact bytes of a memory already read (a batch read's row): through the cache, checked. */
  async bytesOf(memory: StoredMemory): Promise<Uint8Array> {
    const id = memory.id;
    const key = envelopeKey(memory.envelope);
    const { cache } = this.parts;
    const cached = cache.load ? await cache.load(key) : cache.get(key);
    try {
      if (cached) return checkDecoded(memory, cached.slice());
      const bytes = checkDecoded(memory, await this.decodeBytes(memory.envelope, memory.originalLength, memory.assetId));
      this.parts.cache.set(key, bytes.slice());
      return bytes;
    } catch (error) {
      if (error instanceof MemzipError) {
        error.details.id = id;
        if (error.code === ErrorCode.CHECKSUM || error.code === ErrorCode.FORMAT) throw damagedText(error, memory);
      }
      throw error;
    }
  }

  /** The exact text of a memory already read (a `find` row): through the cache, checked against the row; no second read. */
  async textOf(memory: StoredMemory): Promise<string> {
    return decodeStoredText(await this.bytesOf(memory));
  }

  /**
   * The exact texts of several memories, in order, from one batch read of their rows (a server store
   * answers it in one round trip); undefined for one that is missing or expired, as `recall` would
   * answer E_NOT_FOUND. Any other failure (a damaged row: E_CHECKSUM) fails the call, as `recall` does.
   */
  async texts(refs: readonly { id: string; namespace: string }[]): Promise<(string | undefined)[]> {
    const memories = await this.parts.store.memories.getMany(refs);
    // Decoded grouped by asset, the event loop handed back between slices (a search answering 1,000 hits held a
    // server's other requests for its whole decode).
    return inAssetOrder(memories, async (memory) => (memory === undefined || this.expired(memory) ? undefined : this.textOf(memory)));
  }

  /**
   * The exact original text (`mode: "exact"`, the default); or its stored summary (`"summary"`);
   * or a text a model writes back out from the summary and entities (`"rebuilt"`: lossy, never
   * the original). The last two need semantic features (`E_NOT_FOUND` says when a memory has none).
   */
  async recall(id: string, options: { mode?: RecallMode; namespace?: string } = {}): Promise<string> {
    const mode = options.mode ?? "exact";
    // The library's door: a JavaScript caller's mode is not held to the type (a misspelt mode read the summary).
    if (mode !== "exact" && mode !== "summary" && mode !== "rebuilt") {
      throw new MemzipError(ErrorCode.USAGE, `recall mode ${JSON.stringify(mode)} is not one of exact, summary, rebuilt`, { hint: "Leave mode out for the exact text." });
    }
    if (mode === "exact") return decodeStoredText(await this.recallBytes(id, options.namespace));
    const namespace = (await this.find(id, options.namespace)).namespace;
    const semantic = await this.parts.store.memories.getSemantic(namespace, id);
    if (!semantic) {
      throw new MemzipError(ErrorCode.NOT_FOUND, `memory "${id}" has no summary: semantic features were off or skipped when it was written`, {
        hint: "Configure semantic backends and write it again, or recall it exactly (the default mode).",
        details: { id },
      });
    }
    if (mode === "summary") return semantic.summary;
    const layer = await this.parts.semanticLayer();
    if (!layer) throw new MemzipError(ErrorCode.USAGE, "rebuilding a memory needs a semantic backend", { hint: "Configure `semantic.backends`." });
    return layer.rebuild({ ...semantic, entities: semantic.entities as SemanticRecord["entities"] }, await this.languageOf(id, namespace));
  }

  /**
   * A memory's language: the one detected when it was written, or (for memories written before
   * languages were kept) detected from its text now.
   */
  async languageOf(id: string, namespace?: string): Promise<string> {
    const memory = await this.find(id, namespace);
    return memory.language ?? detectLanguage(await this.recall(id, { namespace: memory.namespace }));
  }

  cacheStats(): CacheStats {
    return this.parts.cache.stats();
  }
}
