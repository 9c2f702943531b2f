import { ErrorCode, MemzipError } from "../../errors.js";
import { assetRef, type AssetKind } from "../../codec/codec.js";
import type { AssetRepository, AssetUsage, StoredAsset } from "../../core/store.js";
import type { PgDatabase } from "./database.js";
import { ASSET_SELECT, toAsset, type PgAssetRow } from "./rows.js";

/** Bytes of each asset with the number of memories (of the namespace, or all) whose envelopes need it. */
export async function pgAssetUsage(database: PgDatabase, namespace?: string): Promise<AssetUsage[]> {
  const ns = namespace === undefined ? undefined : await database.namespaceId(namespace);
  const counts = new Map<number, number>();
  if (namespace === undefined || ns !== undefined) {
    const rows =
      ns === undefined
        ? await database.query<{ asset: number; n: number }>("SELECT asset, count(*) AS n FROM memories WHERE asset IS NOT NULL GROUP BY asset")
        : await database.query<{ asset: number; n: number }>("SELECT asset, count(*) AS n FROM memories WHERE asset IS NOT NULL AND ns = $1 GROUP BY asset", [ns]);
    for (const row of rows) counts.set(row.asset, row.n);
  }
  const assets = await database.query<{ n: number; id: string; kind: AssetKind; namespace: string | null; size: number }>(
    "SELECT a.n, a.id, a.kind, n.name AS namespace, a.size FROM assets a LEFT JOIN namespaces n ON n.n = a.ns ORDER BY a.created_at, a.n",
  );
  return assets.map(({ n, ...asset }) => ({ ...asset, memories: counts.get(n) ?? 0 }));
}

/** The assets aggregate of the PostgreSQL store: dictionaries, model snapshots and priming texts. */
export class PgAssets implements AssetRepository {
  constructor(private readonly database: PgDatabase) {}

