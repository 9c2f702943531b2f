import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { userCacheDir } from "../../core/paths.js";
import { MemzipError, ErrorCode } from "../../errors.js";
import type { Asset } from "../codec.js";
import { attachDerivedStore } from "../derived.js";
import { DerivedFolder, PER_USER_DERIVED_MAX_BYTES } from "../derived-folder.js";
import type { ContextModelParams, ModelVersion } from "./context-model.js";

/**
 * Base models shipped with memzip: `cm` snapshots (assets/cm-base-v*.mzcm) that a namespace codes
 * with before it has a snapshot of its own, so `cm` works from the first memory. Envelopes name a
 * base by its asset reference like any snapshot; the store never holds it (it is in the package).
 *
 * A base, once shipped, is never changed or removed: memories written with it must decode in
 * every later memzip. A new base is a new entry (and file); the last one is the one new writes use.
 */
export interface BaseModel {
  /** 1, 2, …: the base's own version (its snapshot names the context-model version it was trained with). */
  readonly version: number;
  /** File under assets/. */
  readonly file: string;
  /** sha256 of the file: the asset's id, checked when it is read. */
  readonly sha256: string;
  /** How it was built from the dev corpus (`npm run train:cm-base`; a test rebuilds it byte for byte). */
  readonly recipe: BaseRecipe;
}

export interface BaseRecipe {
  /** The records of memories-dev.jsonl it learned from: every `every`-th, from the first (file order). */
  readonly every: number;
  readonly params: ContextModelParams;
  /** The context-model version it was trained with (a later default model must not change a shipped base). */
  readonly modelVersion: ModelVersion;
}

export const BASE_MODELS: readonly BaseModel[] = Object.freeze([
  {
    version: 1,
    file: "cm-base-v1.mzcm",
    sha256: "193fecd00b47c2e8cf18f6534a90c0cb82bc453ec1d9791e321da05001123e96",
    recipe: { every: 2, params: { tableBits: 22, matchBits: 20 }, modelVersion: 4 },
  },
]);

/** The training texts of a recipe, from the dev corpus's records in file order. */
export function baseTrainingTexts(recipe: BaseRecipe, records: readonly { text: string }[]): Uint8Array[] {
  const encoder = new TextEncoder();
  return records.filter((_, i) => i % recipe.every === 0).map((r) => encoder.encode(r.text));
}

export function baseModelFile(base: BaseModel): URL {
  return new URL(`../../../../assets/${base.file}`, import.meta.url);
}

/** A shipped base as an asset: in the package, not in any store. */
export interface BaseAsset extends Asset {
  readonly kind: "cm-snapshot";
  /** Always true: stats report it apart from the store's assets and never count it as stored bytes. */
  readonly builtIn: true;
  readonly baseVersion: number;
}

const loaded = new Map<number, BaseAsset>();

/**
 * Where the trained state of a shipped base is kept: once per user and base, in
 * `userCacheDir()/derived/` (MEMZIP_CACHE_DIR, else $XDG_CACHE_HOME/memzip, else ~/.cache/memzip),
 * never beside a store (every store of the user shares it; no store copies it). Like every derived
 * state it is verified by hash when read and rebuilt when missing, stale or corrupt; when the folder
 * cannot be written the base is trained in memory, once per process, and nothing fails.
 */
export const sharedBaseStates = new DerivedFolder(
  () => {
    const cache = userCacheDir();
    return cache === undefined ? undefined : join(cache, "derived");
  },
  { private: true, maxBytes: PER_USER_DERIVED_MAX_BYTES },
);

/** `asset` (the bytes of a shipped base, e.g. sent to a worker thread) with the per-user derived state; other assets unchanged. */
export function withSharedBaseState<T extends Asset>(asset: T): T {
  return BASE_MODELS.some((base) => base.sha256 === asset.id) ? attachDerivedStore(asset, sharedBaseStates) : asset;
}

/** Reads a shipped base (once per process) and checks its sha256; a missing or altered file is `E_MISSING_ASSET`. */
export function baseAsset(base: BaseModel): BaseAsset {
  let asset = loaded.get(base.version);
  if (asset) return asset;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(baseModelFile(base));
  } catch (cause) {
    throw baseError(base, `cannot be read (${(cause as Error).message})`, cause);
  }
  const id = createHash("sha256").update(bytes).digest("hex");
  if (id !== base.sha256) throw baseError(base, `has sha256 ${id.slice(0, 16)}…, not the ${base.sha256.slice(0, 16)}… this memzip shipped`);
  asset = attachDerivedStore({ id, kind: "cm-snapshot", bytes, builtIn: true, baseVersion: base.version } as const, sharedBaseStates);
  loaded.set(base.version, asset);
  return asset;
}

function baseError(base: BaseModel, what: string, cause?: unknown): MemzipError {
  return new MemzipError(ErrorCode.MISSING_ASSET, `the base model assets/${base.file} shipped with memzip ${what}`, {
    hint: "Reinstall memzip (the file is part of the package), or rebuild it with `npm run train:cm-base`.",
    details: { baseVersion: base.version, file: base.file },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The base new writes use: the newest shipped. */
export function currentBaseAsset(): BaseAsset {
  return baseAsset(BASE_MODELS[BASE_MODELS.length - 1] as BaseModel);
}

/** The shipped base an envelope's asset reference names, if any (every base ever shipped is kept). */
export function baseAssetByRef(ref: Uint8Array): BaseAsset | undefined {
  const hex = Buffer.from(ref).toString("hex");
  const base = BASE_MODELS.find((b) => b.sha256.startsWith(hex));
  return base && baseAsset(base);
}

/** The shipped base with this full id (sha256), if any: what an `llm-mix` engine record names when it mixed with a base. */
export function baseAssetById(id: string): BaseAsset | undefined {
  const base = BASE_MODELS.find((b) => b.sha256 === id);
  return base && baseAsset(base);
}

/** Every shipped base whose id starts with a version 2 hint (or any reference), oldest first. */
export function baseAssetsByHint(ref: Uint8Array): BaseAsset[] {
  const hex = Buffer.from(ref).toString("hex");
  return hex.length === 0 ? [] : BASE_MODELS.filter((b) => b.sha256.startsWith(hex)).map((b) => baseAsset(b));
}

export function isBaseAsset(asset: Asset | undefined): asset is BaseAsset {
  return asset !== undefined && (asset as Partial<BaseAsset>).builtIn === true;
}

/**
 * What stats say of the shipped bases: each is in memzip's package, not in the store, so its bytes
 * are never part of a store's `assetBytes` or `storedBytes` (docs/STORE.md).
 */
export interface ShippedAsset {
  id: string;
  kind: "cm-snapshot";
  baseVersion: number;
  /** Bytes of the file in the package. */
  bytes: number;
  where: "shipped with memzip";
  inStore: false;
}

export function shippedAssets(): ShippedAsset[] {
  return BASE_MODELS.map((base) => {
    const asset = baseAsset(base);
    return { id: asset.id, kind: asset.kind, baseVersion: base.version, bytes: asset.bytes.length, where: "shipped with memzip", inStore: false };
  });
}
