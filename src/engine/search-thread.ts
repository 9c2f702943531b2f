/**
 * Searches ranked on a worker thread (src/engine/search-worker.ts), so a server uses its second
 * core: while one search is scored there, the main thread parses, filters and answers the others.
 * The thread reads the store through its own read-only connection and gives the same hits as the
 * main thread's index (a test compares them). Started on the first search; a crashed thread fails
 * only the searches it had in flight (the next one starts a new thread); closed with the engine,
 * after which it starts nothing.
 */
import { WorkerPool } from "../core/worker-pool.js";
import { MemzipError, type ErrorCode } from "../errors.js";
import type { SearchHit, SearchOptions } from "../search/search.js";
import type { VectorEncodingName } from "../search/vector-encoding.js";

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
};

export type SearchReply = { seq: number; hits: SearchHit[] } | { seq: number; error: { code: ErrorCode; message: string; hint: string | undefined } };

/** Searches in flight on the thread at most; more wait for room. */
const DEPTH = 64;
/** Indexed memories whose terms are kept for the thread between searches; past it they are dropped (the thread re-reads its keyword lists). */
const WRITTEN_MAX = 16_384;

export class SearchThread {
  private readonly pool: WorkerPool<SearchReply, null>;
  /** Terms of the memories indexed since the last request (undefined: too many were, the thread drops its lists). */
  private written: [number, string[]][] | undefined = [];

  constructor(data: SearchThreadData) {
    this.pool = new WorkerPool<SearchReply, null>({
      name: "search thread",
      script: new URL("./search-worker.js", import.meta.url),
      workerData: data,
      size: 1,
      depth: DEPTH,
      initialState: () => null,
      replyError: (reply) => ("error" in reply ? new MemzipError(reply.error.code, reply.error.message, reply.error.hint === undefined ? {} : { hint: reply.error.hint }) : undefined),
    });
  }

  /** The main thread's index wrote `seq` with `terms` (its `onIndexed`). */
  indexed(seq: number, terms: readonly string[]): void {
    if (this.written && this.written.length >= WRITTEN_MAX) this.written = undefined;
    this.written?.push([seq, [...terms]]);
  }

  async search(query: string, options: SearchOptions): Promise<SearchHit[]> {
    const slot = await this.pool.slot();
    const seq = this.pool.nextSeq();
    const { only, except, ...rest } = options;
    const written = this.written ?? [];
    this.written = [];
    const request: SearchRequest = { ...rest, seq, query, ...(only ? { only: [...only] } : {}), ...(except ? { except: [...except] } : {}), ...(written.length > 0 ? { written } : {}) };
    const reply = await this.pool.send(slot, seq, request);
    if ("error" in reply) throw new MemzipError(reply.error.code, reply.error.message, reply.error.hint === undefined ? {} : { hint: reply.error.hint });
    return reply.hits;
  }

  /** Stops the thread; searches still in flight fail. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
