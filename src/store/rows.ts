/**
 * Rows of memzip's relational schema (SQLite and PostgreSQL share its shape) as contract values.
 * Each store reads its own columns (tags as JSON text or jsonb, checksums signed or not) and hands
 * the decoded values here, so both build memories, assets and keys the same way.
 */
import type { AssetKind } from "../codec/codec.js";
import { ErrorCode, MemzipError } from "../errors.js";
import { MEMORY_KINDS, type ApiKeyRecord, type Fingerprint, type KeyRole, type MemoryKind, type MemorySummary, type StoredAsset, type StoredMemory, type StoredVersion, type VersionInput } from "../core/store.js";
import { markDamaged, parseJsonColumn } from "./damage.js";

/** The columns both stores' summary queries return, with the fields every store decodes alike. */
export interface MemoryColumns {
  seq: number;
  id: string;
  namespace: string;
  kind: number;
  created_at: number;
  meta: string | null;
  codec: string;
  envelope?: Buffer;
  original_length: number;
  asset_id: string | null;
  content_of: string | null;
  content_hash: Buffer | null;
  language: string | null;
  version: number;
  expires_at: number | string | null;
  stored_length: number;
}

export interface AssetRow {
  id: string;
  kind: string;
  namespace: string | null;
  bytes: Buffer;
  meta: string | null;
  created_at: number;
}

export interface KeyRow {
  id: string;
  hash: Buffer;
  role: KeyRole;
  namespaces: string;
  label: string | null;
  created_at: number;
  revoked_at: number | null;
}

export function kindNumber(kind: string): number {
  const n = (MEMORY_KINDS as readonly string[]).indexOf(kind);
  if (n < 0) throw new MemzipError(ErrorCode.INVALID_INPUT, `unknown memory kind "${kind}"`, { hint: `Use one of ${MEMORY_KINDS.join(", ")}.` });
  return n;
}

export function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

/** A byte array as a Buffer over the same memory (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * A summary from a row whose store decoded `tags` and `checksum` already; `damaged` names the
 * columns that did not decode. A damaged tags/meta column reads as empty and is marked, so one bad
 * row does not end a scan (issue 12).
 */
export function summaryOf(row: MemoryColumns, tags: string[], checksum: number, damaged: string[]): MemorySummary {
  const summary: MemorySummary = {
    id: row.id,
    namespace: row.namespace,
    kind: (MEMORY_KINDS[row.kind] ?? "note") as MemoryKind,
    tags,
    createdAt: row.created_at,
    meta: row.meta === null ? {} : parseJsonColumn(row.meta, "meta", {} as Record<string, unknown>, (v) => typeof v === "object" && v !== null && !Array.isArray(v), damaged),
    codec: row.codec,
    originalLength: row.original_length,
    checksum,
    assetId: row.asset_id,
    contentOf: row.content_of ?? null,
    storedLength: row.stored_length,
  };
  if (row.language !== null) summary.language = row.language;
  if (row.expires_at !== null && row.expires_at !== undefined) summary.expiresAt = Number(row.expires_at);
  return markDamaged(summary, damaged);
}

/** A summary with the envelope it reads and the row's version. */
export function withEnvelope(summary: MemorySummary, row: MemoryColumns): StoredMemory {
  // A reference whose holder is gone (its sealed block set aside as damaged) has no envelope: an empty one, which
  // no codec reads (E_FORMAT), so the memory fails as a damaged one does and writing its text again repairs it.
  const memory: StoredMemory = { ...summary, envelope: row.envelope ? toBytes(row.envelope) : new Uint8Array(0), version: row.version };
  if (row.content_hash) memory.contentHash = toBytes(row.content_hash);
  return memory;
}

export function toAsset(row: AssetRow): StoredAsset {
  return {
    id: row.id,
    kind: row.kind as AssetKind,
    namespace: row.namespace,
    bytes: toBytes(row.bytes),
    meta: row.meta === null ? {} : assetMeta(row.id, row.meta),
    createdAt: row.created_at,
  };
}

/** An asset's meta column; one that does not parse is a damaged store (E_STORE), not a SyntaxError (trial43). */
function assetMeta(id: string, raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MemzipError(ErrorCode.STORE, `the store file is damaged: asset ${id.slice(0, 64)}'s meta is not a JSON object`, {
      hint: "Restore the store from a backup; `memzip export --skip-bad --out FILE` saves every memory that can still be read (those needing this asset cannot).",
      details: { asset: id.slice(0, 64) },
    });
  }
  return value as Record<string, unknown>;
}

