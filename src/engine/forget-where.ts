/**
 * Delete by filter: every memory a filter matches (the same filter as list and search), with a dry
 * run that only counts. Matches are collected first, then deleted one by one (each with its
 * history); assets only the deleted memories needed go, as with a single delete.
 */
import { narrowsBeyondNamespaces, pagedMemories, type MemoryFilter, type MemoryRef, type Store } from "../core/store.js";
import { ErrorCode, MemzipError } from "../errors.js";
import type { EngineAssets } from "./assets.js";
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
  const matched: (MemoryRef & { assetId: string | null })[] = [];
  for await (const m of pagedMemories(store.memories, filter, 500)) matched.push({ namespace: m.namespace, id: m.id, assetId: m.assetId });
  const ids = matched.slice(0, FORGET_WHERE_IDS).map(({ namespace, id }) => ({ namespace, id }));
  if (options.dryRun === true) return { count: matched.length, ids, dryRun: true };
  let count = 0;
  const used = new Set<string>();
  for (const m of matched) {
    if (await store.memories.delete(m.namespace, m.id)) count++;
    if (m.assetId !== null) used.add(m.assetId);
  }
  for (const assetId of used) await assets.dropIfUnused(assetId);
  return { count, ids, dryRun: false };
}
