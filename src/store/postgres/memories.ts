import type {
  CodecUsage,
  NamespaceCount,
  ContentHolder,
  EnvelopeUpdate,
  Fingerprint,
  Footprint,
  ListQuery,
  MemoryPage,
  MemoryRef,
  MemoryRepository,
  MemorySummary,
  HistoryUsage,
  MemoryFilter,
  PageQuery,
  ScanOptions,
  StoredMemory,
  StoredSemantic,
  StoredVersion,
} from "../../core/store.js";
import { toVersion, type VersionRow } from "../rows.js";
import { ErrorCode, MemzipError } from "../../errors.js";
import { CONTENT_HASH_BYTES } from "../sqlite-migrations.js";
import { pgAssetUsage } from "./assets.js";
import type { PgDatabase } from "./database.js";
import { PgMemoryWrites } from "./memory-writes.js";
import { SUMMARY_FROM, SUMMARY_SELECT, WITH_ENVELOPE, fromChecksumColumn, kindNumber, toBytes, toChecksumColumn, toStoredMemory, toSummary, type PgMemoryRow } from "./rows.js";

/** Rows a scan fetches per round trip unless told otherwise. */
const SCAN_BATCH = 256;

/** The memories aggregate of the PostgreSQL store. */
export class PgMemories implements MemoryRepository {
  private readonly writes: PgMemoryWrites;

  constructor(private readonly database: PgDatabase) {
    this.writes = new PgMemoryWrites(database);
  }

  async put(memories: readonly StoredMemory[]): Promise<Set<string>> {
    return this.writes.put(memories);
  }

  async replaceEnvelopes(updates: readonly EnvelopeUpdate[]): Promise<number> {
    return this.writes.replaceEnvelopes(updates);
  }

  async delete(namespace: string, id: string, expectedVersion?: number): Promise<boolean> {
    return this.writes.delete(namespace, id, expectedVersion);
  }

  async history(namespace: string, id: string): Promise<StoredVersion[]> {
    const ns = await this.database.namespaceId(namespace);
    if (ns === undefined) return [];
    const rows = await this.database.query<VersionRow>(
      `SELECT v.version, v.kind, v.created_at, v.replaced_at, v.codec, v.original_length, v.checksum, v.language, v.tags, v.meta, v.payload
       FROM memory_versions v JOIN memories m ON m.seq = v.seq WHERE m.ns = $1 AND m.id = $2 ORDER BY v.version`,
      [ns, id],
    );
    return rows.map((row) => toVersion(row, fromChecksumColumn(row.checksum)));
  }

  async historyUsage(namespace?: string): Promise<HistoryUsage> {
    const select = `SELECT count(*)::bigint AS versions, coalesce(sum(v.original_length), 0)::bigint AS "originalBytes", coalesce(sum(octet_length(v.payload)), 0)::bigint AS "storedBytes" FROM memory_versions v`;
    if (namespace === undefined) return (await this.database.query<HistoryUsage>(select))[0] as HistoryUsage;
    const ns = await this.database.namespaceId(namespace);
    if (ns === undefined) return { versions: 0, originalBytes: 0, storedBytes: 0 };
    return (await this.database.query<HistoryUsage>(`${select} JOIN memories m ON m.seq = v.seq WHERE m.ns = $1`, [ns]))[0] as HistoryUsage;
  }

  async get(namespace: string, id: string): Promise<StoredMemory | undefined> {
    const ns = await this.database.namespaceId(namespace);
    if (ns === undefined) return undefined;
    const row = (await this.database.query<PgMemoryRow>(`${WITH_ENVELOPE} WHERE m.ns = $1 AND m.id = $2`, [ns, id]))[0];
    return row ? toStoredMemory(row) : undefined;
  }

  /** One round trip for the whole batch. */
  async getMany(refs: readonly MemoryRef[]): Promise<(StoredMemory | undefined)[]> {
    if (refs.length === 0) return [];
    const rows = await this.database.query<PgMemoryRow & { i: number }>(
      `SELECT r.i, x.* FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(namespace, id, i)
       JOIN LATERAL (${WITH_ENVELOPE} WHERE n.name = r.namespace AND m.id = r.id) x ON true`,
      [refs.map((r) => r.namespace), refs.map((r) => r.id)],
    );
    const found: (StoredMemory | undefined)[] = refs.map(() => undefined);
    for (const row of rows) found[row.i - 1] = toStoredMemory(row);
    return found;
  }

