import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { DerivedFolder } from "../codec/derived-folder.js";

/**
 * Derived data beside a store file, in `<db>.derived/`: rebuildable from the store, so never
 * counted as stored bytes (stats report it apart). Written atomically (a temporary file renamed
 * into place, see DerivedFolder); the folder is created on the first write, which needs a store that holds an
 * asset, so reading a missing store creates nothing.
 */
export class DerivedDirectory extends DerivedFolder {
  readonly path: string;

  constructor(dbPath: string) {
    const path = `${dbPath}.derived`;
    super(() => path);
    this.path = path;
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