export function toKey(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    hash: new Uint8Array(row.hash),
    role: row.role,
    namespaces: JSON.parse(row.namespaces) as string[],
    label: row.label,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/** A `memory_versions` row as both stores read it (tags and meta as JSON text; the checksum as the store gives it). */
export interface VersionRow {
  version: number;
  kind: number;
  created_at: number;
  replaced_at: number;
  codec: string;
  original_length: number;
  checksum: number;
  language: string | null;
  tags: string | null;
  meta: string | null;
  payload: Buffer;
}

/** The column values of a version to write, in the order both stores' inserts take them after seq, version and created_at. */
export function versionValues(version: VersionInput, checksum: number): (string | number | Buffer | null)[] {
  return [
    kindNumber(version.kind),
    version.replacedAt,
    version.codec,
    version.originalLength,
    checksum,
    version.language ?? null,
    version.tags.length > 0 ? JSON.stringify(version.tags) : null,
    Object.keys(version.meta).length > 0 ? JSON.stringify(version.meta) : null,
    asBuffer(version.payload),
  ];
}

export function toVersion(row: VersionRow, checksum: number): StoredVersion {
  const version: StoredVersion = {
    version: row.version,
    kind: (MEMORY_KINDS[row.kind] ?? "note") as MemoryKind,
    tags: row.tags === null ? [] : (JSON.parse(row.tags) as string[]),
    meta: row.meta === null ? {} : (JSON.parse(row.meta) as Record<string, unknown>),
    createdAt: row.created_at,
    replacedAt: row.replaced_at,
    codec: row.codec,
    originalLength: row.original_length,
    checksum,
    payload: toBytes(row.payload),
  };
  if (row.language !== null) version.language = row.language;
  return version;
}

/** Both stores' check before a conditional delete: the row must still be at the version its caller read. */
export function checkDeleteVersion(namespace: string, id: string, expectedVersion: number | undefined, version: number): void {
  if (expectedVersion === undefined || version === expectedVersion) return;
  throw new MemzipError(ErrorCode.CONFLICT, `memory ${id} changed while this delete was prepared; nothing was deleted`, {
    hint: "Read it again and decide again: another writer changed it in the meantime.",
    details: { namespace, id },
  });
}

/**
 * Both stores' check before a memory is written: the row (its text's checksum and length, and its
 * version where the writer gave one; undefined when there is none) must be what the writer saw
 * (`expected`) and hold the text the write replaces
 * (`replaces`). Otherwise another writer changed or created it since: `E_CONFLICT`, and the whole
 * batch is rolled back (nothing acknowledged is overwritten unseen).
 */
/** Whether two content hashes agree over the shorter one's bytes (a store keeps a prefix of the hash). */
function samePrefix(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.min(a.length, b.length);
  return Buffer.from(a.buffer, a.byteOffset, n).equals(Buffer.from(b.buffer, b.byteOffset, n));
}

export function checkExpected(memory: StoredMemory, row: (Fingerprint & { version: number }) | undefined): void {
  const { expected, replaces } = memory;
  const stale =
    (expected !== undefined &&
      (expected === null
        ? row !== undefined
        : row === undefined ||
          row.checksum !== expected.checksum ||
          row.originalLength !== expected.originalLength ||
          (expected.version !== undefined && row.version !== expected.version) ||
          // Another text of the same length and XXH32: told apart by the content hash where both have one.
          (expected.contentHash !== undefined && row.contentHash !== undefined && !samePrefix(expected.contentHash, row.contentHash)))) ||
    (replaces !== undefined && row !== undefined && (row.checksum !== replaces.checksum || row.originalLength !== replaces.originalLength));
  if (!stale) return;
  const what = row === undefined ? "was deleted" : expected === null ? "was created by another writer" : "changed";
  throw new MemzipError(ErrorCode.CONFLICT, `memory ${memory.id} ${what} while this write was prepared; nothing of this batch was written`, {
    hint: "Write it again: another writer changed it in the meantime (the write then keeps that writer's text in the memory's history).",
    details: { namespace: memory.namespace, id: memory.id },
  });
}

/**
 * Whether a write replaces a row's text (not only its metadata): what the search index's rewrite trigger checks too.
 * `hash`: the write's content hash as stored (its first bytes), or null.
 */
export function textChanged(before: { checksum: number; original_length: number; content_hash: Buffer | null }, memory: StoredMemory, hash: Buffer | null): boolean {
  return before.checksum !== memory.checksum || before.original_length !== memory.originalLength || !(hash === null ? before.content_hash === null : before.content_hash !== null && hash.equals(before.content_hash));
}

/**
 * A reference written without an envelope whose text no memory of its namespace holds at commit: nothing of the batch
 * is written. Where the writer named the holder it checked (`holderId`), another writer changed or deleted that one
 * since: E_CONFLICT with `details.holderChanged`, which tells the writer to plan it again against the store as it is now.
 */
export function noHolder(memory: { id: string; holderId?: string }): MemzipError {
  if (memory.holderId === undefined) return new MemzipError(ErrorCode.STORE, `memory ${memory.id} names a text no memory holds any longer`, { hint: "Write it again." });
  return new MemzipError(ErrorCode.CONFLICT, `memory ${memory.id} names a text no memory holds any longer (${memory.holderId} changed meanwhile)`, {
    hint: "Write it again.",
    details: { id: memory.id, holderChanged: true },
  });
}
