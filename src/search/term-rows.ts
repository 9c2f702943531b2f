/**
 * The keyword index's answers kept in memory: for each term a search asked about, the rows (of the
 * in-memory vector table) of the memories holding it, read once from the store's keyword index and
 * then kept in step with the writes the search index itself made (a memory it indexes is added to
 * the lists of its terms that are held here). Rows that die stay in the lists; readers skip them.
 * Bounded: past `maxEntries` rows in all, the terms used longest ago go first.
 */
export class TermRows {
  /** Rows of each term, in the order they were added; Map order = least recently used first. */
  private readonly lists = new Map<string, { rows: Int32Array; length: number }>();
  private held = 0;

  constructor(private readonly maxEntries = DEFAULT_MAX_ENTRIES) {}

  /** Rows in all lists (4 bytes each). */
  get entries(): number {
    return this.held;
  }

  /** Rows the lists may hold in all. */
  get capacity(): number {
    return this.maxEntries;
  }

  get terms(): number {
    return this.lists.size;
  }

  /** The rows held for `term` (a view: valid until the next change), or undefined when it is not held. */
  get(term: string): Int32Array | undefined {
    const list = this.lists.get(term);
    if (!list) return undefined;
    // Used now: to the back of the eviction order.
    this.lists.delete(term);
    this.lists.set(term, list);
    return list.rows.subarray(0, list.length);
  }

  /** Holds `rows` (every row holding `term` now), evicting the least recently used terms to stay under the bound. */
  set(term: string, rows: Int32Array): void {
    this.delete(term);
    if (rows.length > this.maxEntries) return;
    for (const [old, list] of this.lists) {
      if (this.held + rows.length <= this.maxEntries) break;
      this.held -= list.length;
      this.lists.delete(old);
    }
    this.lists.set(term, { rows, length: rows.length });
    this.held += rows.length;
  }

  /** A new row holding `terms`: appended to the lists held for any of them. */
  add(row: number, terms: readonly string[]): void {
    for (const term of terms) {
      const list = this.lists.get(term);
      if (!list) continue;
      if (list.length === list.rows.length) {
        const grown = new Int32Array(Math.max(8, list.rows.length * 2));
        grown.set(list.rows);
        list.rows = grown;
      }
      list.rows[list.length++] = row;
      this.held++;
    }
    // Past the bound, the terms used longest ago go, as in `set`.
    for (const [old, list] of this.lists) {
      if (this.held <= this.maxEntries) break;
      this.held -= list.length;
      this.lists.delete(old);
    }
  }

  clear(): void {
    this.lists.clear();
    this.held = 0;
  }

  private delete(term: string): void {
    const list = this.lists.get(term);
    if (!list) return;
    this.held -= list.length;
    this.lists.delete(term);
  }
}

/** 2^23 rows (32 MiB): at 10^5 memories the whole keyword index has about 4.6 million. */
const DEFAULT_MAX_ENTRIES = 1 << 23;
