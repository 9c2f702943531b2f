import type { AssetRepository, JobRepository, KeyRepository, MemoryRepository, ModelRepository, SearchIndexStore, StorageUsage, Store } from "../../core/store.js";
import { ErrorCode, MemzipError } from "../../errors.js";
import { PgAssets } from "./assets.js";
import { PgDatabase, type PgOpenOptions } from "./database.js";
import { PgJobs } from "./jobs.js";
import { PgKeys } from "./keys.js";
import { PgMemories } from "./memories.js";
import { PG_SEARCH_TABLES, PG_TABLES } from "./migrations.js";
import { PgModels } from "./models.js";
import { PgSearchIndex } from "./search-index.js";

export { carriesSecret, isPostgresLocation, redactLocation } from "./database.js";
export type { PgOpenOptions } from "./database.js";

/**
 * The server store: PostgreSQL (`pg` Pool) behind the same asynchronous contract as SQLite, for
 * several processes and machines sharing one store. Opening is synchronous and connects nothing;
 * the first call connects and brings the schema up to date (versioned steps in `memzip_schema`).
 * Every write call is one transaction; writes take turns on an advisory lock (see database.ts).
 */
export class PostgresStore implements Store {
  readonly plainJsonOnly = true;
  readonly memories: MemoryRepository;
  readonly assets: AssetRepository;
  readonly models: ModelRepository;
  readonly jobs: JobRepository;
  readonly search: SearchIndexStore;
  readonly keys: KeyRepository;
  /** Always false: PostgreSQL decides what a role may write (a denied write is E_RESOURCE). */
  readonly readOnly = false;

  private constructor(private readonly database: PgDatabase) {
    this.memories = new PgMemories(database);
    this.assets = new PgAssets(database);
    this.models = new PgModels(database);
    this.jobs = new PgJobs(database);
    this.search = new PgSearchIndex(database);
    this.keys = new PgKeys(database);
  }

  /** A store on the database `connectionString` names (`postgres://user:password@host:port/database`). */
  static open(connectionString: string, options: PgOpenOptions = {}): PostgresStore {
    return new PostgresStore(new PgDatabase(connectionString, options));
  }

  /** The connection string without its password. */
  get location(): string {
    return this.database.location;
  }

  /** Resolves when the server answers and the schema is current (calls wait for this anyway). */
  ready(): Promise<void> {
    return this.database.ready();
  }

  async usage(): Promise<StorageUsage> {
    const size = async (tables: readonly string[]): Promise<number> =>
      (
        await this.database.query<{ n: number }>(
          "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS n FROM pg_class c WHERE c.relkind = 'r' AND c.relname = ANY($1::text[]) AND c.relnamespace = current_schema()::regnamespace",
          [[...tables]],
        )
      )[0]?.n ?? 0;
    return { fileBytes: await size(PG_TABLES), indexBytes: await size(PG_SEARCH_TABLES) };
  }

  /** VACUUM FULL of memzip's tables: rewrites them without dead rows and gives the space back. */
  async compact(): Promise<void> {
    // VACUUM skips, with a warning only the server's log shows, a table the role may not vacuum (its owner, the
    // database's owner, a superuser, and from PostgreSQL 17 a role with MAINTAIN may): compact said "done" and gave
    // nothing back (trial of stop 62).
    const rows = await this.database.query<{ table: string; owner: string; me: string }>(
      `SELECT c.relname AS table, pg_get_userbyid(c.relowner) AS owner, current_user AS me FROM pg_class c
        WHERE c.oid = ANY($1::regclass[]) AND NOT pg_has_role(c.relowner, 'USAGE')
          AND NOT pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE')
          AND NOT (CASE WHEN current_setting('server_version_num')::int >= 170000 THEN has_table_privilege(c.oid, 'MAINTAIN') ELSE false END)`,
      [PG_TABLES],
    );
    const first = rows[0];
    if (first) {
      const tables = rows.map((r) => r.table);
      throw new MemzipError(ErrorCode.RESOURCE, `compact cannot give space back: role ${first.me} may not VACUUM FULL ${tables.join(", ")} (owned by ${first.owner}); expired memories and unused assets were removed`, {
        hint: `Run \`memzip compact\` as the tables' owner (${first.owner}) or the database's, e.g. with its connection string in --db.`,
        details: { role: first.me, owner: first.owner, tables },
      });
    }
    await this.database.query(`VACUUM (FULL, ANALYZE) ${PG_TABLES.join(", ")}`);
  }

  async close(): Promise<void> {
    await this.database.close();
  }
}
