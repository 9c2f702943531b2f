/** Which store file a location names, as the import queue's workers check it. */
import { statSync } from "node:fs";

/**
 * The store file itself (device and inode), where `location` is a file that exists. A queue is named after the store's
 * path, so two machines with the same path on one Redis share it: a chunk carries its enqueuer's mark, and a worker
 * whose store file has another refuses the chunk rather than write it into the wrong store (trial of stop 62). Two
 * fresh machines built from one image can give their first file the same device and inode: a store identity kept in
 * the store itself would close that too (a schema change).
 */
export function storeFileMark(location: string): string | undefined {
  if (location.includes("://") || location === ":memory:") return undefined;
  try {
    const stat = statSync(location, { bigint: true });
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}
