import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { DerivedFile, DerivedStore } from "../codec/derived.js";

/**
 * Derived data beside a store file, in `<db>.derived/`: rebuildable from the store, so never
 * counted as stored bytes (stats report it apart). Written atomically (a temporary file renamed
 * into place); the folder is created on the first write, which needs a store that holds an
 * asset, so reading a missing store creates nothing.
 */
export class DerivedDirectory implements DerivedStore {
  readonly path: string;

  constructor(dbPath: string) {
    this.path = `${dbPath}.derived`;
  }

  open(name: string): DerivedFile | undefined {
    let fd: number;
    try {
      fd = openSync(join(this.path, name), "r");
    } catch {
      return undefined;
    }
    const size = fstatSync(fd).size;
    return {
      size,
      read(target, position) {
        let done = 0;
        while (done < target.length) {
          const n = readSync(fd, target, done, target.length - done, position + done);
          if (n === 0) break;
          done += n;
        }
        return done;
      },
      close: () => closeSync(fd),
    };
  }

  write(name: string, parts: readonly Uint8Array[]): void {
    const target = join(this.path, name);
    const temporary = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      mkdirSync(this.path, { recursive: true });
      const fd = openSync(temporary, "w");
      try {
        for (const part of parts) for (let done = 0; done < part.length; ) done += writeSync(fd, part, done, part.length - done);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, target);
    } catch {
      // Derived data: a full disk or a read-only folder costs only the time to derive it again.
      rmSync(temporary, { force: true });
    }
  }

  /** Deletes what was derived from the asset `assetId` (its files name it); called when the asset is pruned. */
  removeFor(assetId: string): void {
    try {
      for (const name of readdirSync(this.path)) if (name.includes(`-${assetId}.`)) rmSync(join(this.path, name), { force: true });
    } catch {
      // No folder, or it cannot be listed: nothing to tidy.
    }
  }

  /** Bytes the folder holds (0 when it does not exist). */
  bytes(): number {
    try {
      return readdirSync(this.path).reduce((sum, name) => sum + statSync(join(this.path, name)).size, 0);
    } catch {
      return 0;
    }
  }
}
