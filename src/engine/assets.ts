/**
 * Assets as the engine sees them: looked up by id or by the reference an envelope carries (cached),
 * the ones a namespace writes with, summaries pending a commit, and pruning.
 */
import { ASSET_REF_BYTES, assetRef, type Asset, type AssetKind } from "../codec/codec.js";
import { baseAssetByRef, baseAssetsByHint, currentBaseAsset, isBaseAsset } from "../codec/cm/base.js";
import { matchingAssets, refMatches } from "../codec/envelope-codec.js";
import { attachDerivedStore } from "../codec/derived.js";
import { textToBytes } from "../codec/text.js";
import type { AssetUsage, Store, StoredAsset } from "../core/store.js";
import type { ResolvedEngineOptions } from "../engine-options.js";
import type { DerivedDirectory } from "../store/derived-dir.js";
import { sha256Hex } from "./rows.js";
import type { PruneFilter, RemovedAsset } from "./types.js";

/**
 * How long `compact` keeps an active asset that no memory uses yet (`prune` with `unusedActive`): the time between its
 * training and the first committed batch of the recode that follows, with room to spare.
 */
export const ACTIVE_ASSET_GRACE_MS = 60 * 60_000;

/** An import retrains a namespace's asset once the namespace holds this many times the memories it learned from. */
export const RETRAIN_GROWTH = 2;

export class EngineAssets {
  private readonly cache = new Map<string, Asset>();
  /** Summary assets of planned writes not committed yet, by reference. */
  private readonly pending = new Map<string, Asset>();
  /**
   * Assets handed to the write policy, by reference: its synchronous verification decodes against
   * them. Assets are content-addressed: an entry goes only when its asset is deleted.
   */
  private readonly candidates = new Map<string, Asset>();

  constructor(
    private readonly store: Store,
    private readonly options: ResolvedEngineOptions,
    private readonly derived: DerivedDirectory | undefined,
  ) {}

  /**
   * Lets codecs keep what they derive from a stored asset (a trained model's state) beside the store (a
   * server store's: in the per-user folder).
   * A shipped base keeps its own, per user (`sharedBaseStates`): no store gets a copy.
   */
  private withDerived<T extends Asset>(asset: T | undefined): T | undefined {
    return asset && !isBaseAsset(asset) ? attachDerivedStore(asset, this.derived) : asset;
  }

  async byId(id: string): Promise<StoredAsset | undefined> {
    let asset = this.cache.get(`id:${id}`);
    if (asset === undefined) {
      asset = this.withDerived(await this.store.assets.get(id));
      if (asset) this.cache.set(`id:${id}`, asset);
    }
    return asset as StoredAsset | undefined;
  }

  /**
   * The asset an envelope's reference names: the store's, else a base model shipped with memzip (the
   * store first, so that no memory written before bases existed can ever resolve to one).
   */
  async byRef(ref: Uint8Array): Promise<Asset | undefined> {
    // A version 2 hint: the first asset it may name (callers that can tell candidates apart use `possibleAssets`).
    if (ref.length < ASSET_REF_BYTES) return (await this.possibleAssets(ref))[0];
    const key = Buffer.from(ref).toString("hex");
    let asset = this.cache.get(key) ?? this.pending.get(key);
    if (asset === undefined) {
      asset = this.withDerived((await this.store.assets.getByRef(ref)) ?? baseAssetByRef(ref));
      if (asset) this.cache.set(key, asset);
    }
    return asset;
  }

  /**
   * The assets an envelope's reference may name, for its decoder to try in turn: a version 1
   * reference names one (`byRef`); a version 2 hint every stored asset whose id starts with it, then
   * every shipped base that does. `assetId`, the asset the memory's row records (null: none stored, a
   * base or no asset), narrows a hint to that one asset, so a row's read tries no other (the store keeps
   * an asset while a row needs it; a row naming one that does not match falls back to the hint).
   */
  async possibleAssets(ref: Uint8Array, assetId?: string | null): Promise<Asset[]> {
    if (typeof assetId === "string") {
      const asset = await this.byId(assetId);
      if (asset && refMatches(asset, ref)) return [asset];
    }
    if (ref.length >= ASSET_REF_BYTES) {
      const asset = await this.byRef(ref);
      return asset ? [asset] : [];
    }
    // A row that records no stored asset was written with a shipped base: other rows' assets are never tried for it
    // (review23 E1: a store with 16 snapshots sharing the base's hint made every base-coded memory unreadable).
    const bases = baseAssetsByHint(ref);
    if (assetId === null && bases.length > 0) return bases;
    // Ids are asked of the store each time (another process may have added an asset with this hint); bytes come from the cache.
    const stored: Asset[] = [];
    for (const id of await this.store.assets.idsByHint(ref)) {
      const asset = await this.byId(id);
      if (asset) stored.push(asset);
    }
    // The shipped bases first: the candidate cap (MAX_HINT_CANDIDATES) never cuts them off.
    return [...bases, ...matchingAssets(this.pending.values(), ref), ...stored];
  }

