/**
 * Searches ranked on a worker thread (src/engine/search-worker.ts), so a server uses its second
 * core: while one search is scored there, the main thread parses, filters and answers the others.
 * The thread reads the store through its own read-only connection and gives the same hits as the
 * main thread's index (a test compares them): with each search it is sent what the main
 * connection's change log holds since the previous one (`ThreadDelta`), in order. Started on the
 * first search; a crashed thread fails only the searches it had in flight (the next one starts a
 * new thread, which reloads); closed with the engine, after which it starts nothing.
 */
import { WorkerPool } from "../core/worker-pool.js";
import type { SearchIndexStore } from "../core/store.js";
import { MemzipError, type ErrorCode } from "../errors.js";
import type { SearchHit, SearchOptions, SearchWarmLimits, SearchWarmReport, UnreadableMemory } from "../search/search.js";
import type { VectorEncodingName } from "../search/vector-encoding.js";
import type { ThreadDelta } from "./pushed-changes.js";

export interface SearchThreadData {
  /** The SQLite store file. */
  path: string;
  /** Of the built-in n-gram embedder. */
  dimensions: number;
  vectors: VectorEncodingName;
}

/** What crosses to the thread: the search options, with the key sets as arrays. */
export type SearchRequest = Omit<SearchOptions, "only" | "except"> & {
  seq: number;
  query: string;
  only?: string[];
  except?: string[];
  /** Memories the main thread indexed since the last request, with their terms (`SearchIndex.follow`). */
  written?: [number, string[]][];
  /** The index's changes since the previous request to this thread (none: nothing changed). */
  delta?: ThreadDelta;
  /** Not a search: warm the thread's index (`SearchIndex.warm`); the query is ignored. */
  warm?: Omit<SearchWarmLimits, "signal">;
};

export type SearchReply =
  | { seq: number; hits: SearchHit[]; warmed?: SearchWarmReport; damaged?: UnreadableMemory[] }
  | { seq: number; error: { code: ErrorCode; message: string; hint: string | undefined } };

/** Searches in flight on the thread at most; more wait for room. */
const DEPTH = 64;
/** Indexed memories whose terms are kept for the thread between searches; past it they are dropped (the thread re-reads its keyword lists). */
const WRITTEN_MAX = 16_384;

/** Per thread: whether it has been told to load the index (a new thread knows nothing of the changes sent to the one before). */
interface ThreadState {
  loaded: boolean;
}

export class SearchThread {
  private readonly pool: WorkerPool<SearchReply, ThreadState>;
  /** Terms of the memories indexed since the last request (undefined: too many were, the thread drops its lists). */
  private written: [number, string[]][] | undefined = [];
  /** Where the main connection's change log was at the last request. */
  private cursor: string | undefined;
  /** Requests are posted one at a time: a delta is read and posted in one step, so deltas reach the thread in the order they were read. */
  private posting: Promise<unknown> = Promise.resolve();

  /**
   * `index` and `key`: the main thread's connection to the store's index and the index key, whose
   * changes (`vectorsSince`) are sent to the thread with each search.
   */
  constructor(
    data: SearchThreadData,
    private readonly index: SearchIndexStore,
    private readonly key: string,
  ) {
    this.pool = new WorkerPool<SearchReply, ThreadState>({
      name: "search thread",
      script: new URL("./search-worker.js", import.meta.url),
      workerData: data,
      size: 1,
      depth: DEPTH,
      initialState: () => ({ loaded: false }),
      replyError: (reply) => ("error" in reply ? new MemzipError(reply.error.code, reply.error.message, reply.error.hint === undefined ? {} : { hint: reply.error.hint }) : undefined),
    });
  }

  /** The main thread's index wrote `seq` with `terms` (its `onIndexed`). */
  indexed(seq: number, terms: readonly string[]): void {
    if (this.written && this.written.length >= WRITTEN_MAX) this.written = undefined;
    this.written?.push([seq, [...terms]]);
  }

  /** What the thread's last search passed over (a damaged sealed block): its memories were not searched. */
  damaged: UnreadableMemory[] = [];

  async search(query: string, options: SearchOptions): Promise<SearchHit[]> {
    const { only, except, ...rest } = options;
    const reply = await this.request({ ...rest, query, ...(only ? { only: [...only] } : {}), ...(except ? { except: [...except] } : {}) });
    if (reply.damaged) this.damaged = reply.damaged;
    return reply.hits;
  }

  /**
   * Starts the thread if it is not running and warms its index (`SearchIndex.warm`): the vectors,
   * then the keyword rows of the most common terms. Searches posted meanwhile are answered between
   * two terms. Returns what was read.
   */
  async warm(limits: Omit<SearchWarmLimits, "signal"> = {}): Promise<SearchWarmReport | undefined> {
    return (await this.request({ query: "", warm: limits })).warmed;
  }

  /** Posts `request` with the changes since the previous one (in order) and waits for its answer. */
  private async request(request: Omit<SearchRequest, "seq">): Promise<Exclude<SearchReply, { error: unknown }>> {
    // Everything but the delta first: once a delta is read it must reach the thread.
    // The reply is wrapped: a promise resolved with a promise would wait for it, and the next post would wait for this reply.
    const post = async (): Promise<{ reply: Promise<SearchReply> }> => {
      const slot = await this.pool.slot();
      const reload = !slot.state.loaded;
      const changes = await this.index.vectorsSince(this.key, this.cursor, { cursorOnly: true });
      // From here to the post nothing awaits: no other request's delta can come between.
      this.cursor = changes.cursor;
      slot.state.loaded = true;
      const delta: ThreadDelta | undefined = reload || changes.full ? { reload: true } : changes.changed.length > 0 ? { changed: changes.changed, vectors: changes.vectors } : undefined;
      const written = this.written ?? [];
      this.written = [];
      const seq = this.pool.nextSeq();
      const message: SearchRequest = { ...request, seq, ...(written.length > 0 ? { written } : {}), ...(delta ? { delta } : {}) };
      // A message that could not be posted lost its delta: the thread loads the index again with the next one.
      return { reply: this.pool.send(slot, seq, message, () => (slot.state.loaded = false)) };
    };
    const posted = this.posting.then(post);
    this.posting = posted.catch(() => undefined);
    const reply = await (await posted).reply;
    if ("error" in reply) throw new MemzipError(reply.error.code, reply.error.message, reply.error.hint === undefined ? {} : { hint: reply.error.hint });
    return reply;
  }

  /** Stops the thread; searches still in flight fail. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
