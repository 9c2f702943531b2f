import { MemzipError, ErrorCode } from "../../errors.js";
import { assetRef, type AssetKind } from "../../codec/codec.js";
import type { AssetRepository, AssetUsage, StoredAsset } from "../../core/store.js";
import type { SqliteDatabase } from "./database.js";
import { ASSET_SELECT, toAsset, type AssetRow } from "./rows.js";

/** Bytes of each asset with the number of memories (of the namespace, or all) whose envelopes need it. */
export function assetUsage(database: SqliteDatabase, namespace?: string): AssetUsage[] {
  // One snapshot for the hot rows' counts and the sealed blocks' sums.
  return database.read(() => usageOf(database, namespace));
}

function usageOf(database: SqliteDatabase, namespace?: string): AssetUsage[] {
  const db = database.db;
  const ns = namespace === undefined ? undefined : database.namespaceId(namespace, false);
  const counts = new Map<number, number>();
  if (namespace === undefined || ns !== undefined) {
    const rows = (ns === undefined
      ? db.prepare("SELECT asset, count(*) AS n FROM memories WHERE asset IS NOT NULL GROUP BY asset").all()
      : db.prepare("SELECT asset, count(*) AS n FROM memories WHERE asset IS NOT NULL AND ns = ? GROUP BY asset").all(ns)) as { asset: number; n: number }[];
    for (const row of rows) counts.set(row.asset, row.n);
    // Sealed rows, from their blocks' sums.
    if (database.sealed.any()) for (const row of database.sealed.assetCounts(ns)) counts.set(row.asset, (counts.get(row.asset) ?? 0) + row.n);
  }
  const assets = db
    .prepare("SELECT a.n, a.id, a.kind, n.name AS namespace, a.size FROM assets a LEFT JOIN namespaces n ON n.n = a.ns ORDER BY a.created_at, a.n")
    .all() as { n: number; id: string; kind: AssetKind; namespace: string | null; size: number }[];
  return assets.map(({ n, ...asset }) => ({ ...asset, memories: counts.get(n) ?? 0 }));
}

/** The assets aggregate of the SQLite store: dictionaries, model snapshots and priming texts. */
export class SqliteAssets implements AssetRepository {
  private readonly statements;

  constructor(private readonly database: SqliteDatabase) {
    const db = database.db;
    this.statements = {
      put: db.prepare(
        `INSERT OR IGNORE INTO assets (id, ref, kind, ns, bytes, size, meta, created_at)
         VALUES (@id, @ref, @kind, @ns, @bytes, @size, @meta, @createdAt)`,
      ),
      get: db.prepare(`${ASSET_SELECT} WHERE a.id = ?`),
      getByRef: db.prepare(`${ASSET_SELECT} WHERE a.ref = ?`),
      idsByHint: db.prepare("SELECT id FROM assets WHERE substr(ref, 1, ?) = ? ORDER BY n").pluck(),
      list: db.prepare(`${ASSET_SELECT} ORDER BY a.created_at, a.n`),
      active: db.prepare("SELECT a.id FROM active_assets aa JOIN assets a ON a.n = aa.asset WHERE aa.ns = ? AND aa.kind = ?").pluck(),
      setActive: db.prepare(
        "INSERT INTO active_assets (ns, kind, asset, samples) VALUES (?, ?, ?, ?) ON CONFLICT(ns, kind) DO UPDATE SET asset = excluded.asset, samples = excluded.samples",
      ),
      samples: db.prepare("SELECT samples FROM active_assets WHERE ns = ? AND kind = ?").pluck(),
      keepActive: db.prepare("UPDATE active_assets SET samples = ? WHERE ns = ? AND kind = ? AND asset = (SELECT n FROM assets WHERE id = ?)"),
      keepNone: db.prepare(
        "INSERT INTO active_assets (ns, kind, asset, samples) VALUES (?, ?, NULL, ?) ON CONFLICT(ns, kind) DO UPDATE SET samples = excluded.samples WHERE active_assets.asset IS NULL",
      ),
      isActive: db.prepare("SELECT 1 FROM active_assets aa JOIN assets a ON a.n = aa.asset WHERE a.id = ?"),
      assetN: db.prepare("SELECT n FROM assets WHERE id = ?").pluck(),
      used: db.prepare("SELECT 1 FROM memories WHERE asset = ? LIMIT 1"),
      // The rows have no index by asset (it would cost every row's bytes; sealed rows keep their own usage table):
      // one scan answers for a whole batch of assets, where one look each scanned the table once per asset.
      usedAmong: db.prepare("SELECT DISTINCT asset FROM memories WHERE asset IN (SELECT value FROM json_each(?))").pluck(),
      deactivate: db.prepare("UPDATE active_assets SET asset = NULL WHERE asset = ?"),
      delete: db.prepare("DELETE FROM assets WHERE n = ?"),
    };
  }

