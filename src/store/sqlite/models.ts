import { MemzipError, ErrorCode } from "../../errors.js";
import type { EngineRecord, ModelRepository, RegisteredModel } from "../../core/store.js";
import type { SqliteDatabase } from "./database.js";

const MODEL_COLUMNS =
  "fingerprint, name, path, architecture, vocabulary_size AS vocabularySize, context_length AS contextLength, size, mtime, added_at AS addedAt";

/** The models aggregate of the SQLite store: GGUF models known by content, and inference set-ups. */
export class SqliteModels implements ModelRepository {
  private readonly statements;

  constructor(private readonly database: SqliteDatabase) {
    const db = database.db;
    this.statements = {
      byRef: db.prepare(`SELECT ${MODEL_COLUMNS} FROM models WHERE ref = ?`),
      byName: db.prepare(`SELECT ${MODEL_COLUMNS} FROM models WHERE name = ? OR fingerprint = ?`),
      list: db.prepare(`SELECT ${MODEL_COLUMNS} FROM models ORDER BY added_at`),
      delete: db.prepare("DELETE FROM models WHERE fingerprint = ?"),
      put: db.prepare(
        `INSERT INTO models (fingerprint, ref, name, path, architecture, vocabulary_size, context_length, size, mtime, added_at)
         VALUES (@fingerprint, @ref, @name, @path, @architecture, @vocabularySize, @contextLength, @size, @mtime, @addedAt)
         ON CONFLICT(fingerprint) DO UPDATE SET name = excluded.name, path = excluded.path, size = excluded.size, mtime = excluded.mtime`,
      ),
      putEngine: db.prepare("INSERT OR IGNORE INTO engines (id, ref, runtime, settings, created_at) VALUES (?, ?, ?, ?, ?)"),
      engineByRef: db.prepare("SELECT id, runtime, settings, created_at AS createdAt FROM engines WHERE ref = ?"),
    };
  }

  async put(model: RegisteredModel): Promise<void> {
    const ref = Buffer.from(model.fingerprint.slice(0, 8), "hex");
    const clash = this.statements.byRef.get(ref) as RegisteredModel | undefined;
    if (clash && clash.fingerprint !== model.fingerprint) {
      throw new MemzipError(ErrorCode.STORE, `model ${model.fingerprint} shares its envelope reference with ${clash.fingerprint} (${clash.name})`, {
        hint: "Two registered models must differ in their first 4 fingerprint bytes; remove one of them from this store.",
      });
    }
    const named = this.statements.byName.get(model.name, model.name) as RegisteredModel | undefined;
    if (named && named.fingerprint !== model.fingerprint) {
      throw new MemzipError(ErrorCode.USAGE, `the name "${model.name}" already belongs to model ${named.fingerprint.slice(0, 12)}…`, {
        hint: "Pick another name with --name.",
      });
    }
    this.database.write(() => this.statements.put.run({ ...model, ref }));
  }

  async get(nameOrFingerprint: string): Promise<RegisteredModel | undefined> {
    return this.statements.byName.get(nameOrFingerprint, nameOrFingerprint) as RegisteredModel | undefined;
  }

  async getByRef(ref: Uint8Array): Promise<RegisteredModel | undefined> {
    return this.statements.byRef.get(Buffer.from(ref)) as RegisteredModel | undefined;
  }

  async list(): Promise<RegisteredModel[]> {
    return this.statements.list.all() as RegisteredModel[];
  }

  async delete(fingerprint: string): Promise<boolean> {
    return this.database.write(() => this.statements.delete.run(fingerprint)).changes > 0;
  }

  async putEngine(engine: EngineRecord): Promise<void> {
    this.database.write(() => this.statements.putEngine.run(engine.id, Buffer.from(engine.id.slice(0, 8), "hex"), engine.runtime, JSON.stringify(engine.settings), engine.createdAt));
  }

  async getEngineByRef(ref: Uint8Array): Promise<EngineRecord | undefined> {
    const row = this.statements.engineByRef.get(Buffer.from(ref)) as (Omit<EngineRecord, "settings"> & { settings: string }) | undefined;
    return row ? { ...row, settings: JSON.parse(row.settings) as EngineRecord["settings"] } : undefined;
  }
}