  async getSemantic(namespace: string, id: string): Promise<StoredSemantic | undefined> {
    const ns = await this.database.namespaceId(namespace);
    if (ns === undefined) return undefined;
    const row = (
      await this.database.query<{ summary: string; entities: string; source: string }>(
        "SELECT s.summary, s.entities, s.source FROM semantic s JOIN memories m ON m.seq = s.seq WHERE m.ns = $1 AND m.id = $2",
        [ns, id],
      )
    )[0];
    return row && { summary: row.summary, entities: JSON.parse(row.entities) as StoredSemantic["entities"], source: row.source };
  }

  async findContent(namespace: string, contentHash: Uint8Array, checksum: number, originalLength: number): Promise<ContentHolder | undefined> {
    const ns = await this.database.namespaceId(namespace);
    if (ns === undefined) return undefined;
    const hash = Buffer.from(contentHash.subarray(0, CONTENT_HASH_BYTES));
    const row = (
      await this.database.query<{ namespace: string; id: string; codec: string; envelope: Buffer }>(
        `SELECT n.name AS namespace, m.id, c.name AS codec, m.envelope FROM memories m JOIN namespaces n ON n.n = m.ns JOIN codecs c ON c.n = m.codec
         WHERE m.content_hash = $1 AND m.checksum = $2 AND m.original_length = $3 AND m.content_of IS NULL AND m.ns = $4 LIMIT 1`,
        [hash, toChecksumColumn(checksum), originalLength, ns],
      )
    )[0];
    return row && { namespace: row.namespace, id: row.id, codec: row.codec, storedBytes: row.envelope.length, envelope: toBytes(row.envelope) };
  }

  async namespacesOf(id: string): Promise<string[]> {
    const rows = await this.database.query<{ name: string }>("SELECT n.name FROM memories m JOIN namespaces n ON n.n = m.ns WHERE m.id = $1 ORDER BY n.name COLLATE \"C\"", [id]);
    return rows.map((r) => r.name);
  }

  async fingerprints(namespace: string, ids: readonly string[]): Promise<Map<string, Fingerprint>> {
    const found = new Map<string, Fingerprint>();
    const ns = await this.database.namespaceId(namespace);
    if (ns === undefined || ids.length === 0) return found;
    const rows = await this.database.query<{ id: string; checksum: number; original_length: number; content_hash: Buffer | null }>(
      "SELECT id, checksum, original_length, content_hash FROM memories WHERE ns = $1 AND id = ANY($2::text[])",
      [ns, [...ids]],
    );
    for (const row of rows) found.set(row.id, { checksum: fromChecksumColumn(row.checksum), originalLength: row.original_length, ...(row.content_hash ? { contentHash: new Uint8Array(row.content_hash) } : {}) });
    return found;
  }

