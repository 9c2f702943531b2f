/**
 * The search thread (`SearchThread`): ranks searches off the main thread over its own (reading-only)
 * connection to the SQLite store (WAL lets it read beside the writer). Its `SearchIndex` loads
 * the vectors and keyword rows once and then follows the changes the main thread sends with each
 * search (its connection's change log: `PushedChanges`), applied in the order they were sent; it
 * never indexes (the main thread refreshes the index before it asks).
 */
import { parentPort, workerData } from "node:worker_threads";
import { MemzipError, ErrorCode } from "../errors.js";
import { SearchIndex, type SearchOptions } from "../search/search.js";
import { HashedNgramEmbedder } from "../search/similarity.js";
import type { VectorEncodingName } from "../search/vector-encoding.js";
import { SqliteStore } from "../store/sqlite/index.js";
import { PushedChanges } from "./pushed-changes.js";
import type { SearchRequest, SearchReply, SearchThreadData } from "./search-thread.js";

const data = workerData as SearchThreadData;
const store = SqliteStore.open(data.path, { readOnly: true });
const changes = new PushedChanges(store.search);
const index = new SearchIndex(
  changes,
  new HashedNgramEmbedder(data.dimensions),
  () => Promise.reject(new MemzipError(ErrorCode.USAGE, "the search thread does not index", { hint: "Refresh the index on the main thread first." })),
  { vectors: data.vectors as VectorEncodingName },
);

parentPort?.on("message", (request: SearchRequest) => {
  const { seq, query, only, except, written, delta, warm, ...rest } = request;
  // Before the search is queued: its update of the index then applies the delta and follows these memories into the keyword lists.
  if (delta) changes.push(delta);
  if (written) index.follow(written);
  const options: SearchOptions = { ...rest, ...(only ? { only: new Set(only) } : {}), ...(except ? { except: new Set(except) } : {}) };
  // With its hits, what its loads passed over (a damaged sealed block): the main thread counts them as unsearchable.
  const answer = warm ? index.warm(warm).then((warmed) => ({ seq, hits: [], warmed })) : index.search(query, options).then(async (hits) => ({ seq, hits, damaged: await index.damaged() }));
  answer.then(
    (reply) => parentPort?.postMessage(reply satisfies SearchReply),
    (error: unknown) => {
      const typed = error instanceof MemzipError ? error : undefined;
      // The deltas this search took from the queue may not have been applied: the next search reloads (a bad request changed nothing).
      if (typed?.code !== ErrorCode.USAGE) changes.push({ reload: true });
      parentPort?.postMessage({ seq, error: { code: typed?.code ?? ErrorCode.FORMAT, message: error instanceof Error ? error.message : String(error), hint: typed?.hint } } satisfies SearchReply);
    },
  );
});
