/**
 * The search thread's view of the store's index: reads (vectors on a reload, keyword rows) go to
 * the thread's own connection, but what changed comes from the main thread, which sends the
 * changes its connection logged (`vectorsSince` with the thread's cursor) with each search. The
 * SQLite change log is per connection, so the thread's own connection cannot see the writer's.
 */
import type { DamagedInNamespace, IndexedVectors, PendingFrom, SearchIndexBytes, SearchIndexEntry, SearchIndexStore, VectorChanges } from "../core/store.js";

/** What the main thread sends with a search: the index's changes since the previous one, or "reload". */
export type ThreadDelta = { reload: true } | { reload?: false; changed: number[]; vectors: IndexedVectors };

/**
 * Deltas merged in the order they were pushed: a memory's vector is the one its last change left
 * (a delete after an add leaves none, so it is never revived), and every seq any delta changed is
 * listed as changed (the index drops its row before adding the merged vectors).
 */
export function mergeDeltas(deltas: readonly { changed: readonly number[]; vectors: IndexedVectors }[]): { changed: number[]; vectors: IndexedVectors } {
  const changed = new Set<number>();
  const latest = new Map<number, { id: string; namespace: string; vector: Uint8Array }>();
  for (const delta of deltas) {
    for (const seq of delta.changed) {
      changed.add(seq);
      latest.delete(seq);
    }
    delta.vectors.seqs.forEach((seq, i) => {
      changed.add(seq);
      latest.set(seq, { id: delta.vectors.ids[i] as string, namespace: delta.vectors.namespaces[i] as string, vector: delta.vectors.vectors[i] as Uint8Array });
    });
  }
  const seqs = [...latest.keys()].sort((a, b) => a - b);
  return {
    changed: [...changed].sort((a, b) => a - b),
    vectors: { seqs, ids: seqs.map((s) => latest.get(s)?.id as string), namespaces: seqs.map((s) => latest.get(s)?.namespace as string), vectors: seqs.map((s) => latest.get(s)?.vector as Uint8Array) },
  };
}

/**
 * A `SearchIndexStore` whose change token and `vectorsSince` follow the deltas pushed into it
 * (each one a change); everything else is read from `base`. A reload (or no cursor) reads every
 * vector from `base`: its connection is at least as new as every delta pushed before, and the
 * deltas pushed after start no later than the main thread's position at the reload, so applying
 * them again sets each memory to its state at that delta's end: until the next delta, a memory
 * written between that point and the reload can show its older vector for a search (as a search
 * racing a write may; the server leaves out a hit whose memory is gone by its preview).
 */
export class PushedChanges implements SearchIndexStore {
  private queue: ThreadDelta[] = [];
  private pushed = 0;

  constructor(private readonly base: SearchIndexStore) {}

  /** The main thread's next delta (in the order it sent them). */
  push(delta: ThreadDelta): void {
    this.queue.push(delta);
    this.pushed++;
  }

  changeToken(): Promise<string> {
    return Promise.resolve(`pushed:${this.pushed}`);
  }

  async vectorsSince(key: string, cursor: string | undefined): Promise<VectorChanges> {
    const deltas = this.queue;
    this.queue = [];
    const next = `pushed:${this.pushed}`;
    if (cursor === undefined || deltas.some((d) => d.reload === true)) return { ...(await this.base.vectorsSince(key, undefined)), cursor: next };
    return { full: false, ...mergeDeltas(deltas.filter((d): d is Exclude<ThreadDelta, { reload: true }> => d.reload !== true)), cursor: next };
  }

  pending(key: string, limit: number, from?: PendingFrom): ReturnType<SearchIndexStore["pending"]> {
    return this.base.pending(key, limit, from);
  }
  countPending(key: string): Promise<number> {
    return this.base.countPending(key);
  }

  async damaged(): Promise<DamagedInNamespace[]> {
    return (await this.base.damaged?.()) ?? [];
  }
  put(key: string, entries: readonly SearchIndexEntry[]): Promise<void> {
    return this.base.put(key, entries);
  }
  vectors(key: string): Promise<IndexedVectors> {
    return this.base.vectors(key);
  }
  matching(term: string): Promise<number[]> {
    return this.base.matching(term);
  }
  documentFrequency(term: string): Promise<number> {
    return this.base.documentFrequency(term);
  }
  frequentTerms(minDocs: number, maxEntries: number): Promise<string[]> {
    return this.base.frequentTerms ? this.base.frequentTerms(minDocs, maxEntries) : Promise.resolve([]);
  }
  indexedCount(atMost?: number): Promise<number> {
    return this.base.indexedCount(atMost);
  }
  vectorBytes(): Promise<number> {
    return this.base.vectorBytes();
  }
  bytes(): Promise<SearchIndexBytes> {
    return this.base.bytes();
  }
  compact(): Promise<void> {
    return this.base.compact();
  }
  clear(): Promise<void> {
    return this.base.clear();
  }
}