  async list(query: ListQuery): Promise<MemorySummary[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.namespace !== undefined) {
      const ns = await this.database.namespaceId(query.namespace);
      if (ns === undefined) return [];
      params.push(ns);
      where.push(`m.ns = $${params.length}`);
    }
    if (query.kind !== undefined) {
      params.push(kindNumber(query.kind));
      where.push(`m.kind = $${params.length}`);
    }
    params.push(query.limit ?? null, query.offset ?? 0);
    const sql = `${SUMMARY_SELECT} ${SUMMARY_FROM} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY m.seq LIMIT $${params.length - 1} OFFSET $${params.length}`;
    return (await this.database.query<PgMemoryRow>(sql, params)).map(toSummary);
  }

  async page(query: PageQuery): Promise<MemoryPage> {
    const params: unknown[] = [decodeCursor(query.cursor)];
    const where = filterWhere(query, params);
    if (where === undefined) return { items: [], next: null };
    const limit = Math.max(1, Math.floor(query.limit));
    params.push(limit + 1);
    const rows = await this.database.query<PgMemoryRow>(`${SUMMARY_SELECT} ${SUMMARY_FROM} WHERE m.seq > $1${where} ORDER BY m.seq LIMIT $${params.length}`, params);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items: items.map(toSummary), next: rows.length > limit && last ? encodeCursor(last.seq) : null };
  }

  /** Pages by seq (`WHERE seq > $1 ORDER BY seq LIMIT batch`): one query a page, nothing held open between pages. */
  async *scan(options: ScanOptions = {}): AsyncGenerator<StoredMemory> {
    const { namespace, signal } = options;
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? SCAN_BATCH));
    signal?.throwIfAborted();
    let ns: number | undefined;
    if (namespace !== undefined) {
      ns = await this.database.namespaceId(namespace);
      if (ns === undefined) return;
    }
    let after = 0;
    for (;;) {
      signal?.throwIfAborted();
      const params: unknown[] = [after];
      let where = ns === undefined ? "" : (params.push(ns), ` AND m.ns = $${params.length}`);
      if (options.filter) {
        const filtered = filterWhere(options.filter, params);
        if (filtered === undefined) return;
        where += filtered;
      }
      params.push(batchSize);
      const rows = await this.database.query<PgMemoryRow>(`${WITH_ENVELOPE} WHERE m.seq > $1${where} ORDER BY m.seq LIMIT $${params.length}`, params);
      if (rows.length === 0) return;
      for (const row of rows) {
        signal?.throwIfAborted();
        yield toStoredMemory(row);
      }
      if (rows.length < batchSize) return;
      after = (rows[rows.length - 1] as PgMemoryRow).seq;
    }
  }

  async count(namespace?: string): Promise<number> {
    if (namespace === undefined) return (await this.database.query<{ n: number }>("SELECT count(*) AS n FROM memories"))[0]?.n ?? 0;
    const ns = await this.database.namespaceId(namespace);
    return ns === undefined ? 0 : ((await this.database.query<{ n: number }>("SELECT count(*) AS n FROM memories WHERE ns = $1", [ns]))[0]?.n ?? 0);
  }

  /** Through the partial index memories_by_expiry (expires_at IS NOT NULL). */
  async countExpired(at: number, namespace?: string): Promise<number> {
    const select = "SELECT count(*) AS n FROM memories WHERE expires_at IS NOT NULL AND expires_at <= $1";
    if (namespace === undefined) return (await this.database.query<{ n: number }>(select, [at]))[0]?.n ?? 0;
    const ns = await this.database.namespaceId(namespace);
    return ns === undefined ? 0 : ((await this.database.query<{ n: number }>(`${select} AND ns = $2`, [at, ns]))[0]?.n ?? 0);
  }

  async usageByCodec(namespace?: string): Promise<CodecUsage[]> {
    if (namespace === undefined) {
      return this.database.query<CodecUsage>(
        `SELECT c.name AS codec, count(*) AS memories, sum(m.original_length)::bigint AS "originalBytes", sum(octet_length(m.envelope))::bigint AS "storedBytes"
         FROM memories m JOIN codecs c ON c.n = m.codec GROUP BY c.name ORDER BY c.name COLLATE "C"`,
      );
    }
    const ns = await this.database.namespaceId(namespace);
    if (ns === undefined) return [];
    // A text this namespace reads from another namespace's holder is charged here in full, once (to its first reference).
    return this.database.query<CodecUsage>(
      `SELECT c.name AS codec, count(*) AS memories, sum(m.original_length)::bigint AS "originalBytes",
         sum(CASE WHEN m.content_of IS NULL THEN octet_length(m.envelope)
                  WHEN p.ns != m.ns AND m.seq = (SELECT min(r.seq) FROM memories r WHERE r.content_of = m.content_of AND r.ns = m.ns) THEN octet_length(p.envelope)
                  ELSE 0 END)::bigint AS "storedBytes"
       FROM memories m JOIN codecs c ON c.n = m.codec LEFT JOIN memories p ON p.seq = m.content_of
       WHERE m.ns = $1 GROUP BY c.name ORDER BY c.name COLLATE "C"`,
      [ns],
    );
  }

  async countWithoutAsset(codec: string, namespace?: string): Promise<NamespaceCount[]> {
    const ns = namespace === undefined ? undefined : await this.database.namespaceId(namespace);
    if (namespace !== undefined && ns === undefined) return [];
    return this.database.query<NamespaceCount>(
      `SELECT n.name AS namespace, count(*)::int AS memories FROM memories m JOIN codecs c ON c.n = m.codec JOIN namespaces n ON n.n = m.ns
       WHERE c.name = $1 AND m.asset IS NULL${ns === undefined ? "" : " AND m.ns = $2"} GROUP BY n.name ORDER BY n.name COLLATE "C"`,
      ns === undefined ? [codec] : [codec, ns],
    );
  }

  async footprint(namespace?: string): Promise<Footprint> {
    let memories = 0;
    let originalBytes = 0;
    let envelopeBytes = 0;
    for (const usage of await this.usageByCodec(namespace)) {
      memories += usage.memories;
      originalBytes += usage.originalBytes;
      envelopeBytes += usage.storedBytes;
    }
    let assetBytes = 0;
    let unusedAssetBytes = 0;
    const all = await pgAssetUsage(this.database);
    for (const usage of namespace === undefined ? all : await pgAssetUsage(this.database, namespace)) {
      if (usage.memories > 0) assetBytes += usage.size;
    }
    for (const usage of all) {
      if (usage.memories === 0 && (namespace === undefined || usage.namespace === namespace)) unusedAssetBytes += usage.size;
    }
    return { memories, originalBytes, envelopeBytes, assetBytes, unusedAssetBytes };
  }

  async namespaces(): Promise<string[]> {
    return (await this.database.query<{ name: string }>('SELECT name FROM namespaces ORDER BY name COLLATE "C"')).map((r) => r.name);
  }
}

