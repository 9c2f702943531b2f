import type { ApiKeyRecord, KeyRepository } from "../../core/store.js";
import { toKey, type KeyRow } from "../rows.js";
import { ErrorCode, MemzipError } from "../../errors.js";
import type { SqliteDatabase } from "./database.js";

/** The API keys aggregate of the SQLite store: hashes of keys, their role and namespaces. */
export class SqliteKeys implements KeyRepository {
  private readonly statements;

  constructor(private readonly database: SqliteDatabase) {
    const db = database.db;
    this.statements = {
      put: db.prepare("INSERT OR IGNORE INTO api_keys (id, hash, role, namespaces, label, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      byHash: db.prepare("SELECT * FROM api_keys WHERE hash = ?"),
      list: db.prepare("SELECT * FROM api_keys ORDER BY created_at, id"),
      revoke: db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
    };
  }

  async put(key: ApiKeyRecord): Promise<void> {
    const result = this.database.write(() =>
      this.statements.put.run(key.id, Buffer.from(key.hash), key.role, JSON.stringify(key.namespaces), key.label, key.createdAt, key.revokedAt),
    );
    if (result.changes === 0) throw new MemzipError(ErrorCode.USAGE, `a key with id ${key.id} or the same hash exists already`, { hint: "Create a new key; ids and keys are random." });
  }

  async byHash(hash: Uint8Array): Promise<ApiKeyRecord | undefined> {
    const row = this.statements.byHash.get(Buffer.from(hash)) as KeyRow | undefined;
    return row && toKey(row);
  }

  async list(): Promise<ApiKeyRecord[]> {
    return (this.statements.list.all() as KeyRow[]).map(toKey);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return this.database.write(() => this.statements.revoke.run(at, id)).changes > 0;
  }
}
