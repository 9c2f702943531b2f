import type { ApiKeyRecord, KeyRepository } from "../../core/store.js";
import { toKey, type KeyRow } from "../rows.js";
import { ErrorCode, MemzipError } from "../../errors.js";
import type { PgDatabase } from "./database.js";

/** The API keys aggregate of the PostgreSQL store: hashes of keys, their role and namespaces. */
export class PgKeys implements KeyRepository {
  constructor(private readonly database: PgDatabase) {}

  async put(key: ApiKeyRecord): Promise<void> {
    const inserted = await this.database.write(async (tx) =>
      (
        await tx.query(
          "INSERT INTO api_keys (id, hash, role, namespaces, label, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
          [key.id, Buffer.from(key.hash), key.role, JSON.stringify(key.namespaces), key.label, key.createdAt, key.revokedAt],
        )
      ).rowCount,
    );
    if (!inserted) throw new MemzipError(ErrorCode.USAGE, `a key with id ${key.id} or the same hash exists already`, { hint: "Create a new key; ids and keys are random." });
  }

  async byHash(hash: Uint8Array): Promise<ApiKeyRecord | undefined> {
    const row = (await this.database.query<KeyRow>("SELECT * FROM api_keys WHERE hash = $1", [Buffer.from(hash)]))[0];
    return row && toKey(row);
  }

  async list(): Promise<ApiKeyRecord[]> {
    return (await this.database.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id COLLATE "C"')).map(toKey);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return this.database.write(async (tx) => ((await tx.query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", [at, id])).rowCount ?? 0) > 0);
  }
}
