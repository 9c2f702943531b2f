import { assetContentKey } from "../codec/asset-cache.js";
import type { Asset } from "../codec/codec.js";
import type { ContextModel } from "../codec/cm/context-model.js";
import { readDerivedSnapshot } from "../codec/cm/derived-state.js";
import { ensureDerivedState } from "../codec/cm/prepared-snapshot.js";
import { loadSnapshot } from "../codec/cm/snapshot.js";
import { derivedStoreOf } from "../codec/derived.js";

/** Snapshots whose private models are kept (each model about 45 MiB at the defaults). */
const KEPT_SNAPSHOTS = 2;

interface Slot {
  idle: ContextModel[];
  loaded: number;
  busy: number;
  waiting: (() => void)[];
}

/**
 * `cm` models of their own for `llm-mix` records. A mixed record keeps its `cm` record open across
 * the model's awaits, so it cannot share the process-wide model that `cm` codes with synchronously
 * (`preparedSnapshot`): each record borrows a private model of the snapshot (read from the derived
 * state beside the store where there is one, else trained from the snapshot), at most `perSnapshot`
 * at once; the rest wait.
 */
export class MixModels {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly perSnapshot: number) {}

  async with<T>(snapshot: Asset, work: (cm: ContextModel) => Promise<T>): Promise<T> {
    // By the bytes, not the id they claim: another store's damaged copy of the snapshot never lends its model to an intact one.
    const slot = this.slot(assetContentKey(snapshot.bytes));
    while (slot.idle.length === 0 && slot.loaded >= this.perSnapshot) await new Promise<void>((resolve) => slot.waiting.push(resolve));
    let model = slot.idle.pop();
    if (!model) {
      slot.loaded++;
      try {
        model = load(snapshot);
      } catch (error) {
        slot.loaded--;
        throw error;
      }
    }
    slot.busy++;
    try {
      return await work(model);
    } finally {
      slot.busy--;
      slot.idle.push(model);
      slot.waiting.shift()?.();
    }
  }

  /** Drops every idle model. */
  clear(): void {
    for (const [id, slot] of this.slots) {
      slot.loaded -= slot.idle.length;
      slot.idle = [];
      if (slot.busy === 0) this.slots.delete(id);
    }
  }

  private slot(id: string): Slot {
    let slot = this.slots.get(id);
    if (slot) {
      // Most recently used last.
      this.slots.delete(id);
      this.slots.set(id, slot);
      return slot;
    }
    slot = { idle: [], loaded: 0, busy: 0, waiting: [] };
    this.slots.set(id, slot);
    for (const [other, held] of this.slots) {
      if (this.slots.size <= KEPT_SNAPSHOTS) break;
      if (held.busy > 0 || held.waiting.length > 0) continue;
      this.slots.delete(other);
    }
    return slot;
  }
}

/** A private model of the snapshot: from its derived state, which is trained and written once first where it is missing. */
function load(snapshot: Asset): ContextModel {
  ensureDerivedState(snapshot);
  const store = derivedStoreOf(snapshot);
  return (store ? readDerivedSnapshot(store, snapshot)?.loadModel() : undefined) ?? loadSnapshot(snapshot.bytes).model;
}
