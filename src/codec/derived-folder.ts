import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, constants, fstatSync, futimesSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { DerivedFile, DerivedStore } from "./derived.js";

export interface DerivedFolderOptions {
  /** The folder is the user's own (0700) and its files 0600. */
  readonly private?: boolean;
  /**
   * At most this many bytes of files are kept: after a write, the least recently used files (by
   * modification time, which a read refreshes once an hour) go until the rest fit, never the one just
   * written. For a folder that no store owns (the per-user one), which nothing else would ever shrink.
   */
  readonly maxBytes?: number;
  /**
   * Eight hex digits naming this folder's temporary files in place of a random tag, so that whoever stops its writer
   * can remove what it left (`removeTaggedTemporary`). Only for a folder that writes one file at a time.
   */
  readonly temporaryTag?: string;
}

/**
 * The per-user folder of model states (the shipped bases', server stores') keeps at most this much:
 * a `cm` state is 4–7 MB, so a few hundred snapshots.
 */
export const PER_USER_DERIVED_MAX_BYTES = 2 * 2 ** 30;

/** A read refreshes a bounded folder's file time at most this often (a write per read would be wasteful). */
const TOUCH_AFTER_MS = 60 * 60 * 1000;

/**
 * Derived data in a folder: files read with positioned reads, written atomically (a temporary file
 * of a unique name renamed into place, so two processes writing the same file both end with a whole
 * one and a reader never sees half of it). The folder is created on the first write; when it cannot
 * be created or written (read-only, a file in the way, a full disk) nothing is kept and nothing
 * fails: derived data costs only the time to derive it again.
 */
export class DerivedFolder implements DerivedStore {
  /**
   * `folder` is asked at each use, so a folder chosen by the environment follows it; undefined: there is none (nothing is
   * kept). `private`: the folder is the user's own (mode 0700) and its files 0600 — a model state holds its snapshot's
   * training texts, so one kept outside a store's own folder (the per-user one) is readable by its user only.
   */
  constructor(
    private readonly folder: () => string | undefined,
    readonly options: DerivedFolderOptions = {},
  ) {}

  /**
   * The file `name` when it is a regular file that can be read; anything else there (a folder, a
   * FIFO — opened without blocking —, a device, a file that cannot be read) is no file: derived
   * data is then derived again, never read from it.
   */
  open(name: string): DerivedFile | undefined {
    const folder = this.folder();
    if (folder === undefined) return undefined;
    let fd: number;
    let size: number;
    try {
      fd = openSync(join(folder, name), constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new Error(`${name} is not a regular file`);
      size = stat.size;
      if (this.options.maxBytes !== undefined && Date.now() - stat.mtimeMs > TOUCH_AFTER_MS) touchQuietly(fd);
    } catch {
      closeSync(fd);
      return undefined;
    }
    return {
      size,
      // A read error (EIO, ESTALE on a shared home) ends the read short: the caller's checks then reject the file.
      read(target, position) {
        let done = 0;
        try {
          while (done < target.length) {
            const n = readSync(fd, target, done, target.length - done, position + done);
            if (n === 0) break;
            done += n;
          }
        } catch {
          // Short: the caller's length and hash checks reject what was read.
        }
        return done;
      },
      close: () => closeSync(fd),
    };
  }

  write(name: string, content: () => readonly Uint8Array[]): void {
    let temporary: string | undefined;
    const folder = this.folder();
    if (folder === undefined) return;
    try {
      const target = join(folder, name);
      const attempt = `${target}.${process.pid}.${this.options.temporaryTag ?? randomBytes(4).toString("hex")}.tmp`;
      const owner = this.options.private === true;
      mkdirSync(folder, { recursive: true, ...(owner ? { mode: 0o700 } : {}) });
      // A folder an earlier build made with the default mode is made private too.
      if (owner && (statSync(folder).mode & 0o077) !== 0) chmodSync(folder, 0o700);
      const fd = openSync(attempt, "w", owner ? 0o600 : 0o666);
      temporary = attempt;
      try {
        for (const part of content()) for (let done = 0; done < part.length; ) done += writeSync(fd, part, done, part.length - done);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, target);
      temporary = undefined;
      removeAbandoned(folder, name);
      if (this.options.maxBytes !== undefined) evictLeastRecent(folder, name, this.options.maxBytes);
    } catch {
      // Derived data: a full disk or a read-only folder costs only the time to derive it again.
      if (temporary !== undefined) removeQuietly(temporary);
    }
  }
}

/** Marks a file as used now (its modification time), so that eviction keeps it; a read-only file system keeps the old time. */
function touchQuietly(fd: number): void {
  try {
    const now = new Date();
    futimesSync(fd, now, now);
  } catch {
    // Not ours to change (another user's file, a read-only mount): it may be evicted earlier, and is then derived again.
  }
}

/**
 * Removes the least recently used files of `folder` (oldest modification time first) until what is
 * left fits in `maxBytes`; `keep` (the file just written) and temporary files being written stay. A
 * process that has a removed file open keeps reading it (POSIX); the next one derives it again.
 */
export function evictLeastRecent(folder: string, keep: string, maxBytes: number): void {
  try {
    const files: { path: string; size: number; time: number }[] = [];
    let total = 0;
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      let stat;
      try {
        stat = lstatSync(path);
      } catch {
        continue; // Removed by another process since the listing.
      }
      if (!stat.isFile()) continue;
      total += stat.size;
      if (entry !== keep && !entry.endsWith(".tmp")) files.push({ path, size: stat.size, time: stat.mtimeMs });
    }
    files.sort((a, b) => a.time - b.time);
    for (const file of files) {
      if (total <= maxBytes) break;
      if (removeQuietly(file.path)) total -= file.size;
    }
  } catch {
    // A folder that cannot be listed is not bounded this time; the next write tries again.
  }
}

