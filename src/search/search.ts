/**
 * Search over a store: each memory is indexed once (on demand, incrementally) with a quantized
 * embedding (ternary by default: two bits a dimension) of what best says what it is about (its
 * summary and entities when it has them, otherwise its text) and with the keyword terms of its
 * text, summary and entities. A query ranks by the cosine of its float vector with every stored
 * vector (a scan, no approximate index; in WebAssembly, ternary codes scored as stored by table
 * look-up) and by keywords: the IDF
 * of the query terms a memory holds, ties broken by that cosine (the keyword index keeps which
 * memories hold a term, not where: about half the size of one with positions). The two
 * rankings are fused with reciprocal rank fusion (RRF, k = 60): a memory found by both comes first.
 */
import { nextTurn } from "../core/turns.js";
import type { SearchMode } from "../core/vocabulary.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { damagedPlaceId, memoryKey, type IndexedVectors, type SearchIndexBytes, type SearchIndexStore, type VectorChanges } from "../core/store.js";
import { vectorRows, type VectorRows } from "./score-matrix.js";
import type { Embedder } from "./similarity.js";
import { TermRows } from "./term-rows.js";
import { DEFAULT_VECTOR_ENCODING, VECTOR_ENCODINGS, type VectorEncoding, type VectorEncodingName } from "./vector-encoding.js";

/** What the index needs to know of a memory: its text and, if it has them, its summary and entities. */
export interface IndexSource {
  text: string;
  summary?: string;
  entities?: readonly string[];
}

/**
 * A memory whose text the source could not read now (its model, runtime or asset missing here, its
 * payload damaged): the index leaves it out and tries it again later (`SearchIndexOptions.retryUnreadableMs`).
 */
export interface UnreadableSource {
  unreadable: { code: ErrorCode; message: string; hint?: string };
}

/** What the source answers for one memory: undefined for one deleted since it was listed. */
export type IndexSourceResult = IndexSource | UnreadableSource | undefined;

/** A memory left out of the index because its text could not be read when it was last tried. */
export interface UnreadableMemory {
  /** The memory's id; for memories the store could not list (a damaged sealed block), where they are: "(N memories in the …)". */
  id: string;
  namespace: string;
  code: ErrorCode;
  message: string;
  hint?: string;
  /** How many memories the entry stands for, where more than its one (a damaged sealed block's). */
  memories?: number;
}

/** How many memories unreadable entries stand for (a damaged block's entry stands for its memories). */
export function countUnreadable(entries: readonly UnreadableMemory[]): number {
  return entries.reduce((n, entry) => n + (entry.memories ?? 1), 0);
}

export interface SearchHit {
  id: string;
  namespace: string;
  /** RRF score: the sum over the rankings that found the memory of 1 / (60 + rank). */
  score: number;
  /** Cosine of the query and the memory's vector. */
  similarity: number;
  /** 1-based places in each ranking; absent where that ranking did not find the memory. */
  vectorRank?: number;
  keywordRank?: number;
}

export interface SearchOptions {
  /** Hits to return. Defaults to 10. */
  limit?: number;
  namespace?: string;
  /** Only these namespaces (with `namespace`: both must hold). An empty list matches nothing. */
  namespaces?: readonly string[];
  /** Only these memories (`memoryKey(namespace, id)`): filters applied before ranking. */
  only?: ReadonlySet<string>;
  /** Never these memories (`memoryKey(namespace, id)`; e.g. expired ones not yet removed), decided before ranking. */
  except?: ReadonlySet<string>;
  /** Rankings to fuse. Defaults to `hybrid`. */
  mode?: SearchMode;
  /**
   * A memory found by vector similarity alone is a hit only at or above this cosine (keyword
   * matches always count). Defaults to `NGRAM_MIN_SIMILARITY` for the built-in n-gram embedder and
   * to 0 for a model embedder (whose scale differs: set it from your own measurements).
   */
  minSimilarity?: number;
}

/**
 * Cosine below which a neighbour found by the n-gram embedder is not a hit. Measured with
 * `npm run bench:search-floor` (BENCHMARKS.md): at 0.3, queries of words no memory holds return
 * nothing (1 in 300 at 0.28, 2 in 3 at 0.2), and hybrid search finds its target more often than
 * with no floor (96 % vs 92 % in the top 10: weak neighbours no longer crowd the fusion); vector-only
 * search of text fragments finds fewer (39 % vs 69 %): the n-gram embedder is not semantic.
 */
export const NGRAM_MIN_SIMILARITY = 0.3;

export interface SearchIndexOptions {
  /**
   * How vectors are stored: `binary` (1 bit a dimension), `ternary` (2 bits), `int8` or `float16`.
   * Changing it re-indexes. Defaults to `"ternary"`.
   */
  vectors?: VectorEncodingName;
  /**
   * A memory whose text could not be read is tried again by the first refresh this many
   * milliseconds later, then twice as long after each retry that read none of them (up to 8 times
   * as long); a new index, as a new CLI command or a restarted server makes, tries it at once.
   * Defaults to 60 000.
   */
  retryUnreadableMs?: number;
}

export const SEARCH_INDEX_DEFAULTS = { vectors: DEFAULT_VECTOR_ENCODING, retryUnreadableMs: 60_000 } as const satisfies Required<SearchIndexOptions>;

export interface IndexProgress {
  indexed: number;
  /** Memories left out because their text could not be read (`SearchIndex.unreadable`). */
  unreadable: number;
  total: number;
}

const RRF_K = 60;
/** Each ranking contributes this many candidates per hit asked for (at least 50) to the fusion. */
const CANDIDATES_PER_HIT = 5;
/** Enough of a long text to say what it is about; embedding all of it would only blur it. */
const EMBED_CHARS = 4000;
/** Memories a refresh lists, reads and indexes at a time (reads group them by asset: a larger batch switches `cm` models less). */
export const INDEX_BATCH = 1024;
/** Memories of a listing read, embedded and written at once. */
const INDEX_PART = 256;
/** A refresh that indexed at least 1/4 of the index merges the keyword index into one segment. */
const COMPACT_SHARE = 4;
/** Retries of memories that still cannot be read back off to this many times `retryUnreadableMs` (8 minutes at the default). */
const RETRY_BACKOFF_MAX = 8;

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/**
 * How `searchTerms` splits a text, part of the index's key: an index built another way is rebuilt. "t2": NFC first,
 * combining marks inside words (the first form split "चाय" into "च" and "य", so a Hindi query matched unrelated memories,
 * and an NFD "résumé" was not found by an NFC one). "t3": NFKC, so full-width "ＡＰＩ" and "ｖ２" are "api" and "v2"
 * (as Chinese and Japanese input methods type them) and a ligature "ﬁ" is "fi"; a word with accents is indexed as
 * written and without them, so a query typed without accents finds it ("zoe naive resume" finds "Zoë naïve résumé",
 * "istanbul" finds "İstanbul") while one typed with them finds that word only ("má" is not "mã" or "ma"); an emoji or
 * a flag is a term of its own (both were dropped, so a query of them found nothing); Thai, Lao, Khmer and Myanmar,
 * written without spaces, are cut into words by the dictionary of Intl.Segmenter (a whole Thai sentence was one term,
 * so none of its words was found).
 */