  /** The base model new `cm` writes use before a namespace has a snapshot: shipped with memzip; its trained state is kept once per user. */
  baseModel(): Asset {
    return currentBaseAsset();
  }

  /** For the write policy's synchronous verification: the candidates' assets, pending summaries, the cache, the shipped bases. */
  knownByRef(ref: Uint8Array): Asset | readonly Asset[] | undefined {
    if (ref.length < ASSET_REF_BYTES) {
      const cached = [...this.cache.entries()].filter(([key]) => !key.startsWith("id:")).map(([, asset]) => asset);
      return matchingAssets([...this.candidates.values(), ...this.pending.values(), ...cached, ...baseAssetsByHint(ref)], ref);
    }
    const key = Buffer.from(ref).toString("hex");
    return this.candidates.get(key) ?? this.pending.get(key) ?? this.cache.get(key) ?? baseAssetByRef(ref);
  }

  /** The asset a namespace writes new memories with, per kind (known to the policy's verification from now on). */
  async active(namespace: string, kind: AssetKind): Promise<StoredAsset | undefined> {
    const assetId = await this.store.assets.active(namespace, kind);
    const asset = assetId === undefined ? undefined : await this.byId(assetId);
    if (asset) this.candidates.set(Buffer.from(assetRef(asset)).toString("hex"), asset);
    return asset;
  }

  /** Stores an asset and makes it the one the namespace writes with. */
  async save(kind: AssetKind, namespace: string, bytes: Uint8Array, meta: Record<string, unknown>): Promise<StoredAsset> {
    const asset = await this.put(kind, namespace, bytes, meta);
    await this.store.assets.setActive(namespace, kind, asset.id);
    return asset;
  }

  /** Stores an asset without making it the one the namespace writes with (a training measured before it is used). */
  async put(kind: AssetKind, namespace: string, bytes: Uint8Array, meta: Record<string, unknown>): Promise<StoredAsset> {
    const asset: StoredAsset = { id: sha256Hex(bytes), kind, bytes, namespace, createdAt: this.options.clock(), meta };
    await this.store.assets.put(asset);
    return asset;
  }

  /**
   * Makes a stored asset the one a namespace writes with. It is stored again first (content-addressed: the same
   * row): a `compact` in another process may have pruned it while it was unused and inactive.
   */
  async activate(namespace: string, asset: StoredAsset): Promise<void> {
    await this.store.assets.put(asset);
    await this.store.assets.setActive(namespace, asset.kind, asset.id);
  }

  /** Removes a stored asset that was never activated, with its derived state, unless a memory or namespace uses it. */
  async discard(assetId: string): Promise<void> {
    await this.dropIfUnused(assetId);
    if (!(await this.store.assets.get(assetId))) this.derived?.removeFor(assetId);
  }

  /**
   * Sets the text every `llm` memory of the namespace is conditioned on from now on (stored once,
   * as an asset; its last tokens, up to a quarter of the window, are fed before each memory).
   */
  setPrimingText(text: string, namespace: string): Promise<StoredAsset> {
    return this.save("llm-prefix", namespace, textToBytes(text, this.options.maxTextBytes), {});
  }

  /**
   * A memory's summary as an `llm-prefix` asset (not stored until a memory's envelope needs it),
   * known to this engine's asset look-up until commit so that verification can decode against it.
   */
  summaryPrefix(summary: string, namespace: string): StoredAsset {
    const bytes = textToBytes(`${summary}\n`, this.options.maxTextBytes);
    const asset: StoredAsset = { id: sha256Hex(bytes), kind: "llm-prefix", bytes, namespace, createdAt: this.options.clock(), meta: { summary: true } };
    this.pending.set(Buffer.from(assetRef(asset)).toString("hex"), asset);
    return asset;
  }

