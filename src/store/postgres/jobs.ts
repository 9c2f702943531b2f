import type { ImportJob, JobRepository } from "../../core/store.js";
import type { PgDatabase } from "./database.js";

const JOB_COLUMNS = `id, kind, source, source_size AS "sourceSize", source_mtime AS "sourceMtime", namespace, status, position, line,
  started_at AS "startedAt", updated_at AS "updatedAt", owner`;
const JOB_FIELDS = ["status", "position", "line", "owner"] as const;

/** The jobs aggregate of the PostgreSQL store: durable progress of imports. */
export class PgJobs implements JobRepository {
  constructor(private readonly database: PgDatabase) {}

  async create(job: ImportJob): Promise<void> {
    await this.database.query(
      `INSERT INTO jobs (id, kind, source, source_size, source_mtime, namespace, status, position, line, started_at, updated_at, owner)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [job.id, job.kind, job.source, job.sourceSize, job.sourceMtime, job.namespace, job.status, job.position, job.line, job.startedAt, job.updatedAt, job.owner ?? null],
    );
  }

  async update(id: string, changes: Partial<Pick<ImportJob, "status" | "position" | "line" | "owner">>): Promise<void> {
    const fields = JOB_FIELDS.filter((k) => changes[k] !== undefined);
    const params: unknown[] = [id, Date.now(), ...fields.map((k) => changes[k])];
    const assignments = ["updated_at = $2", ...fields.map((k, i) => `${k} = $${i + 3}`)].join(", ");
    await this.database.query(`UPDATE jobs SET ${assignments} WHERE id = $1`, params);
  }

  async claim(id: string, seen: Pick<ImportJob, "status" | "updatedAt" | "owner">, owner: string | null): Promise<boolean> {
    const rows = await this.database.query(
      `UPDATE jobs SET status = 'running', owner = $2, updated_at = $3
       WHERE id = $1 AND status = $4 AND updated_at = $5 AND owner IS NOT DISTINCT FROM $6 RETURNING id`,
      [id, owner, Date.now(), seen.status, seen.updatedAt, seen.owner ?? null],
    );
    return rows.length === 1;
  }

  async get(id: string): Promise<ImportJob | undefined> {
    return (await this.database.query<ImportJob>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id]))[0];
  }

  async list(limit = 50): Promise<ImportJob[]> {
    return this.database.query<ImportJob>(`SELECT ${JOB_COLUMNS} FROM jobs ORDER BY started_at DESC LIMIT $1`, [limit]);
  }
}