const TERMS_FORM = "t3";
/** Scripts written without spaces between words that are not one term a character (as Han is): cut by a dictionary. */
const UNSPACED = /[\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
let wordSegmenter: Intl.Segmenter | undefined;
/**
 * A word or number run, or one pictograph (skin tones, variation selectors and joiners between them are left out, so
 * "👍🏽" is "👍" and a family emoji is its people), or a flag (two regional indicators).
 */
const TERM_RUNS = /[\p{L}\p{M}\p{N}_]+|\p{Regional_Indicator}{2}|\p{Extended_Pictographic}/gu;
/** Variation selectors 1–16, left out ("❤️" would otherwise leave a term of its selector alone). */
const VARIATION_SELECTORS = /[\uFE00-\uFE0F]/g;
/** The combining diacritics of Latin, Greek and Cyrillic (the vowel signs of Indic scripts are not: they tell words apart). */
const DIACRITICS = /[\u0300-\u036f]/g;

/** `term` without its accents, or undefined when it has none. */
function withoutAccents(term: string): string | undefined {
  const bare = term.normalize("NFD").replace(DIACRITICS, "").normalize("NFC");
  return bare === term || bare === "" ? undefined : bare;
}

/**
 * Lower-cased words and numbers, compatibility forms folded (NFKC: full-width letters and digits,
 * ligatures); Han, kana and Hangul, which put no spaces between words, become one term a character,
 * as does each emoji; Thai and its neighbours are cut into dictionary words. `forIndex`: a word with
 * accents is a term twice, as written and without them (a query's words are taken as written). The
 * keyword index keeps no positions, so a Chinese query matches the memories holding its characters,
 * ranked by how rare they are; word order counts through the vector (3- and 4-character n-grams),
 * which breaks the ties. Bigrams would keep order in the keyword index too, at half again its size
 * on the dev corpus (docs/SEARCH.md).
 */
export function searchTerms(text: string, forIndex = false): string[] {
  const terms: string[] = [];
  const word = (term: string) => {
    terms.push(term);
    const bare = forIndex ? withoutAccents(term) : undefined;
    if (bare !== undefined) terms.push(bare);
  };
  const push = (plain: string) => {
    if (!UNSPACED.test(plain)) word(plain);
    else for (const { segment, isWordLike } of (wordSegmenter ??= new Intl.Segmenter("th", { granularity: "word" })).segment(plain)) if (isWordLike) word(segment);
  };
  // "İ" lower-cases to "i" and a dot above: without its accent, "i".
  const normal = text.normalize("NFKC").toLowerCase().replace(VARIATION_SELECTORS, "").normalize("NFC");
  for (const run of normal.match(TERM_RUNS) ?? []) {
    let plain = "";
    for (const char of run) {
      if (CJK.test(char)) {
        if (plain) push(plain);
        plain = "";
        terms.push(char);
      } else {
        plain += char;
      }
    }
    if (plain) push(plain);
  }
  return terms;
}

/**
 * Terms held by more than this share of memories are left out of keyword queries (when rarer ones
 * are there): they add almost nothing to BM25 but make the query visit most of the index.
 */
const COMMON_TERM_SHARE = 0.05;
/** Below this many memories every term is kept: the index is small enough to visit whole. */
const COMMON_TERM_MIN_DOCS = 500;

/** Fuses rankings (ids best first) by reciprocal rank; returns each id's score and places. */
export function reciprocalRankFusion(rankings: readonly (readonly string[])[], k = RRF_K): Map<string, { score: number; ranks: (number | undefined)[] }> {
  const fused = new Map<string, { score: number; ranks: (number | undefined)[] }>();
  rankings.forEach((ranking, which) => {
    ranking.forEach((id, index) => {
      let entry = fused.get(id);
      if (!entry) fused.set(id, (entry = { score: 0, ranks: rankings.map(() => undefined) }));
      entry.score += 1 / (k + index + 1);
      entry.ranks[which] = index + 1;
    });
  });
  return fused;
}

/**
 * Every indexed vector in memory, loaded whole once and then kept up to date with what changed
 * (`SearchIndexStore.vectorsSince`): a changed memory's row is tombstoned and its new vector
 * appended; when tombstones are a quarter of the rows, the live ones are copied into a new table.
 */
interface Matrix {
  /** The store's change token when it was last brought up to date. */
  version: string;
  /** The store's cursor for `vectorsSince`. */
  cursor: string;
  /** Live row of each seq. */
  seqs: Map<number, number>;
  /** Seq of each row (-1: tombstoned). Ties in a ranking go to the lower seq, so row order never shows. */
  seqOf: number[];
  ids: string[];
  namespaces: string[];
  /** Namespace number of each row (`namespaceIds`), so a filter by namespace costs one array look-up a row. */
  nsOf: number[];
  /** A number for each namespace the rows hold (or held since the last full load or compaction). */
  namespaceIds: Map<string, number>;
  /** Live row of each memory by `memoryKey(namespace, id)`: ids are unique only within a namespace. */
  rows: Map<string, number>;
  values: VectorRows;
  /** Tombstoned rows (scored, then set to -Infinity). */
  dead: number[];
}

/** Tombstones are compacted away at this share of the rows (and at least COMPACT_MIN_DEAD of them). */
const COMPACT_DEAD_SHARE = 4;
const COMPACT_MIN_DEAD = 256;
/** Rows appended between yields to the event loop while loading, so a large load never blocks a server for long. */
const LOAD_CHUNK = 8192;
/** Memories indexed between two searches whose terms are remembered to follow the keyword lists; past it, the lists are read again. */
const FOLLOW_MAX = 16_384;

/** What `SearchIndex.warm` reads ahead: terms held by at least `minDocs` memories, `maxEntries` rows in all at most. */
export interface SearchWarmLimits {
  minDocs?: number;
  maxEntries?: number;
  signal?: AbortSignal;
}

export interface SearchWarmReport {
  /** Vectors loaded. */
  vectors: number;
  /** Terms whose rows were read, and those rows in all. */
  terms: number;
  rows: number;
  ms: number;
}

/**
 * Warming reads the rows of terms held by at least this many memories (a rarer term costs a search
 * under a millisecond to read), at most WARM_MAX_ENTRIES rows in all (4 bytes each: 16 MiB).
 */
const WARM_MIN_DOCS = 1000;
const WARM_MAX_ENTRIES = 1 << 22;

export class SearchIndex {
  private matrix: Matrix | undefined;
  /** Keyword ranking skips the rows that cannot rank (`keywordRanking`); false only to compare with the full ranking (tests). */
  private pruneKeywords = true;
  /** Keyword scores by row for `keywordRanking`, all 0 between rankings (one array, not 8 bytes a row each search). */
  private keywordScores = new Float64Array(0);
  /** Refreshes, loads and rankings run one at a time (concurrent searches after a write share one update; none sees the matrix mid-update). */
  private queue: Promise<unknown> = Promise.resolve();
  /** The change token at which the last refresh found nothing pending. */
  private settled: string | undefined;
  /** The keyword index's rows of the terms searched for, kept in step with the matrix (cleared when it is reloaded or compacted). */
  private readonly termRows = new TermRows();
  /**
   * Terms of the memories this index wrote since the matrix was last brought up to date, by seq:
   * what `termRows` needs to follow them (undefined: too many, or no matrix to follow; the lists are dropped).
   */
  private written: Map<number, readonly string[]> | undefined;
  /**
   * Memories whose text could not be read when last tried, by seq: not indexed (never indexed without
   * their text: an entry would hide them for good), and left out of the pending ones until `retryAt`.
   */
  private readonly unreadableSeqs = new Map<number, UnreadableMemory>();
  /** The seq of each of them by `memoryKey` (a memory written again under a new seq leaves the list once it is indexed). */
  private readonly unreadableKeys = new Map<string, number>();
  /** When (performance.now()) the unreadable memories are tried again. */
  private retryAt = Infinity;
  private readonly retryUnreadableMs: number;
  /** The wait before the next retry: doubled after a retry that read none of them, back to `retryUnreadableMs` after one that read some. */
  private retryDelay: number;
  private readonly encoding: VectorEncoding;
  private readonly encodingName: VectorEncodingName;
  /** What the stored index was made with: the embedder and the vector encoding. */
  readonly key: string;
  /** Told the terms of each memory this index writes (the search thread follows them into its keyword lists: `follow`). */
  onIndexed: ((seq: number, terms: readonly string[]) => void) | undefined;

  constructor(
    private readonly index: SearchIndexStore,
    private readonly embedder: Embedder,
    /** The texts (and summaries, entities) to index, one per memory, in order. */
    private readonly source: (memories: readonly { id: string; namespace: string }[]) => Promise<IndexSourceResult[]>,
    options: SearchIndexOptions = {},
  ) {
    const vectors = options.vectors ?? SEARCH_INDEX_DEFAULTS.vectors;
    this.retryUnreadableMs = options.retryUnreadableMs ?? SEARCH_INDEX_DEFAULTS.retryUnreadableMs;
    this.retryDelay = this.retryUnreadableMs;
    this.encoding = VECTOR_ENCODINGS[vectors];
    this.encodingName = vectors;
    this.key = `${embedder.name}/${vectors}/${TERMS_FORM}`;
  }

  get embedderName(): string {
    return this.embedder.name;
  }

  /** Memories not indexed yet (or indexed by another embedder). */
  pending(): Promise<number> {
    return this.index.countPending(this.key);
  }

  /** Whether a listed memory is one left out as unreadable (the same memory: a seq a deleted memory left may be another's now). */
  private leftOut(memory: { seq: number; id: string; namespace: string }): boolean {
    const entry = this.unreadableSeqs.get(memory.seq);
    if (!entry) return false;
    if (entry.id === memory.id && entry.namespace === memory.namespace) return true;
    this.unreadableSeqs.delete(memory.seq);
    const key = memoryKey(entry.namespace, entry.id);
    if (this.unreadableKeys.get(key) === memory.seq) this.unreadableKeys.delete(key);
    return false;
  }

  /**
   * The memories this index left out because their text could not be read when it last tried (of
   * `namespaces`; every namespace when undefined). One deleted since stays listed until it would
   * have been tried again.
   */
  unreadable(namespaces?: readonly string[]): UnreadableMemory[] {
    const wanted = namespaces === undefined ? undefined : new Set(namespaces);
    return [...this.unreadableSeqs.values()].filter((memory) => wanted === undefined || wanted.has(memory.namespace));
  }

  /**
   * Memories this index's reads could not even list (a damaged sealed block met by its walks for pending memories or
   * its loads of vectors), one entry a place and namespace, named by where they are as `verify` names them.
   */
  async damaged(): Promise<UnreadableMemory[]> {
    return ((await this.index.damaged?.()) ?? []).map(({ namespace, memories, where, error }) => ({
      id: damagedPlaceId({ memories, where }),
      namespace,
      code: error.code,
      message: error.message,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      memories,
    }));
  }

  /**
   * Indexes every memory that is not indexed yet, but for those whose text cannot be read (left out
   * and tried again later: `unreadable`); returns how many it indexed. When nothing was
   * written since the last refresh found nothing to do (the store's change token says so), it
   * returns at once: a search on an unchanged store does not look for pending memories at all.
   */
  refresh(onProgress?: (progress: IndexProgress) => void, signal?: AbortSignal): Promise<number> {
    return this.exclusive(() => this.refreshNow(onProgress, signal));
  }

  /** Runs `work` after every refresh and load queued before it. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async refreshNow(onProgress?: (progress: IndexProgress) => void, signal?: AbortSignal): Promise<number> {
    // Tried again: every memory left out, in a walk over every memory (the store's settled point would pass them over).
    const retrying = this.unreadableSeqs.size > 0 && performance.now() >= this.retryAt;
    // The memories a retry tries again (by key): whether it read any of them decides the next wait.
    const leftOut = retrying ? new Set(this.unreadableKeys.keys()) : undefined;
    let readAgain = 0;
    if (retrying) {
      this.unreadableSeqs.clear();
      this.unreadableKeys.clear();
      this.retryAt = Infinity;
      this.settled = undefined;
    }
    if (this.settled !== undefined && (await this.index.changeToken()) === this.settled) return 0;
    // The pending count holds the memories left out as unreadable before: this refresh does not try them.
    const total = (await this.pending()) - this.unreadableSeqs.size;
    let indexed = 0;
    let unreadable = 0;
    // One walk in seq order, each look-up after the last seq listed: a memory passed over (left out as unreadable, or
    // deleted since it was listed) is listed once a walk, and the walk never lists it again.
    let after = 0;
    // The token is read before the walk's first look-up: a write during the walk changes it, so the next refresh walks
    // again (a memory rewritten below the cursor would be missed by this walk, and by the shortcut after it).
    const token = await this.index.changeToken();
    for (;;) {
      signal?.throwIfAborted();
      const listed = await this.index.pending(this.key, INDEX_BATCH, retrying ? { after, full: true } : { after });
      if (listed.length === 0) {
        this.settled = token;
        break;
      }
      after = (listed[listed.length - 1] as { seq: number }).seq;
      const kept = this.unreadableSeqs.size === 0 ? listed : listed.filter((memory) => !this.leftOut(memory));
      // Read, embedded and written a part at a time, the listing's memories ordered by namespace (its texts are decoded
      // grouped by asset: in seq order a store's namespaces interleave, and each switch of `cm` model is a load), so
      // a part's texts are all a batch holds and its embedding all it holds the event loop for.
      const ordered = [...kept].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.seq - b.seq));
      for (let from = 0; from < ordered.length; from += INDEX_PART) {
        const batch = ordered.slice(from, from + INDEX_PART);
        // One read for the whole part (a server store answers it in one round trip, not one per memory).
        const results = await this.source(batch);
        const readable: { seq: number; source: IndexSource }[] = [];
        for (const [i, memory] of batch.entries()) {
          const result = results[i];
          if (result === undefined) continue;
          const key = memoryKey(memory.namespace, memory.id);
          if ("unreadable" in result) {
            this.unreadableSeqs.set(memory.seq, { id: memory.id, namespace: memory.namespace, ...result.unreadable });
            this.unreadableKeys.set(key, memory.seq);
            this.retryAt = Math.min(this.retryAt, performance.now() + this.retryDelay);
            unreadable++;
          } else {
            readable.push({ seq: memory.seq, source: result });
            if (leftOut?.has(key)) readAgain++;
            const before = this.unreadableKeys.get(key);
            if (before !== undefined) {
              this.unreadableSeqs.delete(before);
              this.unreadableKeys.delete(key);
            }
          }
        }
        // Nothing to write when the batch read nothing (a store may count every write: PostgreSQL's reloads every index).
        if (readable.length > 0) {
          const vectors = await this.embedder.embed(readable.map(({ source }) => embeddingText(source)));
          await this.index.put(
            this.key,
            readable.map(({ seq, source }, i) => {
              const terms = new Set(searchTerms([source.text, source.summary ?? "", ...(source.entities ?? [])].join("\n"), true));
              this.remember(seq, terms);
              this.onIndexed?.(seq, [...terms]);
              return { seq, vector: this.encoding.encode(unit(vectors[i] as Float32Array)), terms: [...terms].join(" ") };
            }),
          );
        }
        indexed += readable.length;
        onProgress?.({ indexed, unreadable, total: Math.max(total, indexed + unreadable) });
        if (from + INDEX_PART < ordered.length) await nextTurn();
      }
      // Let other requests in between batches (embedding a batch is synchronous work).
      if (listed.length === INDEX_BATCH) await nextTurn();
    }
    // A retry that read none of them waits twice as long for the next (up to RETRY_BACKOFF_MAX times the first wait).
    if (retrying) this.retryDelay = readAgain === 0 ? Math.min(this.retryDelay * 2, this.retryUnreadableMs * RETRY_BACKOFF_MAX) : this.retryUnreadableMs;
    // Rewriting the keyword index costs time in proportion to its size: only after a large share of it is new.
    // (The loaded matrix's size stands in for counting the stored vectors; without one, as on a server's
    // main thread whose searches run on the search thread, the count stops at the bound: O(indexed), not
    // O(index), on the event loop after every write.)
    if (indexed > 0 && indexed * COMPACT_SHARE >= (this.matrix?.seqs.size ?? (await this.index.indexedCount(indexed * COMPACT_SHARE)))) await this.index.compact();
    return indexed;
  }

  /**
   * The terms of memories another index over the same store wrote (its `onIndexed`), so this one's
   * next update adds them to its keyword lists instead of reading them again. Terms of a memory
   * that is not among the next update's rows are never used; a row whose terms are missing makes
   * the update drop the lists, as for a write by another process.
   */
  follow(written: readonly (readonly [number, readonly string[]])[]): void {
    for (const [seq, terms] of written) this.remember(seq, new Set(terms));
  }

  /** Keeps the terms of a memory being indexed, so the next update adds it to the keyword lists held in memory. */
  private remember(seq: number, terms: ReadonlySet<string>): void {
    if (!this.written) return;
    if (this.written.size >= FOLLOW_MAX) this.written = undefined;
    else this.written.set(seq, [...terms]);
  }

  /**
   * Reads ahead at start: the vectors, then the keyword rows of the store's most common terms
   * (`SearchIndexStore.frequentTerms`, within `limits`), which a search would otherwise read the
   * first time it meets them (tens of milliseconds for a term held by 20,000 memories). One term
   * at a time, each as a search reads it, under the same lock: searches meanwhile wait for one
   * term at most, and see the same rows they would have read themselves. Answers do not change.
   */
  async warm(limits: SearchWarmLimits = {}): Promise<SearchWarmReport> {
    const started = performance.now();
    await this.exclusive(() => this.current());
    const maxEntries = Math.min(limits.maxEntries ?? WARM_MAX_ENTRIES, this.termRows.capacity);
    const terms = (await this.index.frequentTerms?.(limits.minDocs ?? WARM_MIN_DOCS, maxEntries)) ?? [];
    let rows = 0;
    for (const term of terms) {
      if (limits.signal?.aborted) break;
      rows += await this.exclusive(async () => (await this.termRowsOf(await this.current(), term)).length);
    }
    return { vectors: this.matrix?.seqs.size ?? 0, terms: terms.length, rows, ms: Math.round(performance.now() - started) };
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    if (query.trim() === "") throw new MemzipError(ErrorCode.USAGE, "the search query is empty", { hint: "Give words to search for." });
    const limit = options.limit ?? 10;
    const mode = options.mode ?? "hybrid";
    const candidates = Math.max(50, limit * CANDIDATES_PER_HIT);
    const [queryVector] = await this.embedder.embed([query]);
    // Ranked under the lock: the matrix is updated in place, and a ranking must see one state of it.
    return this.exclusive(async () => {
      const matrix = await this.current();
      const floor = options.minSimilarity ?? this.defaultFloor();
      const similarities = this.similarities(matrix, queryVector as Float32Array, floor);
      const admit = this.admission(matrix, options);
      const rankings: string[][] = [];
      if (mode !== "keyword") rankings.push(this.nearest(matrix, similarities, candidates, admit, floor));
      if (mode !== "vector") rankings.push(await this.keywordRanking(matrix, similarities, searchTerms(query), candidates, admit));
      return this.fuse(matrix, similarities, rankings, mode, limit);
    });
  }

  /** Memories most like `id` by vector similarity (itself left out). */
  related(id: string, namespace: string, options: Omit<SearchOptions, "mode"> = {}): Promise<SearchHit[]> {
    return this.exclusive(() => this.relatedNow(id, namespace, options));
  }

  private async relatedNow(id: string, namespace: string, options: Omit<SearchOptions, "mode">): Promise<SearchHit[]> {
    const matrix = await this.current();
    const row = matrix.rows.get(memoryKey(namespace, id));
    const unreadable = row === undefined ? this.unreadableSeqs.get(this.unreadableKeys.get(memoryKey(namespace, id)) ?? -1) : undefined;
    if (unreadable) {
      throw new MemzipError(unreadable.code, `memory "${id}" is not in the search index: its text cannot be read (${unreadable.message})`, {
        hint: unreadable.hint ?? "Run `memzip verify` for what it needs.",
        details: { id },
      });
    }
    if (row === undefined) {
      throw new MemzipError(ErrorCode.NOT_FOUND, `memory "${id}" is not in the search index`, {
        hint: "Check the id with `memzip ls`; new memories are indexed by the next `memzip search` or `memzip related`.",
        details: { id },
      });
    }
    const floor = options.minSimilarity ?? this.defaultFloor();
    const similarities = this.similarities(matrix, matrix.values.vector(row), floor);
    similarities[row] = -Infinity;
    const limit = options.limit ?? 10;
    return this.fuse(matrix, similarities, [this.nearest(matrix, similarities, limit, this.admission(matrix, options), floor)], "vector", limit);
  }

  private defaultFloor(): number {
    return this.embedder.name.startsWith("ngram-") ? NGRAM_MIN_SIMILARITY : 0;
  }

  /**
   * Which rows a query may return: its namespace(s) and filter, decided before ranking; undefined when every row may.
   * The filter's keys and the expired memories' are held as rows, once: no key is made for each row a ranking looks at
   * (keyword counts walk whole term lists). `count()`: how many live rows it admits, the document count of a search
   * limited to some namespaces or memories, from those rows where the filter names some, else from a walk over the
   * rows' namespace numbers.
   */
  private admission(matrix: Matrix, options: Omit<SearchOptions, "mode">): Admission | undefined {
    const byNamespace = this.namespaceAdmission(matrix, options);
    const except = options.except !== undefined && options.except.size > 0 ? options.except : undefined;
    if (byNamespace === undefined && options.only === undefined && except === undefined) return undefined;
    const rowsOf = (keys: ReadonlySet<string>) => {
      const rows = new Set<number>();
      for (const key of keys) {
        const row = matrix.rows.get(key);
        if (row !== undefined) rows.add(row);
      }
      return rows;
    };
    const only = options.only === undefined ? undefined : rowsOf(options.only);
    const excepted = except === undefined ? undefined : rowsOf(except);
    const seqOf = matrix.seqOf;
    const inScope = (row: number) => (seqOf[row] as number) >= 0 && (byNamespace === undefined || byNamespace(row));
    const admit = (row: number) => (byNamespace === undefined || byNamespace(row)) && (only === undefined || only.has(row)) && (excepted === undefined || !excepted.has(row));
    const count = (): number => {
      let n = 0;
      if (only !== undefined) {
        for (const row of only) if (inScope(row) && !excepted?.has(row)) n++;
        return n;
      }
      if (byNamespace === undefined) n = matrix.seqs.size;
      else for (let row = 0; row < seqOf.length; row++) if (inScope(row)) n++;
      if (excepted) for (const row of excepted) if (inScope(row)) n--;
      return n;
    };
    return Object.assign(admit, { count });
  }

  /** The rows of the query's namespace(s): one flag a namespace number (every row's namespace has one); undefined when all are. */
  private namespaceAdmission(matrix: Matrix, options: Omit<SearchOptions, "mode">): ((row: number) => boolean) | undefined {
    const { namespace } = options;
    const namespaces = options.namespaces === undefined ? undefined : new Set(options.namespaces);
    if (namespace === undefined && namespaces === undefined) return undefined;
    const allowed = new Uint8Array(matrix.namespaceIds.size);
    let all = true;
    for (const [name, n] of matrix.namespaceIds) {
      allowed[n] = (namespace === undefined || name === namespace) && (namespaces === undefined || namespaces.has(name)) ? 1 : 0;
      if (allowed[n] === 0) all = false;
    }
    if (all) return undefined;
    const nsOf = matrix.nsOf;
    return (row) => allowed[nsOf[row] as number] === 1;
  }

  /** Drops the whole index; the next refresh rebuilds it. */
  async clear(): Promise<void> {
    await this.index.clear();
    this.matrix = undefined;
    this.settled = undefined;
    // A rebuild tries every memory again.
    this.unreadableSeqs.clear();
    this.unreadableKeys.clear();
    this.retryAt = Infinity;
    this.retryDelay = this.retryUnreadableMs;
    this.termRows.clear();
    this.written = undefined;
  }

  /** Live rows in the loaded matrix (for tests and stats; loads it). */
  async loadedRows(): Promise<number> {
    return this.exclusive(async () => (await this.current()).seqs.size);
  }

  /**
   * Keys (`memoryKey`) of the live memories holding `term`, sorted, as keyword ranking sees them, and
   * whether its rows were held in memory before this call (for tests; loads what it needs).
   */
  termMatches(term: string): Promise<{ keys: string[]; held: boolean }> {
    return this.exclusive(async () => {
      const matrix = await this.current();
      const held = this.termRows.get(term) !== undefined;
      const rows = await this.termRowsOf(matrix, term);
      const keys = [...rows].filter((row) => (matrix.seqOf[row] as number) >= 0).map((row) => rowKey(matrix, row));
      return { keys: keys.sort(), held };
    });
  }

  /** Terms and rows of the keyword lists held in memory (4 bytes a row). */
  heldTermRows(): { terms: number; rows: number } {
    return { terms: this.termRows.terms, rows: this.termRows.entries };
  }

  /** Bytes the index's tables take in the store. */
  bytes(): Promise<SearchIndexBytes> {
    return this.index.bytes();
  }

  /** Bytes of vector payload in the store (without row and page overhead). */
  vectorBytes(): Promise<number> {
    return this.index.vectorBytes();
  }

  /**
   * Ids of the memories holding the most (by IDF) of the query's selective terms, best first; ties
   * go to the higher vector similarity.
   */
  private async keywordRanking(matrix: Matrix, similarities: Float32Array, terms: readonly string[], count: number, admit: Admission | undefined): Promise<string[]> {
    // Counted over the rows this search may return: counts over the whole store told a tenant which words other
    // namespaces hold (a rare word there dropped a common query word here), and ranked its hits by them.
    const total = admit ? admit.count() : matrix.seqs.size;
    const selective = await this.selectiveTerms(matrix, terms, total, admit);
    // From here on synchronous: the scores array is shared by every ranking and left all 0 again.
    if (this.keywordScores.length < matrix.seqOf.length) this.keywordScores = new Float64Array(Math.max(matrix.seqOf.length, this.keywordScores.length * 2));
    const scores = this.keywordScores;
    const touched: number[] = [];
    const seqOf = matrix.seqOf;
    try {
      const idfs = selective.map(({ docs }) => Math.log(1 + (total - docs + 0.5) / (docs + 0.5)));
      // Once `count` touched rows score above what a row not touched yet can reach (`restFrom`), no other row can
      // reach the count-th best score: the later (commoner) terms only add to the touched rows, and the rows ranked
      // below are the same as with every row added.
      let closed = false;
      for (const [t, { rows }] of selective.entries()) {
        const idf = idfs[t] as number;
        if (!closed && this.pruneKeywords && touched.length >= count) closed = countAbove(touched, scores, restFrom(idfs, t), count);
        if (closed) {
          for (const row of rows) if (scores[row] !== 0) scores[row] = (scores[row] as number) + idf;
          continue;
        }
        for (const row of rows) {
          if ((seqOf[row] as number) < 0 || (admit && !admit(row))) continue;
          if (scores[row] === 0) touched.push(row);
          scores[row] = (scores[row] as number) + idf;
        }
      }
      // Only rows scoring at least the count-th best keyword score can be ranked; among them ties go to
      // the higher similarity, the exact one (the scan holds exact scores only at or above the floor).
      const ranked = touched.length <= count ? touched : atLeastNth(touched, scores, count);
      matrix.values.exact(ranked);
      const better = (a: number, b: number) => (scores[b] as number) - (scores[a] as number) || (similarities[b] as number) - (similarities[a] as number) || (seqOf[a] as number) - (seqOf[b] as number);
      return topRows(ranked, count, better).map((row) => rowKey(matrix, row));
    } finally {
      for (const row of touched) scores[row] = 0;
    }
  }

  private fuse(matrix: Matrix, similarities: Float32Array, rankings: string[][], mode: SearchOptions["mode"], limit: number): SearchHit[] {
    const fused = reciprocalRankFusion(rankings);
    return [...fused.entries()]
      .sort((a, b) => b[1].score - a[1].score || a[0].localeCompare(b[0]))
      .slice(0, limit)
      .map(([key, { score, ranks }]) => {
        const row = matrix.rows.get(key) as number;
        const id = matrix.ids[row] as string;
        const vectorRank = mode === "keyword" ? undefined : ranks[0];
        const keywordRank = mode === "keyword" ? ranks[0] : mode === "hybrid" ? ranks[1] : undefined;
        return {
          id,
          namespace: matrix.namespaces[row] as string,
          score,
          similarity: similarities[row] as number,
          ...(vectorRank ? { vectorRank } : {}),
          ...(keywordRank ? { keywordRank } : {}),
        };
      });
  }

  /**
   * The query's terms minus the very common ones (the two rarest found are always kept), each with
   * the live rows holding it and their count (its document frequency), both among the admitted rows
   * where `admit` is given: what other namespaces or filtered-out memories hold changes nothing.
   */
  private async selectiveTerms(matrix: Matrix, terms: readonly string[], indexed: number, admit: ((row: number) => boolean) | undefined): Promise<{ term: string; rows: Int32Array; docs: number }[]> {
    const unique = [...new Set(terms)];
    const limit = Math.max(COMMON_TERM_MIN_DOCS, indexed * COMMON_TERM_SHARE);
    const seqOf = matrix.seqOf;
    // A term's live (and admitted) rows, counted up to `most`: past it a term is common, and its exact count is
    // needed only where it is one of the two rarest found.
    const countOf = (rows: Int32Array, most: number): number => {
      // Every tombstoned row is in `dead`: with none and no admission, every row of a list counts (no walk).
      if (matrix.dead.length === 0 && !admit) return rows.length;
      let docs = 0;
      for (let i = 0; i < rows.length && docs <= most; i++) {
        const row = rows[i] as number;
        if ((seqOf[row] as number) >= 0 && (!admit || admit(row))) docs++;
      }
      return docs;
    };
    const counted: { term: string; rows: Int32Array; docs: number }[] = [];
    for (const term of unique) {
      const rows = await this.termRowsOf(matrix, term);
      counted.push({ term, rows, docs: countOf(rows, limit) });
    }
    const selective = counted.filter((t) => t.docs > 0 && t.docs <= limit);
    if (selective.length < 2) {
      // Fewer than two rare terms: the commonest are kept too, the rarest of them first, by their exact counts.
      const common = counted.filter((t) => t.docs > limit).map((t) => ({ ...t, docs: countOf(t.rows, Infinity) }));
      selective.push(...common.sort((a, b) => a.docs - b.docs).slice(0, 2 - selective.length));
    }
    return selective.sort((a, b) => a.docs - b.docs);
  }

  /**
   * The rows of the memories holding `term`: from memory, else read from the keyword index once
   * (then kept in step with later writes by `apply`). Dead rows may be among them.
   */
  private async termRowsOf(matrix: Matrix, term: string): Promise<Int32Array> {
    const held = this.termRows.get(term);
    if (held) return held;
    const seqs = await this.index.matching(term);
    const rows = new Int32Array(seqs.length);
    let n = 0;
    for (const seq of seqs) {
      const row = matrix.seqs.get(seq);
      if (row !== undefined) rows[n++] = row;
    }
    const found = n === rows.length ? rows : rows.slice(0, n);
    this.termRows.set(term, found);
    return found;
  }

  /**
   * Every row's similarity to `query`, exact at or above `floor`; a row below it may hold a value
   * below `floor` instead until `matrix.values.exact` is called for it. Dead rows: -Infinity.
   */
  private similarities(matrix: Matrix, query: Float32Array, floor: number): Float32Array {
    // Stored vectors are unit length: scored against the unit query, the scores are cosines.
    const out = matrix.values.scores(unit(query), floor);
    for (const r of matrix.dead) out[r] = -Infinity;
    return out;
  }

  /** Ids of the `count` admitted rows with the highest similarity at or above `floor`, best first (ties: the lower seq). */
  private nearest(matrix: Matrix, similarities: Float32Array, count: number, admit: ((row: number) => boolean) | undefined, floor: number): string[] {
    const seqOf = matrix.seqOf;
    // a before b: higher similarity, then lower seq.
    const before = (a: number, b: number) => {
      const d = (similarities[a] as number) - (similarities[b] as number);
      return d > 0 || (d === 0 && (seqOf[a] as number) < (seqOf[b] as number));
    };
    // A bounded selection: keep the best `count` seen so far, sorted worst first (small `count`),
    // over the rows at or above the floor (with n-gram vectors a handful of 10^5), found by a tight loop first.
    const best: number[] = [];
    for (const r of matrix.values.atOrAbove(floor) ?? atOrAbove(similarities, floor)) {
      const s = similarities[r] as number;
      if (s === -Infinity || s < floor || (best.length === count && s < (similarities[best[0] as number] as number))) continue;
      if (admit && !admit(r)) continue;
      if (best.length === count && !before(r, best[0] as number)) continue;
      let at = best.findIndex((b) => before(b, r));
      if (at === -1) at = best.length;
      best.splice(at, 0, r);
      if (best.length > count) best.shift();
    }
    return best.reverse().map((r) => rowKey(matrix, r));
  }

  /**
   * The matrix as of the store's current change token: loaded whole the first time, then brought up
   * to date with what changed. Only under the lock (`exclusive`): it updates the matrix in place.
   */
  private async current(): Promise<Matrix> {
    // The token is read before the changes: a write after it changes the token, so it is never missed.
    const version = await this.index.changeToken();
    if (this.matrix?.version === version) return this.matrix;
    const changes = await this.index.vectorsSince(this.key, this.matrix?.cursor);
    if (changes.full || !this.matrix) {
      this.termRows.clear();
      this.matrix = await this.fullMatrix(version, changes);
    } else {
      this.matrix = this.apply(this.matrix, version, changes);
    }
    // From here on, what this index writes is followed into the keyword lists.
    this.written = new Map();
    return this.matrix;
  }

  private async fullMatrix(version: string, changes: VectorChanges): Promise<Matrix> {
    const matrix: Matrix = {
      version,
      cursor: changes.cursor,
      seqs: new Map(),
      seqOf: [],
      ids: [],
      namespaces: [],
      nsOf: [],
      namespaceIds: new Map(),
      rows: new Map(),
      values: vectorRows(this.encodingName, this.embedder.dimensions, Math.max(1024, changes.vectors.seqs.length)),
      dead: [],
    };
    for (let from = 0; from < changes.vectors.seqs.length; from += LOAD_CHUNK) {
      if (from > 0) await nextTurn();
      this.append(matrix, changes.vectors, from, Math.min(changes.vectors.seqs.length, from + LOAD_CHUNK));
    }
    return matrix;
  }

  private apply(matrix: Matrix, version: string, changes: VectorChanges): Matrix {
    for (const seq of changes.changed) {
      const row = matrix.seqs.get(seq);
      if (row === undefined) continue;
      matrix.seqs.delete(seq);
      matrix.rows.delete(rowKey(matrix, row));
      matrix.seqOf[row] = -1;
      matrix.dead.push(row);
    }
    // New rows join the keyword lists held in memory when this index wrote them (their terms are known), else the lists go.
    const { seqs } = changes.vectors;
    const written = this.written;
    const follow = written !== undefined && seqs.every((seq) => written.has(seq));
    if (!follow) this.termRows.clear();
    const first = matrix.values.rows;
    this.append(matrix, changes.vectors, 0, seqs.length);
    if (follow) seqs.forEach((seq, i) => this.termRows.add(first + i, written.get(seq) as readonly string[]));
    matrix.version = version;
    matrix.cursor = changes.cursor;
    if (matrix.dead.length >= COMPACT_MIN_DEAD && matrix.dead.length * COMPACT_DEAD_SHARE >= matrix.values.rows) {
      this.termRows.clear();
      return compacted(matrix);
    }
    return matrix;
  }

  private append(matrix: Matrix, vectors: IndexedVectors, from: number, to: number): void {
    const bytes = this.encoding.bytes(this.embedder.dimensions);
    for (let i = from; i < to; i++) {
      const vector = vectors.vectors[i] as Uint8Array;
      if (vector.length !== bytes) {
        throw new MemzipError(ErrorCode.FORMAT, `a search vector of ${this.key} has ${vector.length} bytes, not the ${bytes} of ${this.embedder.dimensions} dimensions`, {
          hint: "The index was written by another embedder under the same name; rebuild it with `memzip search --reindex`.",
        });
      }
      const seq = vectors.seqs[i] as number;
      const id = vectors.ids[i] as string;
      const namespace = vectors.namespaces[i] as string;
      const stale = matrix.seqs.get(seq);
      if (stale !== undefined) {
        matrix.rows.delete(rowKey(matrix, stale));
        matrix.seqOf[stale] = -1;
        matrix.dead.push(stale);
      }
      const row = matrix.values.append(vector);
      matrix.seqOf[row] = seq;
      matrix.ids[row] = id;
      matrix.namespaces[row] = namespace;
      matrix.nsOf[row] = namespaceId(matrix, namespace);
      matrix.seqs.set(seq, row);
      matrix.rows.set(memoryKey(namespace, id), row);
    }
  }
}

/** The live rows of `matrix` copied into a new table (row order kept). */
function compacted(matrix: Matrix): Matrix {
  const keep: number[] = [];
  for (let r = 0; r < matrix.seqOf.length; r++) if ((matrix.seqOf[r] as number) >= 0) keep.push(r);
  const next: Matrix = { ...matrix, seqs: new Map(), seqOf: [], ids: [], namespaces: [], nsOf: [], namespaceIds: new Map(), rows: new Map(), values: matrix.values.compacted(keep), dead: [] };
  keep.forEach((r, row) => {
    const seq = matrix.seqOf[r] as number;
    const id = matrix.ids[r] as string;
    const namespace = matrix.namespaces[r] as string;
    next.seqOf.push(seq);
    next.ids.push(id);
    next.namespaces.push(namespace);
    next.nsOf.push(namespaceId(next, namespace));
    next.seqs.set(seq, row);
    next.rows.set(memoryKey(namespace, id), row);
  });
  return next;
}

/**
 * The `count` best of `rows` in order (`compare` < 0 puts a first), without sorting them all: a
 * keyword common in a large store touches tens of thousands of rows, of which ten are wanted.
 */
export function topRows(rows: readonly number[], count: number, compare: (a: number, b: number) => number): number[] {
  if (rows.length <= count * 4) return [...rows].sort(compare).slice(0, count);
  // A bounded max-heap of the best so far (its root is the worst kept).
  const heap: number[] = [];
  const worse = (i: number, j: number) => compare(heap[i] as number, heap[j] as number) > 0;
  const swap = (i: number, j: number) => {
    const t = heap[i] as number;
    heap[i] = heap[j] as number;
    heap[j] = t;
  };
  for (const row of rows) {
    if (heap.length === count) {
      if (compare(row, heap[0] as number) >= 0) continue;
      heap[0] = row;
    } else {
      heap.push(row);
      for (let i = heap.length - 1; i > 0 && worse(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
      continue;
    }
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < heap.length && worse(l, top)) top = l;
      if (r < heap.length && worse(r, top)) top = r;
      if (top === i) break;
      swap(i, top);
      i = top;
    }
  }
  return heap.sort(compare);
}

/**
 * The rows of `rows` whose score is at least the `n`-th highest of theirs (`n` < rows.length), in
 * their order: every row the best `n` can hold, whatever breaks their ties.
 */
export function atLeastNth(rows: readonly number[], scores: Float64Array, n: number): number[] {
  // The n highest scores in a min-heap: its top is the n-th highest.
  const heap = new Float64Array(n);
  let size = 0;
  for (const row of rows) {
    const s = scores[row] as number;
    let i: number;
    if (size < n) {
      i = size++;
      while (i > 0 && (heap[(i - 1) >> 1] as number) > s) {
        heap[i] = heap[(i - 1) >> 1] as number;
        i = (i - 1) >> 1;
      }
    } else {
      if (s <= (heap[0] as number)) continue;
      i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && (heap[l + 1] as number) < (heap[l] as number) ? l + 1 : l;
        if ((heap[c] as number) >= s) break;
        heap[i] = heap[c] as number;
        i = c;
      }
    }
    heap[i] = s;
  }
  const nth = heap[0] as number;
  const out: number[] = [];
  for (const row of rows) if ((scores[row] as number) >= nth) out.push(row);
  return out;
}

