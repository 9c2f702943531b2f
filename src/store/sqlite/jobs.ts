import type { ImportJob, JobRepository } from "../../core/store.js";
import type { Statement } from "better-sqlite3";
import type { SqliteDatabase } from "./database.js";

const JOB_FIELDS = ["status", "position", "line", "owner"] as const;

/** The jobs aggregate of the SQLite store: durable progress of imports. */
export class SqliteJobs implements JobRepository {
  private readonly statements;
  private create_: Statement | undefined;

  constructor(private readonly database: SqliteDatabase) {
    const db = database.db;
    // A store opened read-only where it cannot be upgraded may predate the owner column: its jobs read without one.
    const owned = (db.prepare("SELECT name FROM pragma_table_info('jobs')").pluck().all() as string[]).includes("owner");
    const columns = `id, kind, source, source_size AS sourceSize, source_mtime AS sourceMtime, namespace, status, position, line,
      started_at AS startedAt, updated_at AS updatedAt, ${owned ? "owner" : "NULL AS owner"}`;
    this.statements = {
      get: db.prepare(`SELECT ${columns} FROM jobs WHERE id = ?`),
      list: db.prepare(`SELECT ${columns} FROM jobs ORDER BY started_at DESC LIMIT ?`),
    };
  }

  /** Prepared at the first job: a read-only store from before the owner column never makes one. */
  private createStatement(): Statement {
    return (this.create_ ??= this.database.db.prepare(
      `INSERT INTO jobs (id, kind, source, source_size, source_mtime, namespace, status, position, line, started_at, updated_at, owner)
       VALUES (@id, @kind, @source, @sourceSize, @sourceMtime, @namespace, @status, @position, @line, @startedAt, @updatedAt, @owner)`,
    ));
  }

  async create(job: ImportJob): Promise<void> {
    this.database.write(() => this.createStatement().run({ ...job, owner: job.owner ?? null }));
  }

  async update(id: string, changes: Partial<Pick<ImportJob, "status" | "position" | "line" | "owner">>): Promise<void> {
    const fields = Object.keys(changes).filter((k) => (JOB_FIELDS as readonly string[]).includes(k));
    const assignments = [...fields.map((k) => `${k} = @${k}`), "updated_at = @updatedAt"].join(", ");
    this.database.write(() => this.database.db.prepare(`UPDATE jobs SET ${assignments} WHERE id = @id`).run({ ...changes, id, updatedAt: Date.now() }));
  }

  async claim(id: string, seen: Pick<ImportJob, "status" | "updatedAt" | "owner">, owner: string | null): Promise<boolean> {
    const claimed = this.database.write(() =>
      this.database.db
        .prepare("UPDATE jobs SET status = 'running', owner = @owner, updated_at = @now WHERE id = @id AND status = @status AND updated_at = @updatedAt AND owner IS @seenOwner")
        .run({ id, owner, now: Date.now(), status: seen.status, updatedAt: seen.updatedAt, seenOwner: seen.owner ?? null }),
    );
    return claimed.changes === 1;
  }

  async get(id: string): Promise<ImportJob | undefined> {
    return this.statements.get.get(id) as ImportJob | undefined;
  }

  async list(limit = 50): Promise<ImportJob[]> {
    return this.statements.list.all(limit) as ImportJob[];
  }
}
