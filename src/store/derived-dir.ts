import { lstatSync, readdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { DerivedFolder, isAbandonedTemporary, PER_USER_DERIVED_MAX_BYTES } from "../codec/derived-folder.js";
import { userCacheDir } from "../core/paths.js";

/** What `DerivedDirectory.sweep` removed. */
export interface SweptFiles {
  files: number;
  bytes: number;
}

/** The model state of a `cm` snapshot (`stateFileName`): the only file here derived from one asset. */
const STATE_FILE = /^cm-([0-9a-f]{64})\.state$/;

/**
 * Derived data beside a store file, in `<db>.derived/`: rebuildable from the store, so never
 * counted as stored bytes (stats report it apart). Written atomically (a temporary file renamed
 * into place, see DerivedFolder); the folder is created on the first write, which needs a store that holds an
 * asset, so reading a missing store creates nothing.
 */
export class DerivedDirectory extends DerivedFolder {
  /** `<db>.derived/` beside the store file `dbPath`. */
  constructor(dbPath: string);
  /** The folder `path` itself (`{ folder: path }`): the per-user one of a server store's model states. */
  constructor(location: { readonly folder: string });
  constructor(where: string | { readonly folder: string }) {
    const path = typeof where === "string" ? `${where}.derived` : where.folder;
    // Beside a store, as readable as the store; the per-user folder (server stores' states: their texts) is private,
    // shared by every store and process of the user, and bounded (nothing else would shrink it).
    const perUser = typeof where !== "string";
    super(() => path, perUser ? { private: true, maxBytes: PER_USER_DERIVED_MAX_BYTES } : {});
    this.path = path;
    this.shared = perUser;
  }

  readonly path: string;
  /** The per-user folder: every store of the user keeps states there, so no one store may sweep it. */
  private readonly shared: boolean;

  /**
   * Where the trained model states of a server store's assets (`postgres://`) are kept: nothing is
   * beside such a store, so they go to the per-user folder the shipped base's state uses
   * (`userCacheDir()/derived/`). Safe to share across stores: a state file names its asset (content-
   * addressed) and is verified by hash when read. A state holds its snapshot's training texts, so the folder is
   * the user's alone (0700, files 0600). Undefined when the user has no cache folder.
   */
  static forServerStore(): DerivedDirectory | undefined {
    const cache = userCacheDir();
    return cache === undefined ? undefined : new DerivedDirectory({ folder: join(cache, "derived") });
  }

  /**
   * Deletes what was derived from the asset `assetId` (its files name it); called when the asset is
   * pruned. Also in the per-user folder, though another store of the user may hold the same
   * (content-addressed) asset: a state holds its snapshot's training texts, and forgotten memories
   * must not stay on disk (review25 I-2); that other store trains it again, once (review24 I2: a cost, not a loss).
   */
  removeFor(assetId: string): void {
    try {
      for (const name of readdirSync(this.path)) if (name.includes(`-${assetId}.`)) rmSync(join(this.path, name), { force: true });
    } catch {
      // No folder, or it cannot be listed: nothing to tidy.
    }
  }

  /**
   * Removes what nothing in the store accounts for: a file derived from an asset the store does not hold (`holds(id)`
   * false) once it is older than `graceMs`, and a temporary file its writer abandoned (killed mid-write). A young one
   * stays: a training writes its snapshot's state before it saves the snapshot (src/model/asset-train-worker.ts), so a
   * state may be seconds ahead of its asset; one whose training was killed in between is the leftover this finds. (A
   * training in another process that renames a new state of the same asset into place between this look and the
   * removal loses it: it is derived again at its first use, a cost, never a wrong text: states are checked by hash.)
   *
   * Only a store's own folder is swept: nothing is removed from the per-user one, nor from a `<db>.derived` that is a
   * link (to a folder other stores may keep their states in). Links and anything but plain files inside are left alone.
   */
  sweep(holds: (assetId: string) => boolean, graceMs: number, now = Date.now()): SweptFiles {
    const swept: SweptFiles = { files: 0, bytes: 0 };
    let entries: string[];
    try {
      if (this.shared || !lstatSync(this.path).isDirectory()) return swept;
      entries = readdirSync(this.path);
    } catch {
      return swept; // No folder, or it cannot be listed: nothing to tidy.
    }
    for (const name of entries) {
      const path = join(this.path, name);
      try {
        const stat = lstatSync(path);
        if (!stat.isFile()) continue;
        const id = STATE_FILE.exec(name)?.[1];
        const leftover = id === undefined ? isAbandonedTemporary(name, stat.mtimeMs, now) : !holds(id) && now - stat.mtimeMs > graceMs;
        if (!leftover) continue;
        unlinkSync(path);
        swept.files++;
        swept.bytes += stat.size;
      } catch {
        // Gone meanwhile (another process removed it), or it cannot be removed: not counted.
      }
    }
    return swept;
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
