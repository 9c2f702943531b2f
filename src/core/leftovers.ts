import { readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Removes the entries of `dir` (default: the temporary directory) named `${prefix}${pid}-…` whose process is gone
 * (not this one, and no process of that id runs), and those `alsoStale` calls stale; returns the paths removed. What
 * this account may not remove (another user's, in a sticky /tmp) is left. Work that puts plaintext or a whole store
 * in the temporary directory names its folder with its pid, so a kill -9 or Ctrl-C leaves nothing for long.
 */
export function removeLeftovers(prefix: string, dir: string = tmpdir(), alsoStale?: (name: string, path: string) => boolean): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const path = join(dir, name);
    const pid = name.startsWith(prefix) ? Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]) : NaN;
    const stale = Number.isSafeInteger(pid) && pid > 0 ? pid !== process.pid && !processRunning(pid) : (alsoStale?.(name, path) ?? false);
    if (!stale) continue;
    try {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Another user's folder or already gone: not ours to force.
    }
  }
  return removed;
}

/** Whether process `pid` exists (EPERM: it does, under another account). */
function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