/** A temporary file older than this whose writer is gone was abandoned (a process killed mid-write). */
const ABANDONED_AFTER_MS = 60_000;

/** A temporary file of a derived folder, `NAME.PID.HEX.tmp`: the name it will have, and its writer's pid. */
const TEMPORARY = /^(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temporary files of `name` that processes killed mid-write left behind (each one a
 * whole model state, megabytes): those whose writer (the pid in their name) no longer runs on
 * this machine and that are over a minute old, so a writer on another machine sharing the folder
 * is left alone unless it has been silent for that long (its rename then fails and it keeps nothing).
 */
function removeAbandoned(folder: string, name: string): void {
  try {
    for (const entry of readdirSync(folder)) {
      if (abandonedTemporaryPid(entry, name) === undefined) continue;
      const path = join(folder, entry);
      if (isAbandonedTemporary(entry, statSync(path).mtimeMs)) removeQuietly(path);
    }
  } catch {
    // A folder that cannot be listed keeps its leftovers; they cost only space.
  }
}

/**
 * Removes the temporary file of `name` a folder whose writes were tagged `tag` (`DerivedFolderOptions.temporaryTag`)
 * left in `folder`: its writer stopped between creating it and renaming it into place (a thread terminated mid-write).
 * `removeAbandoned` leaves it while the process runs, and it may hold a state's texts. Another writer's temporary of the
 * same name (another engine of this process deriving the same asset) has another tag and stays.
 */
export function removeTaggedTemporary(folder: string, name: string, tag: string): void {
  removeQuietly(join(folder, `${name}.${process.pid}.${tag}.tmp`));
}

/** `removeTaggedTemporary` for a writer whose file's name is not known (a training thread stopped before it had a snapshot to name the state by). */
export function removeTaggedTemporaries(folder: string, tag: string): void {
  const suffix = `.${process.pid}.${tag}.tmp`;
  try {
    for (const entry of readdirSync(folder)) if (entry.endsWith(suffix)) removeQuietly(join(folder, entry));
  } catch {
    // No folder, or one that cannot be listed: nothing of this writer's to remove.
  }
}

/** Removes the file `name` of `folder`, if there. */
export function removeDerivedFile(folder: string, name: string): void {
  removeQuietly(join(folder, name));
}

/**
 * Whether the file `entry`, last modified at `mtimeMs`, is a temporary file (of any name) that its writer abandoned: its
 * pid no longer runs on this machine and it is over a minute old. `removeAbandoned` tidies a name's leftovers when that
 * name is written again; a state whose write was killed and that is never written again (its training never saved its
 * snapshot) is found only by a sweep of the whole folder (`DerivedDirectory.sweep`).
 */
export function isAbandonedTemporary(entry: string, mtimeMs: number, now = Date.now()): boolean {
  const match = TEMPORARY.exec(entry);
  return match !== null && !isRunning(Number(match[2])) && now - mtimeMs > ABANDONED_AFTER_MS;
}

/** The writer's pid when `entry` is a temporary file of `name` (`name.PID.HEX.tmp`). */
export function abandonedTemporaryPid(entry: string, name: string): number | undefined {
  const match = TEMPORARY.exec(entry);
  return match && match[1] === name ? Number(match[2]) : undefined;
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes a file, true when it is gone; where none could be made (a file where the folder should be) there is nothing to remove. */
function removeQuietly(path: string): boolean {
  try {
    rmSync(path, { force: true });
    return true;
  } catch {
    // ENOTDIR and the like: nothing was written.
    return false;
  }
}
