import type { ImportJob, JobRepository } from "../../core/store.js";
import type { SqliteDatabase } from "./database.js";

const JOB_COLUMNS = `id, kind, source, source_size AS sourceSize, source_mtime AS sourceMtime, namespace, status, position, line,
  started_at AS startedAt, updated_at AS updatedAt`;
const JOB_FIELDS = ["status", "position", "line"] as const;

/** The jobs aggregate of the SQLite store: durable progress of imports. */
export class SqliteJobs implements JobRepository {
  private readonly statements;

  constructor(private readonly database: SqliteDatabase) {
    const db = database.db;
    this.statements = {
      create: db.prepare(
        `INSERT INTO jobs (id, kind, source, source_size, source_mtime, namespace, status, position, line, started_at, updated_at)
         VALUES (@id, @kind, @source, @sourceSize, @sourceMtime, @namespace, @status, @position, @line, @startedAt, @updatedAt)`,
      ),
      get: db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`),
      list: db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs ORDER BY started_at DESC LIMIT ?`),
    };
  }

  async create(job: ImportJob): Promise<void> {
    this.statements.create.run(job);
  }

  async update(id: string, changes: Partial<Pick<ImportJob, "status" | "position" | "line">>): Promise<void> {
    const fields = Object.keys(changes).filter((k) => (JOB_FIELDS as readonly string[]).includes(k));
    const assignments = [...fields.map((k) => `${k} = @${k}`), "updated_at = @updatedAt"].join(", ");
    this.database.db.prepare(`UPDATE jobs SET ${assignments} WHERE id = @id`).run({ ...changes, id, updatedAt: Date.now() });
  }

  async get(id: string): Promise<ImportJob | undefined> {
    return this.statements.get.get(id) as ImportJob | undefined;
  }

  async list(limit = 50): Promise<ImportJob[]> {
    return this.statements.list.all(limit) as ImportJob[];
  }
}