/** A page cursor: the last seq of the previous page, in base 36 behind a version letter (as SQLite's). */
function encodeCursor(seq: number): string {
  return `s${seq.toString(36)}`;
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const seq = /^s[0-9a-z]{1,11}$/.test(cursor) ? parseInt(cursor.slice(1), 36) : NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new MemzipError(ErrorCode.USAGE, `invalid page cursor ${JSON.stringify(cursor.slice(0, 40))}`, { hint: "Pass the `next` value of the previous page as it was given, or no cursor for the first page." });
  }
  return seq;
}

/** When a memory last changed: its newest history entry's replacement, else its creation (as SQLite's store). */
const UPDATED_AT = "coalesce((SELECT max(v.replaced_at) FROM memory_versions v WHERE v.seq = m.seq), m.created_at)";

/** A `\u` escape of U+0000 or of a surrogate after an even run of backslashes (so the escape is JSON's, not text). */
const UNCASTABLE_META = String.raw`(^|[^\\])(\\\\)*\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})`;

/**
 * A filter as SQL conditions (each after " AND ") over `memories m JOIN namespaces n`, its values
 * appended to `params`; undefined when it matches nothing (an empty namespace list).
 */
function filterWhere(filter: MemoryFilter, params: unknown[]): string | undefined {
  const where: string[] = [];
  const add = (clause: (n: string) => string, value: unknown): void => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (filter.namespaces !== undefined) {
    if (filter.namespaces.length === 0) return undefined;
    add((p) => `n.name = ANY(${p}::text[])`, [...filter.namespaces]);
  }
  if (filter.kind !== undefined) add((p) => `m.kind = ${p}`, kindNumber(filter.kind));
  for (const tag of new Set(filter.tags ?? [])) add((p) => `m.tags @> ${p}::jsonb`, JSON.stringify([tag]));
  const anyTags = [...new Set(filter.anyTags ?? [])];
  if (anyTags.length > 0) add((p) => `jsonb_typeof(m.tags) = 'array' AND m.tags ?| ${p}::text[]`, anyTags);
  if (filter.createdFrom !== undefined) add((p) => `m.created_at >= ${p}`, filter.createdFrom);
  if (filter.createdBefore !== undefined) add((p) => `m.created_at < ${p}`, filter.createdBefore);
  if (filter.updatedFrom !== undefined) add((p) => `${UPDATED_AT} >= ${p}`, filter.updatedFrom);
  if (filter.updatedBefore !== undefined) add((p) => `${UPDATED_AT} < ${p}`, filter.updatedBefore);
  const meta = Object.entries(filter.meta ?? {});
  if (meta.length > 0) {
    // A meta whose JSON holds \u0000 or a lone surrogate's escape (written by an earlier build, or by SQLite's import of
    // one) fails the cast to jsonb, and failed the whole query: such a row matches no meta condition instead.
    params.push(UNCASTABLE_META);
    const uncastable = `$${params.length}`;
    for (const [key, value] of meta) {
      // meta is text kept byte for byte; compared as jsonb (the stored JSON value, key order aside).
      params.push(key);
      const k = `$${params.length}`;
      add((p) => `((CASE WHEN m.meta ~ ${uncastable}::text THEN NULL ELSE m.meta::jsonb END) -> ${k}::text) = ${p}::jsonb`, JSON.stringify(value ?? null));
    }
  }
  if (filter.activeAt !== undefined) add((p) => `(m.expires_at IS NULL OR m.expires_at > ${p})`, filter.activeAt);
  if (filter.expiredBy !== undefined) add((p) => `m.expires_at <= ${p}`, filter.expiredBy);
  return where.map((w) => ` AND ${w}`).join("");
}
