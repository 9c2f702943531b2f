import { assetCache } from "../asset-cache.js";
import { checksum32 } from "../checksum.js";
import { derivedStoreOf } from "../derived.js";
import type { Asset } from "../codec.js";
import type { ContextModel } from "./context-model.js";
import { hasDerivedSnapshot, readDerivedSnapshot, writeDerivedSnapshot } from "./derived-state.js";
import { loadSnapshot, type LoadedSnapshot } from "./snapshot.js";

/**
 * Loaded snapshots a thread keeps when nothing asks for more; each holds a model (26–55 MiB of WebAssembly memory at
 * the defaults, docs/CM.md "Resources"). An open engine raises it on the main thread, and its codec workers on theirs,
 * to its `cmModels`.
 */
export const DEFAULT_LOADED_SNAPSHOTS = 2;

const held = new Map<symbol, number>();

/** The most loaded snapshots any open engine of this thread asked for (`cmModels`), at least the default. */
function loadedSnapshotLimit(): number {
  return Math.max(DEFAULT_LOADED_SNAPSHOTS, ...held.values());
}

/**
 * Lets this thread keep `count` loaded snapshots until the returned release is called (an engine holds its `cmModels`
 * while open). With two, a process serving three namespaces or more loaded a model at nearly every read: 0.2 s from the
 * derived state (about 1 s by training), on the caller's event loop — a memory's recall took ~200 ms instead of ~2.
 */
export function holdLoadedSnapshots(count: number): () => void {
  const key = Symbol("cmModels");
  held.set(key, count);
  return () => {
    // The models past the limit left go now (a library process that closes its engine gives their memory back).
    if (held.delete(key)) preparedSnapshot.trim();
  };
}

export interface PreparedSnapshot extends LoadedSnapshot {
  /** Position of `bytes` among the texts the snapshot learned from, or -1. */
  indexOf(bytes: Uint8Array): number;
  /** Whether the model is loaded (`model` asked for once): until then only the texts are. */
  readonly modelLoaded: boolean;
  /**
   * Loads the model, where it is read from a derived state, a slice at a time between turns of the event loop (the
   * same model `model` would load in one go, ~0.1–0.3 s on the caller's thread); `model` then answers at once.
   */
  loadModelSliced(): Promise<void>;
}

let trainings = 0;

/** How many snapshots this thread trained from their texts (instead of reading a derived state): tests and pools check it. */
export function snapshotTrainings(): number {
  return trainings;
}

/**
 * One process-wide cache, so `cm` and `cm-ref` share a snapshot's model and texts. Where the
 * asset has a derived store (the engine attaches one beside a store file), the trained state is
 * read from there instead of training again, and written there after a training.
 */
export const preparedSnapshot = assetCache<PreparedSnapshot>("cm", loadedSnapshotLimit, (asset) => {
  const store = derivedStoreOf(asset);
  const train = (): LoadedSnapshot => {
    trainings++;
    const loaded = loadSnapshot(asset.bytes);
    if (store) writeDerivedSnapshot(store, asset, loaded);
    return loaded;
  };
  const derived = store ? readDerivedSnapshot(store, asset) : undefined;
  if (!derived) {
    const loaded = train();
    return prepared(loaded.samples, () => loaded.model, () => true, async () => undefined);
  }
  // cm-ref needs only the texts; the model (tens of MB) is read when cm first asks for it.
  let model: ContextModel | undefined;
  let loading: Promise<void> | undefined;
  const loadSliced = async (): Promise<void> => {
    const loaded = await derived.loadModelAsync();
    // A `model` asked for meanwhile (in one go) is kept; a state that does not load is trained again, as there.
    model ??= loaded ?? train().model;
  };
  return prepared(
    derived.samples,
    () => (model ??= derived.loadModel() ?? train().model),
    () => model !== undefined,
    () =>
      model !== undefined
        ? Promise.resolve()
        : (loading ??= loadSliced().finally(() => {
            loading = undefined;
          })),
  );
  // A snapshot whose bytes do not load (loadSnapshot's RangeError naming the snapshot: damaged, or a format this build
  // cannot read) fails the same way every time; V8's own RangeErrors (an allocation that failed) may not.
}, (error) => error instanceof RangeError && /snapshot/i.test(error.message));

/**
 * Makes sure the derived store attached to `asset` holds its trained state, for codec workers that read it
 * there: read, or trained and written, as `preparedSnapshot` does — and where this process already has the
 * snapshot in memory (loaded earlier for another store, whose folder has the file), written from that.
 */
export function ensureDerivedState(asset: Asset): void {
  const store = derivedStoreOf(asset);
  if (!store || hasDerivedSnapshot(store, asset)) return;
  const before = trainings;
  const loaded = preparedSnapshot(asset);
  // A training just now wrote it; a snapshot this process had in memory was not written here.
  if (trainings === before) writeDerivedSnapshot(store, asset, { samples: loaded.samples, model: loaded.model });
}

function prepared(samples: Uint8Array[], model: () => ContextModel, modelLoaded: () => boolean, loadModelSliced: () => Promise<void>): PreparedSnapshot {
  const byChecksum = new Map<number, number[]>();
  samples.forEach((sample, i) => {
    const key = checksum32(sample);
    byChecksum.set(key, [...(byChecksum.get(key) ?? []), i]);
  });
  return {
    samples,
    get model() {
      return model();
    },
    get modelLoaded() {
      return modelLoaded();
    },
    loadModelSliced,
    indexOf(bytes) {
      const candidates = byChecksum.get(checksum32(bytes)) ?? [];
      return candidates.find((i) => Buffer.from(samples[i] as Uint8Array).equals(bytes)) ?? -1;
    },
  };
}

