import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { MemzipError, ErrorCode } from "../errors.js";

/** Files beside a store that belong to it: SQLite's journal files and the derived cache (with its own). */
const STORE_COMPANIONS = ["", "-wal", "-shm", "-journal", ".cache", ".cache-wal", ".cache-shm", ".cache-journal"];

/** Where an output file is written: a temporary file beside it, renamed over it on `commit`. */
export interface OutputFile {
  /** The path to write to (a private temporary file in the target's folder). */
  readonly tempPath: string;
  /** The target path as the user gave it. */
  readonly path: string;
  /** Flushes the temporary file to disk and renames it to the target. */
  commit(): void;
  /** Removes the temporary file (after a failure). */
  discard(): void;
  /** Temporary files of this target that exports killed on this machine left behind, removed when this one was prepared. */
  readonly removedLeftovers: readonly string[];
}

/**
 * Checks an output path before anything is written: it must not be the store or a file that
 * belongs to it (compared after resolving symbolic links, and by inode), and an existing file is
 * only replaced with `force`. The data goes to a temporary file renamed into place at the end,
 * so a failed or interrupted export never leaves a half-written or emptied target.
 */
export function prepareOutput(path: string, storePath: string | undefined, force: boolean): OutputFile {
  const target = canonical(path);
  if (storePath !== undefined && storePath !== ":memory:") {
    const store = canonical(storePath);
    const clash = STORE_COMPANIONS.map((suffix) => `${store}${suffix}`).find((p) => p === target) ?? (sameFile(target, store) ? store : undefined);
    if (clash !== undefined) {
      throw new MemzipError(ErrorCode.USAGE, `--out ${path} is the store or one of its files (${clash}); writing there would destroy it`, {
        hint: "Choose an --out path outside the store's files.",
        details: { out: target, store },
      });
    }
  }
  let exists = false;
  try {
    const stat = lstatSync(target);
    exists = true;
    if (stat.isDirectory()) throw new MemzipError(ErrorCode.USAGE, `--out ${path} is a directory`, { hint: "Name a file to write." });
    // The file is written beside and renamed over the target: over a device, a pipe or a socket (--force) that replaced
    // the node itself with a plain file of every memory's text (/dev/null, for root).
    if (stat.isSymbolicLink()) {
      // canonical() resolved every link it could: this one points at nothing.
      throw new MemzipError(ErrorCode.USAGE, `--out ${path} is a symbolic link to a file that does not exist`, { hint: "Name the file to write itself, not a link.", details: { out: target } });
    }
    if (!stat.isFile()) {
      throw new MemzipError(ErrorCode.USAGE, `--out ${path} is not a regular file (a device, pipe or socket); export writes a file and renames it into place`, {
        hint: `Leave --out out and redirect standard output instead (memzip export > ${path}).`,
        details: { out: target },
      });
    }
  } catch (error) {
    if (error instanceof MemzipError) throw error;
  }
  if (exists && !force) {
    throw new MemzipError(ErrorCode.USAGE, `--out ${path} already exists`, { hint: "Choose another path, or add --force to replace it.", details: { out: target } });
  }
  const folder = dirname(target);
  const tempPath = join(folder, `${tempPrefix(target)}${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
  return {
    tempPath,
    path,
    removedLeftovers: removeLeftovers(target),
    commit() {
      const fd = openSync(tempPath, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tempPath, target);
    },
    discard() {
      rmSync(tempPath, { force: true });
    },
  };
}

/**
 * The start of a temporary file's name for `target`: hidden, beside it, naming this machine so that
 * a sweep of leftovers only judges processes it can see (a folder may be shared between machines).
 */
function tempPrefix(target: string): string {
  return `.${basename(target)}.memzip-${hostname().replace(/[^A-Za-z0-9.-]/g, "_")}-`;
}

/**
 * Removes the temporary files of `target` whose process is gone (an export killed with SIGKILL, or by
 * a power cut, cannot remove its own); a file of a process still running, or of another machine, stays.
 */
function removeLeftovers(target: string): string[] {
  const prefix = tempPrefix(target);
  const folder = dirname(target);
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length))?.[1] : undefined;
    if (pid === undefined || processAlive(Number(pid))) continue;
    try {
      rmSync(join(folder, name));
      removed.push(join(folder, name));
    } catch {
      // Gone already, or not ours to remove: left as it is.
    }
  }
  return removed;
}

/** Whether a process of this id runs on this machine (one of another user counts as running). */
function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** The absolute path with symbolic links resolved (of the folder, when the file does not exist yet). */
function canonical(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    try {
      return join(realpathSync(dirname(absolute)), basename(absolute));
    } catch {
      return absolute;
    }
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}