/**
 * The most a row holding none of the terms before `t` can score: the idfs from `t` on, summed from 0 in the
 * order a row's score adds them. Not the total minus the idfs added (that may round below it): a row's score
 * is a sum of some of these in the same order, never more in floating point, since adding a number >= 0 is
 * monotone and never lowers a sum.
 */
export function restFrom(idfs: readonly number[], t: number): number {
  let sum = 0;
  for (let i = t; i < idfs.length; i++) sum += idfs[i] as number;
  return sum;
}

/** Whether at least `count` of `rows` score above `bound`. */
function countAbove(rows: readonly number[], scores: Float64Array, bound: number, count: number): boolean {
  let above = 0;
  for (const row of rows) if ((scores[row] as number) > bound && ++above >= count) return true;
  return false;
}

/** Rows whose score is not below `floor` (nor -Infinity: dead), in order. */
function atOrAbove(scores: Float32Array, floor: number): number[] {
  const rows: number[] = [];
  for (let r = 0; r < scores.length; r++) {
    const s = scores[r] as number;
    if (!(s < floor) && s !== -Infinity) rows.push(r);
  }
  return rows;
}

/** The number of `namespace` in `matrix` (a new one for a namespace it has not seen). */
function namespaceId(matrix: Matrix, namespace: string): number {
  let n = matrix.namespaceIds.get(namespace);
  if (n === undefined) matrix.namespaceIds.set(namespace, (n = matrix.namespaceIds.size));
  return n;
}

/** The rows a search may return (`SearchIndex.admission`), and how many live ones that is. */
type Admission = ((row: number) => boolean) & { count(): number };

function rowKey(matrix: Matrix, row: number): string {
  return memoryKey(matrix.namespaces[row] as string, matrix.ids[row] as string);
}

/** Scoring assumes stored vectors of length 1 (model embedders need not give them). */
function unit(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const v of vector) norm += v * v;
  if (norm === 0 || Math.abs(norm - 1) < 1e-6) return vector;
  const scale = 1 / Math.sqrt(norm);
  return vector.map((v) => v * scale);
}

function embeddingText(source: IndexSource): string {
  const described = [source.summary ?? "", ...(source.entities ?? [])].filter(Boolean).join("\n");
  return (described || source.text).slice(0, EMBED_CHARS);
}