  async put(asset: StoredAsset): Promise<void> {
    const ref = Buffer.from(assetRef(asset));
    await this.database.write(async (tx) => {
      const clash = (await tx.query<{ id: string }>("SELECT id FROM assets WHERE ref = $1", [ref])).rows[0];
      if (clash && clash.id !== asset.id) {
        throw new MemzipError(ErrorCode.STORE, `asset ${asset.id} shares its envelope reference (first id bytes) with ${clash.id}`, {
          hint: "Retrain the asset with different settings; two assets must differ in their first 8 id bytes.",
        });
      }
      const ns = asset.namespace === null ? null : ((await this.database.namespaceId(asset.namespace, tx)) as number);
      await tx.query(
        `INSERT INTO assets (id, ref, kind, ns, bytes, size, meta, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
        [asset.id, ref, asset.kind, ns, Buffer.from(asset.bytes), asset.bytes.length, Object.keys(asset.meta).length > 0 ? JSON.stringify(asset.meta) : null, asset.createdAt],
      );
    });
  }

  async get(id: string): Promise<StoredAsset | undefined> {
    const row = (await this.database.query<PgAssetRow>(`${ASSET_SELECT} WHERE a.id = $1`, [id]))[0];
    return row ? toAsset(row) : undefined;
  }

  async getByRef(ref: Uint8Array): Promise<StoredAsset | undefined> {
    const row = (await this.database.query<PgAssetRow>(`${ASSET_SELECT} WHERE a.ref = $1`, [Buffer.from(ref)]))[0];
    return row ? toAsset(row) : undefined;
  }

  async idsByHint(hint: Uint8Array): Promise<string[]> {
    if (hint.length === 0) return [];
    return (await this.database.query<{ id: string }>("SELECT id FROM assets WHERE substring(ref from 1 for $1) = $2 ORDER BY n", [hint.length, Buffer.from(hint)])).map((row) => row.id);
  }

  async list(): Promise<StoredAsset[]> {
    return (await this.database.query<PgAssetRow>(`${ASSET_SELECT} ORDER BY a.created_at, a.n`)).map(toAsset);
  }

  async usage(namespace?: string): Promise<AssetUsage[]> {
    return pgAssetUsage(this.database, namespace);
  }

  async active(namespace: string, kind: AssetKind): Promise<string | undefined> {
    const ns = await this.database.namespaceId(namespace);
    if (ns === undefined) return undefined;
    const rows = await this.database.query<{ id: string }>("SELECT a.id FROM active_assets aa JOIN assets a ON a.n = aa.asset WHERE aa.ns = $1 AND aa.kind = $2", [ns, kind]);
    return rows[0]?.id;
  }

  async setActive(namespace: string, kind: AssetKind, assetId: string): Promise<void> {
    await this.database.write(async (tx) => {
      const ns = (await this.database.namespaceId(namespace, tx)) as number;
      const n = await this.database.assetN(assetId, tx);
      const meta = (await tx.query<{ meta: string | null }>("SELECT meta FROM assets WHERE n = $1", [n])).rows[0]?.meta;
      const samples = Number((meta ? (JSON.parse(meta) as Record<string, unknown>) : {}).samples ?? 0);
      await tx.query(
        "INSERT INTO active_assets (ns, kind, asset, samples) VALUES ($1, $2, $3, $4) ON CONFLICT (ns, kind) DO UPDATE SET asset = excluded.asset, samples = excluded.samples",
        [ns, kind, n, Number.isFinite(samples) ? Math.round(samples) : 0],
      );
    });
  }

  async isActive(assetId: string): Promise<boolean> {
    return (await this.database.query("SELECT 1 FROM active_assets aa JOIN assets a ON a.n = aa.asset WHERE a.id = $1 LIMIT 1", [assetId])).length > 0;
  }

  async learnedFrom(namespace: string, kind: AssetKind): Promise<number> {
    const ns = await this.database.namespaceId(namespace);
    if (ns === undefined) return 0;
    return (await this.database.query<{ samples: number }>("SELECT samples FROM active_assets WHERE ns = $1 AND kind = $2", [ns, kind]))[0]?.samples ?? 0;
  }

  async keepActive(namespace: string, kind: AssetKind, assetId: string | null, samples: number): Promise<boolean> {
    const ns = await this.database.namespaceId(namespace);
    if (ns === undefined) return false;
    return this.database.write(async (tx) => {
      if (assetId === null) {
        const kept = await tx.query(
          "INSERT INTO active_assets (ns, kind, asset, samples) VALUES ($1, $2, NULL, $3) ON CONFLICT (ns, kind) DO UPDATE SET samples = excluded.samples WHERE active_assets.asset IS NULL",
          [ns, kind, samples],
        );
        return (kept.rowCount ?? 0) > 0;
      }
      const updated = await tx.query("UPDATE active_assets SET samples = $1 WHERE ns = $2 AND kind = $3 AND asset = (SELECT n FROM assets WHERE id = $4)", [samples, ns, kind, assetId]);
      return (updated.rowCount ?? 0) > 0;
    });
  }

  /** Checked and removed under the store's write lock: no writer can commit a memory needing it in between. */
  async delete(assetId: string): Promise<boolean> {
    return (await this.deleteUnused([assetId])).length > 0;
  }

  /** One transaction, each asset checked as `delete` checks it (the rows' index by asset makes each one look): all removed, or none. */
  async deleteUnused(assetIds: readonly string[]): Promise<string[]> {
    if (assetIds.length === 0) return [];
    return this.database.write(async (tx) => {
      const removed: string[] = [];
      for (const id of assetIds) {
        const n = (await tx.query<{ n: number }>("SELECT n FROM assets WHERE id = $1", [id])).rows[0]?.n;
        if (n === undefined || (await tx.query("SELECT 1 FROM memories WHERE asset = $1 LIMIT 1", [n])).rows.length > 0) continue;
        await tx.query("UPDATE active_assets SET asset = NULL WHERE asset = $1", [n]);
        if (((await tx.query("DELETE FROM assets WHERE n = $1", [n])).rowCount ?? 0) > 0) removed.push(id);
      }
      return removed;
    });
  }
}
