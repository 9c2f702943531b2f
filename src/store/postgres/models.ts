import { ErrorCode, MemzipError } from "../../errors.js";
import type { EngineRecord, ModelRepository, RegisteredModel } from "../../core/store.js";
import type { PgDatabase } from "./database.js";

const MODEL_COLUMNS = `fingerprint, name, path, architecture, vocabulary_size AS "vocabularySize", context_length AS "contextLength", size, mtime, added_at AS "addedAt"`;

/** The models aggregate of the PostgreSQL store: GGUF models known by content, and inference set-ups. */
export class PgModels implements ModelRepository {
  constructor(private readonly database: PgDatabase) {}

  async put(model: RegisteredModel): Promise<void> {
    const ref = Buffer.from(model.fingerprint.slice(0, 8), "hex");
    await this.database.write(async (tx) => {
      const clash = (await tx.query<RegisteredModel>(`SELECT ${MODEL_COLUMNS} FROM models WHERE ref = $1`, [ref])).rows[0];
      if (clash && clash.fingerprint !== model.fingerprint) {
        throw new MemzipError(ErrorCode.STORE, `model ${model.fingerprint} shares its envelope reference with ${clash.fingerprint} (${clash.name})`, {
          hint: "Two registered models must differ in their first 4 fingerprint bytes; remove one of them from this store.",
        });
      }
      const named = (await tx.query<RegisteredModel>(`SELECT ${MODEL_COLUMNS} FROM models WHERE name = $1 OR fingerprint = $1`, [model.name])).rows[0];
      if (named && named.fingerprint !== model.fingerprint) {
        throw new MemzipError(ErrorCode.USAGE, `the name "${model.name}" already belongs to model ${named.fingerprint.slice(0, 12)}…`, { hint: "Pick another name with --name." });
      }
      await tx.query(
        `INSERT INTO models (fingerprint, ref, name, path, architecture, vocabulary_size, context_length, size, mtime, added_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (fingerprint) DO UPDATE SET name = excluded.name, path = excluded.path, size = excluded.size, mtime = excluded.mtime`,
        [model.fingerprint, ref, model.name, model.path, model.architecture, model.vocabularySize, model.contextLength, model.size, model.mtime, model.addedAt],
      );
    });
  }

  async get(nameOrFingerprint: string): Promise<RegisteredModel | undefined> {
    return (await this.database.query<RegisteredModel>(`SELECT ${MODEL_COLUMNS} FROM models WHERE name = $1 OR fingerprint = $1 LIMIT 1`, [nameOrFingerprint]))[0];
  }

  async getByRef(ref: Uint8Array): Promise<RegisteredModel | undefined> {
    return (await this.database.query<RegisteredModel>(`SELECT ${MODEL_COLUMNS} FROM models WHERE ref = $1`, [Buffer.from(ref)]))[0];
  }

  async list(): Promise<RegisteredModel[]> {
    return this.database.query<RegisteredModel>(`SELECT ${MODEL_COLUMNS} FROM models ORDER BY added_at`);
  }

  async delete(fingerprint: string): Promise<boolean> {
    return this.database.write(async (tx) => ((await tx.query("DELETE FROM models WHERE fingerprint = $1", [fingerprint])).rowCount ?? 0) > 0);
  }

  async putEngine(engine: EngineRecord): Promise<void> {
    await this.database.query("INSERT INTO engines (id, ref, runtime, settings, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", [
      engine.id,
      Buffer.from(engine.id.slice(0, 8), "hex"),
      engine.runtime,
      JSON.stringify(engine.settings),
      engine.createdAt,
    ]);
  }

  async getEngineByRef(ref: Uint8Array): Promise<EngineRecord | undefined> {
    const row = (
      await this.database.query<Omit<EngineRecord, "settings"> & { settings: string }>('SELECT id, runtime, settings, created_at AS "createdAt" FROM engines WHERE ref = $1', [Buffer.from(ref)])
    )[0];
    return row ? { ...row, settings: JSON.parse(row.settings) as EngineRecord["settings"] } : undefined;
  }
}
