/**
 * Delete by filter: every memory a filter matches (the same filter as list and search), with a dry
 * run that only counts. Matches are collected first, then deleted one by one (each with its
 * history); assets only the deleted memories needed go, as with a single delete. A memory another
 * writer changed, or forgot and wrote again, after the match is left as that writer left it: it is
 * deleted only while it is as matched (its tag and creation time, then its row version in the
 * store's transaction) — `compact`'s purge of expired memories never deletes one remembered again.
 */
import { narrowsBeyondNamespaces, pagedMemories, type MemoryFilter, type MemoryRef, type MemorySummary, type Store } from "../core/store.js";
import { ErrorCode, MemzipError, isMemzipError } from "../errors.js";
import type { EngineAssets } from "./assets.js";
import { memoryTag } from "./rows.js";
import type { ForgetWhereOptions, ForgetWhereReport } from "./types.js";

/** Ids a report lists at most (the count is always whole). */
export const FORGET_WHERE_IDS = 100;

/** Whether a filter narrows anything (an absent namespace list matches every namespace). */
function isEmptyFilter(filter: MemoryFilter): boolean {
  return filter.namespaces === undefined && !narrowsBeyondNamespaces(filter);
}

export async function forgetWhere(store: Store, assets: EngineAssets, filter: MemoryFilter, options: ForgetWhereOptions = {}): Promise<ForgetWhereReport> {
  if (isEmptyFilter(filter) && options.all !== true) {
    throw new MemzipError(ErrorCode.USAGE, "refusing to delete by an empty filter: it matches every memory", { hint: "Narrow it (namespace, kind, tag, time), or say all: true (`memzip rm --where --all`)." });
  }
  const matched: (MemoryRef & { assetId: string | null; tag: string; createdAt: number })[] = [];
  for await (const m of pagedMemories(store.memories, filter, 500)) matched.push({ namespace: m.namespace, id: m.id, assetId: m.assetId, tag: memoryTag(m), createdAt: m.createdAt });
  const ids = matched.slice(0, FORGET_WHERE_IDS).map(({ namespace, id }) => ({ namespace, id }));
  if (options.dryRun === true) return { count: matched.length, ids, dryRun: true };
  let count = 0;
  const used = new Set<string>();
  for (const m of matched) {
    if (await deleteAsMatched(store, m)) count++;
    if (m.assetId !== null) used.add(m.assetId);
  }
  await assets.dropAllIfUnused(used);
  return { count, ids, dryRun: false };
}

/** Deletes a matched memory while it is as matched; false when it is gone or another writer changed it since. */
async function deleteAsMatched(store: Store, matched: MemoryRef & { tag: string; createdAt: number }): Promise<boolean> {
  const now = await store.memories.get(matched.namespace, matched.id);
  if (!now || !sameAsMatched(now, matched)) return false;
  try {
    return await store.memories.delete(matched.namespace, matched.id, now.version);
  } catch (error) {
    // Changed between that read and the delete's transaction: left as the other writer left it.
    if (isMemzipError(error, ErrorCode.CONFLICT)) return false;
    throw error;
  }
}

function sameAsMatched(now: MemorySummary, matched: { tag: string; createdAt: number }): boolean {
  return now.createdAt === matched.createdAt && memoryTag(now) === matched.tag;
}
