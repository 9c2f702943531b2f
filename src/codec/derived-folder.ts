import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { DerivedFile, DerivedStore } from "./derived.js";

/**
 * Derived data in a folder: files read with positioned reads, written atomically (a temporary file
 * of a unique name renamed into place, so two processes writing the same file both end with a whole
 * one and a reader never sees half of it). The folder is created on the first write; when it cannot
 * be created or written (read-only, a file in the way, a full disk) nothing is kept and nothing
 * fails: derived data costs only the time to derive it again.
 */
export class DerivedFolder implements DerivedStore {
  /** `folder` is asked at each use, so a folder chosen by the environment follows it; undefined: there is none (nothing is kept). */
  constructor(private readonly folder: () => string | undefined) {}

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

  write(name: string, parts: readonly Uint8Array[]): void {
    let temporary: string | undefined;
    const folder = this.folder();
    if (folder === undefined) return;
    try {
      const target = join(folder, name);
      temporary = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      mkdirSync(folder, { recursive: true });
      const fd = openSync(temporary, "w");
      try {
        for (const part of parts) for (let done = 0; done < part.length; ) done += writeSync(fd, part, done, part.length - done);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, target);
    } catch {
      // Derived data: a full disk or a read-only folder costs only the time to derive it again.
      if (temporary !== undefined) removeQuietly(temporary);
    }
  }
}

/** Removes a leftover temporary file; where none could be made (a file where the folder should be) there is nothing to remove. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // ENOTDIR and the like: nothing was written.
  }
}