  async put(asset: StoredAsset): Promise<void> {
    const ref = Buffer.from(assetRef(asset));
    const clash = this.statements.getByRef.get(ref) as AssetRow | undefined;
    if (clash && clash.id !== asset.id) {
      throw new MemzipError(ErrorCode.STORE, `asset ${asset.id} shares its envelope reference (first id bytes) with ${clash.id}`, {
        hint: "Retrain the asset with different settings; two assets must differ in their first 8 id bytes.",
      });
    }
    this.database.write(() => {
      const ns = asset.namespace === null ? null : (this.database.namespaceId(asset.namespace, true) as number);
      this.statements.put.run({
        id: asset.id,
        ref,
        kind: asset.kind,
        ns,
        bytes: Buffer.from(asset.bytes),
        size: asset.bytes.length,
        meta: Object.keys(asset.meta).length > 0 ? JSON.stringify(asset.meta) : null,
        createdAt: asset.createdAt,
      });
    });
  }

  async get(id: string): Promise<StoredAsset | undefined> {
    return this.read(id);
  }

  private read(id: string): StoredAsset | undefined {
    const row = this.statements.get.get(id) as AssetRow | undefined;
    return row ? toAsset(row) : undefined;
  }

  async getByRef(ref: Uint8Array): Promise<StoredAsset | undefined> {
    const row = this.statements.getByRef.get(Buffer.from(ref)) as AssetRow | undefined;
    return row ? toAsset(row) : undefined;
  }

  async idsByHint(hint: Uint8Array): Promise<string[]> {
    if (hint.length === 0) return [];
    return this.statements.idsByHint.all(hint.length, Buffer.from(hint)) as string[];
  }

  async list(): Promise<StoredAsset[]> {
    return (this.statements.list.all() as AssetRow[]).map(toAsset);
  }

  async usage(namespace?: string): Promise<AssetUsage[]> {
    return assetUsage(this.database, namespace);
  }

  async active(namespace: string, kind: AssetKind): Promise<string | undefined> {
    const ns = this.database.namespaceId(namespace, false);
    return ns === undefined ? undefined : (this.statements.active.get(ns, kind) as string | undefined);
  }

  async setActive(namespace: string, kind: AssetKind, assetId: string): Promise<void> {
    this.database.write(() => {
      const ns = this.database.namespaceId(namespace, true) as number;
      const asset = this.read(assetId);
      this.statements.setActive.run(ns, kind, this.database.assetN(assetId), Number(asset?.meta.samples ?? 0));
    });
  }

  async isActive(assetId: string): Promise<boolean> {
    return this.statements.isActive.get(assetId) !== undefined;
  }

  async learnedFrom(namespace: string, kind: AssetKind): Promise<number> {
    const ns = this.database.namespaceId(namespace, false);
    if (ns === undefined) return 0;
    return (this.statements.samples.get(ns, kind) as number | undefined) ?? 0;
  }

  async keepActive(namespace: string, kind: AssetKind, assetId: string | null, samples: number): Promise<boolean> {
    const ns = this.database.namespaceId(namespace, false);
    if (ns === undefined) return false;
    if (assetId === null) return this.database.write(() => this.statements.keepNone.run(ns, kind, samples).changes > 0);
    return this.database.write(() => this.statements.keepActive.run(samples, ns, kind, assetId).changes > 0);
  }

  async delete(assetId: string): Promise<boolean> {
    const removed = this.database.write(() => {
      const n = this.statements.assetN.get(assetId) as number | undefined;
      if (n === undefined || this.statements.used.get(n) !== undefined || (this.database.sealed.any() && this.database.sealed.assetUsed(n))) return false;
      this.statements.deactivate.run(n);
      return this.statements.delete.run(n).changes > 0;
    });
    // Give the freed pages back to the file system (auto_vacuum = INCREMENTAL).
    if (removed) this.database.db.pragma("incremental_vacuum");
    return removed;
  }

  async deleteUnused(assetIds: readonly string[]): Promise<string[]> {
    const removed: string[] = [];
    // One transaction (and one scan of the rows) per batch: a write lock held for a scan, not for all of them.
    for (let at = 0; at < assetIds.length; at += DELETE_BATCH) {
      const batch = assetIds.slice(at, at + DELETE_BATCH);
      this.database.write(() => {
        const known = batch.flatMap((id) => {
          const n = this.statements.assetN.get(id) as number | undefined;
          return n === undefined ? [] : [{ id, n }];
        });
        const used = new Set(this.statements.usedAmong.all(JSON.stringify(known.map(({ n }) => n))) as number[]);
        const sealed = this.database.sealed.any();
        for (const { id, n } of known) {
          if (used.has(n) || (sealed && this.database.sealed.assetUsed(n))) continue;
          this.statements.deactivate.run(n);
          if (this.statements.delete.run(n).changes > 0) removed.push(id);
        }
      });
    }
    if (removed.length > 0) this.database.db.pragma("incremental_vacuum");
    return removed;
  }
}

/** Assets one transaction of `deleteUnused` looks at. */
const DELETE_BATCH = 1000;