  /** A planned summary is committed or dropped: the store answers for it from now on. */
  settle(asset: Asset): void {
    this.pending.delete(Buffer.from(assetRef(asset)).toString("hex"));
  }

  /** Forgets cached look-ups (after assets were deleted). */
  clear(): void {
    this.cache.clear();
  }

  /** Deletes an asset if no memory needs it and no namespace writes with it. */
  async dropIfUnused(assetId: string): Promise<void> {
    if (!(await this.store.assets.isActive(assetId)) && (await this.store.assets.delete(assetId))) this.deleted(assetId);
  }

  /** `dropIfUnused` for many assets, in batches of the store's (one look at the rows for many assets). */
  async dropAllIfUnused(assetIds: Iterable<string>): Promise<void> {
    const inactive: string[] = [];
    for (const id of assetIds) if (!(await this.store.assets.isActive(id))) inactive.push(id);
    for (const batch of batches(inactive)) for (const id of await this.store.assets.deleteUnused(batch)) this.deleted(id);
  }

  /** Whether an asset was stored within `ACTIVE_ASSET_GRACE_MS` (by the engine's clock). */
  private async recentlyStored(assetId: string): Promise<boolean> {
    const asset = await this.store.assets.get(assetId);
    return asset !== undefined && this.options.clock() - asset.createdAt < ACTIVE_ASSET_GRACE_MS;
  }

  private deleted(assetId: string): void {
    this.cache.clear();
    for (const [key, asset] of this.candidates) if (asset.id === assetId) this.candidates.delete(key);
  }

  /**
   * Deletes assets (of one kind, trained for one namespace, if given) that no memory needs and no
   * namespace writes with; with `unusedActive`, also those a namespace writes with that no memory
   * needs (they lost to another codec on every memory; the namespace stops writing with them), but
   * never a namespace's active priming text, nor (`keepRecentActive`) an active asset stored within `ACTIVE_ASSET_GRACE_MS`.
   */
  async prune(filter: PruneFilter = {}): Promise<RemovedAsset[]> {
    const unused: AssetUsage[] = [];
    for (const usage of await this.store.assets.usage()) {
      if (usage.memories > 0) continue;
      // A namespace's priming text (`models prime`) is the user's, not trained from memories: kept while it is active,
      // used or not (trial44: compact removed it before the first llm memory, and later writes went unprimed). A
      // trained asset no memory uses yet may be waiting for the recode that follows its training, in this process or
      // another (a compact beside `model train` removed the snapshot just trained: the recode lost it, and the
      // namespace stayed on the shipped base model): it has not lost until it is older than the grace period.
      if ((!filter.unusedActive || usage.kind === "llm-prefix" || (filter.keepRecentActive === true && (await this.recentlyStored(usage.id)))) && (await this.store.assets.isActive(usage.id))) continue;
      if ((filter.kind !== undefined && usage.kind !== filter.kind) || (filter.namespace !== undefined && usage.namespace !== filter.namespace)) continue;
      unused.push(usage);
    }
    // The store checks again, in the same transaction as the delete: a memory written meanwhile keeps its asset.
    // A batch at a time, each handled before the next: a failure leaves no deleted asset unknown to this engine.
    const removed: RemovedAsset[] = [];
    try {
      for (const batch of batches(unused)) {
        const gone = new Set(await this.store.assets.deleteUnused(batch.map((usage) => usage.id)));
        for (const usage of batch) {
          if (!gone.has(usage.id)) continue;
          this.derived?.removeFor(usage.id);
          this.deleted(usage.id);
          removed.push({ id: usage.id, kind: usage.kind, bytes: usage.size });
        }
      }
    } finally {
      this.cache.clear();
    }
    return removed;
  }
}

/** The asset id a memory row records: a base model shipped with memzip is not in the store, so none. */
export function storedAssetId(asset: Asset | undefined): string | null {
  return asset === undefined || isBaseAsset(asset) ? null : asset.id;
}

/** Assets one `deleteUnused` call is given (SQLite looks at its rows once per call). */
const DELETE_BATCH = 1000;

function* batches<T>(items: readonly T[]): Generator<T[]> {
  for (let at = 0; at < items.length; at += DELETE_BATCH) yield items.slice(at, at + DELETE_BATCH);
}
