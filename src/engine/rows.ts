/** Checks and keys on stored rows that several engine parts share. */
import { createHash } from "node:crypto";
import { xxh64 } from "@node-rs/xxhash";
import { checksum32 } from "../codec/checksum.js";
import { damagedPlaceId, memoryKey, type DamagedMemories, type StoredMemory, type StoredSemantic } from "../core/store.js";
import { MemzipError, ErrorCode, isMemzipError } from "../errors.js";
import type { SemanticStatus } from "../semantic/semantic.js";
import { Turns } from "../core/turns.js";
import { damagedColumns } from "../store/damage.js";
import type { PlannedWrite } from "./types.js";

/** A part of the store a scan could not read (a damaged sealed block), as `verify` and `export --skip-bad` report it: one entry for its memories, named by where they are (their ids are inside it). */
export function damagedEntry(damage: DamagedMemories): { id: string; code: string; message: string } {
  return { id: damagedPlaceId(damage), code: damage.error.code, message: damage.error.message };
}

export function notFound(id: string, namespace?: string, expiredAt?: number): MemzipError {
  const where = namespace === undefined ? "" : ` in namespace "${namespace}"`;
  if (expiredAt !== undefined) {
    const when = new Date(expiredAt).toISOString();
    return new MemzipError(ErrorCode.NOT_FOUND, `memory "${id}"${where} expired at ${when}`, {
      hint: "An expired memory is gone for every read; `memzip compact` deletes it for good. Add it again (with a later --ttl, or none) to keep it.",
      details: { id, ...(namespace === undefined ? {} : { namespace }), expiredAt: when },
    });
  }
  return new MemzipError(ErrorCode.NOT_FOUND, `no memory with id "${id}"${where}`, {
    hint: "List ids with `memzip ls` (with -n NS for one namespace).",
    details: namespace === undefined ? { id } : { id, namespace },
  });
}

/** The size limit for reading a memory: the configured one, or more when the store holds a longer text (written under a higher limit). */
export function readLimit(configured: number, storedLength: number): number {
  return Math.max(configured, storedLength);
}

/** A cache key that names an envelope's content: the envelope fixes the text once its assets are fixed. */
export function envelopeKey(envelope: Uint8Array): string {
  return `text:${xxh64(envelope).toString(16)}:${envelope.length}`;
}

/**
 * Plans in input order, made so that the last record of an id wins. Plans are made concurrently
 * against the store as it was, so a record found "unchanged" may follow one with the same id that
 * changes it (earlier in this batch, or in a batch committed after the plan was made): such a
 * record writes back the row it saw. A later record of an id already written here reads as if sent
 * after that write: what it leaves out (kind, tags, meta, time, expiry) is that row's, the same text and
 * metadata again is "unchanged" (nothing written), anything else an update.
 */
export async function lastRecordWins(plans: readonly PlannedWrite[], current: (namespace: string, id: string) => Promise<StoredMemory | undefined>): Promise<PlannedWrite[]> {
  const written = new Map<string, StoredMemory>();
  const resolvedPlans: PlannedWrite[] = [];
  for (const plan of plans) {
    const { id: memoryId, namespace } = plan.result;
    const id = memoryKey(namespace, memoryId);
    const earlier = written.get(id);
    let resolved = plan;
    if (!plan.row && plan.unchangedRow) {
      const now = earlier ?? (await current(namespace, memoryId));
      const kept = earlier ? inherited(plan.unchangedRow, earlier, plan.inherits) : plan.unchangedRow;
      if (!now || !sameRow(now, kept)) {
        resolved = { ...plan, row: kept, result: { ...plan.result, codec: kept.codec, storedBytes: kept.envelope.length, status: "updated" } };
      }
    } else if (plan.row && earlier) {
      const row = inherited(plan.row, earlier, plan.inherits);
      resolved = sameRow(earlier, row)
        ? { ...plan, row: undefined, result: { ...plan.result, codec: earlier.codec, storedBytes: 0, status: "unchanged" } }
        : { ...plan, row, result: { ...plan.result, status: plan.result.status === "stored" ? "updated" : plan.result.status } };
    }
    if (resolved.row) written.set(id, resolved.row);
    resolvedPlans.push(resolved);
  }
  return resolvedPlans;
}

/** `row` with the fields its record left to the memory's current values taken from `earlier` (the row written before it). */
function inherited(row: StoredMemory, earlier: StoredMemory, inherits: PlannedWrite["inherits"]): StoredMemory {
  if (!inherits) return row;
  const { expiresAt: _expiresAt, ...rest } = row;
  const expiry = inherits.expiresAt ? earlier.expiresAt : row.expiresAt;
  return {
    ...rest,
    ...(inherits.kind ? { kind: earlier.kind } : {}),
    ...(inherits.tags ? { tags: earlier.tags } : {}),
    ...(inherits.meta ? { meta: earlier.meta } : {}),
    ...(inherits.createdAt ? { createdAt: earlier.createdAt } : {}),
    ...(expiry === undefined ? {} : { expiresAt: expiry }),
  };
}

/** Whether two rows of one memory hold the same text and metadata. */
function sameRow(a: StoredMemory, b: StoredMemory): boolean {
  return a.checksum === b.checksum && a.originalLength === b.originalLength && sameMetadata(a, b);
}

export function sameMetadata(a: StoredMemory, b: StoredMemory): boolean {
  const key = (m: StoredMemory) => JSON.stringify([m.namespace, m.kind, m.tags, m.meta, m.createdAt, m.expiresAt ?? null]);
  return key(a) === key(b);
}

export function semanticStatusOf(stored: StoredSemantic | undefined): SemanticStatus {
  return stored ? "on" : "off";
}

/**
 * Binds a decoded text to its row: its length, XXH32 and (where the row has one) content hash must
 * be the row's. An envelope copied into another row decodes cleanly but fails here (E_CHECKSUM).
 */
export function checkDecoded(memory: StoredMemory, bytes: Uint8Array): Uint8Array {
  const fail = (what: string): never => {
    throw new MemzipError(ErrorCode.CHECKSUM, `memory "${memory.id}": decoded text differs from the ${what} recorded in its row`, {
      hint: "The row holds another memory's payload or was damaged: restore this memory from an export or backup (`memzip verify` lists every such row).",
      details: { id: memory.id },
    });
  };
  if (bytes.length !== memory.originalLength) fail("length");
  if (checksum32(bytes) !== memory.checksum) fail("checksum");
  const hash = memory.contentHash;
  if (hash && hash.length > 0 && !Buffer.from(contentHash(bytes)).subarray(0, hash.length).equals(hash)) fail("content hash");
  return bytes;
}

/** A row's id, checked with its metadata columns: a damaged row can hold a blob for its id or JSON that does not parse. */
export function checkedRow(memory: StoredMemory): string {
  const hint = "Restore the store from a backup, or export with --skip-bad to keep every readable memory.";
  if (typeof memory.id !== "string") throw new MemzipError(ErrorCode.FORMAT, `a row's id is damaged (${printableId(memory.id)})`, { hint });
  const damaged = damagedColumns(memory);
  if (damaged) {
    throw new MemzipError(ErrorCode.FORMAT, `memory "${memory.id}": its ${damaged.join(" and ")} column${damaged.length > 1 ? "s are" : " is"} damaged`, {
      hint: "Import the memory again with its metadata (the text is intact if `memzip get` prints it), or restore from a backup.",
      details: { id: memory.id, columns: damaged },
    });
  }
  return memory.id;
}

/** An id fit for a report, whatever the row holds. */
export function printableId(id: unknown): string {
  if (typeof id === "string") return id;
  if (id instanceof Uint8Array) return `blob:${Buffer.from(id).toString("hex").slice(0, 64)}`;
  return `${typeof id}:${String(id)}`;
}

/** The store's content address of a text: 16 bytes of its sha256. */
export function contentHash(bytes: Uint8Array): Uint8Array {
  return createHash("sha256").update(bytes).digest().subarray(0, 16);
}

export function contentId(namespace: string, bytes: Uint8Array): string {
  return `m-${createHash("sha256").update(namespace).update("\0").update(bytes).digest("hex").slice(0, 20)}`;
}

/**
 * A caller's tag as `memoryTag` writes it, or `*`: the tag as given, or without its double quotes (a
 * shell or a model often drops them). Anything else is `E_INVALID_INPUT`: compared, it would fail as
 * "changed" for ever, and a caller told to read again would loop.
 */
export function normalTag(ifMatch: string): string {
  const tag = ifMatch.trim();
  if (tag === "*" || /^"m[A-Za-z0-9_-]{22}"$/.test(tag)) return tag;
  if (/^m[A-Za-z0-9_-]{22}$/.test(tag)) return `"${tag}"`;
  throw new MemzipError(ErrorCode.INVALID_INPUT, `${JSON.stringify(ifMatch.slice(0, 64))} is not a memory's tag (a tag looks like "m" and 22 letters, digits, - or _, in double quotes)`, {
    hint: "Pass the etag a read of the memory gave (REST ETag or etag, MCP recall's etag, memzip get --json's etag) as it was, or * for any.",
  });
}

/** A conditional write's check: `E_PRECONDITION` unless the memory has the tag (`normalTag`'s) or the tag is `*`. */
export function checkTag(memory: StoredMemory, ifMatch: string | undefined, action: "update" | "forget" = "update"): void {
  if (ifMatch === undefined || ifMatch === "*" || memoryTag(memory) === ifMatch) return;
  throw preconditionFailed(memory.id, memory.namespace, ifMatch, action);
}

/**
 * A write whose expiry (`when`: "expiresAt …", "a TTL of …") is not after now: written, the memory would
 * vanish at once and the caller's next read answer NOT_FOUND — a forget said as a write. Refused in every
 * write (library, import, update, REST, MCP).
 */
export function expiresAtOnce(when: string, now: number, details: Record<string, unknown>): MemzipError {
  return new MemzipError(ErrorCode.INVALID_INPUT, `${when} is not after now (${new Date(now).toISOString()}): the memory would expire at once`, {
    hint: "Give an expiry after now (or null for never), or forget the memory to remove it now.",
    details: { now, ...details },
  });
}

/** A conditional write whose tag is not the memory's now. */
function preconditionFailed(id: string, namespace: string, ifMatch: string, action: "update" | "forget"): MemzipError {
  const done = action === "forget" ? "nothing was deleted" : "nothing was written";
  return new MemzipError(ErrorCode.PRECONDITION, `memory "${id}" in namespace "${namespace}" changed since it was read (its tag is not ${ifMatch}); ${done}`, {
    hint:
      action === "forget"
        ? "Read the memory again (its new tag comes with it) and decide on what it holds now; forget it with that tag if it should still go."
        : "Read the memory again (its new tag comes with it), apply the change to what it holds now, and send it with that tag.",
    details: { id, namespace },
  });
}

/**
 * A memory's entity tag: what a reader sees of it (the text's checksum and length, kind, tags, meta,
 * expiry), given as HTTP's ETag and by the MCP tools. A conditional update (`ifMatch`) applies only
 * while the memory still has the tag its caller read. Maintenance that rewrites the envelope alone
 * (recode, a new snapshot) keeps the tag; a change of text, kind, tags, meta or expiry gives another
 * (not a re-import's new createdAt, nor a language filled in: what an agent edits). The text enters
 * by its XXH32 and length, as the store's own compare-and-set does.
 */
export function memoryTag(memory: Pick<StoredMemory, "checksum" | "originalLength" | "kind" | "tags" | "meta" | "expiresAt">): string {
  const seen = JSON.stringify([memory.checksum, memory.originalLength, memory.kind, memory.tags, memory.meta, memory.expiresAt ?? null]);
  return `"m${createHash("sha256").update(seen).digest("base64url").slice(0, 22)}"`;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A decode's bytes, or undefined where the envelope is damaged (E_CHECKSUM, E_FORMAT: it no longer reads back); any other failure is thrown. */
export async function unlessDamaged(decoded: Promise<Uint8Array>): Promise<Uint8Array | undefined> {
  try {
    return await decoded;
  } catch (error) {
    if (isMemzipError(error, ErrorCode.CHECKSUM) || isMemzipError(error, ErrorCode.FORMAT)) return undefined;
    throw error;
  }
}

/** Positions 0..n-1 ordered by the asset at each (none first), in position order within one asset. */
function assetOrder(assets: readonly (string | null | undefined)[]): number[] {
  const at = (i: number) => assets[i] ?? "";
  return assets.map((_, i) => i).sort((a, b) => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : a - b));
}

/** Memories `inAssetOrder` works on at once (one slice between looks at the clock). */
const ASSET_ORDER_SLICE = 16;

/**
 * `work` on each memory, those coded against one asset one after another, a slice at a time, the event loop handed
 * back every ~10 ms; the results in the memories' order. A read in seq order meets a store's namespaces interleaved, and
 * a process keeps two `cm` models loaded: decoded in that order, every memory of a store of five namespaces loaded a
 * model (0.1-1 s each), and a search's first indexing of 50,000 memories held a server for hours. A rejection of `work`
 * rejects the whole, as Promise.all does (the slice in flight finishes first).
 */
export async function inAssetOrder<M extends { assetId?: string | null } | undefined, T>(memories: readonly M[], work: (memory: M, index: number) => Promise<T>): Promise<T[]> {
  const order = assetOrder(memories.map((memory) => memory?.assetId));
  const results = new Array<T>(memories.length);
  const turns = new Turns();
  for (let from = 0; from < order.length; from += ASSET_ORDER_SLICE) {
    await turns.take();
    const slice = order.slice(from, from + ASSET_ORDER_SLICE);
    const done = await Promise.all(slice.map((i) => work(memories[i] as M, i)));
    slice.forEach((i, k) => (results[i] = done[k] as T));
  }
  return results;
}

/**
 * The items of a scan, each window (`window` items, or fewer holding `windowBytes` of envelopes) reordered by asset
 * (stable within one): for a scan whose work may run in any order (`verify`), so that `cm` models load once a window,
 * not at nearly every memory (see `inAssetOrder`).
 */
export async function* groupedByAsset<M extends { assetId?: string | null; envelope: Uint8Array }>(items: AsyncIterable<M>, window: number, windowBytes = 8 << 20): AsyncGenerator<M> {
  let held: M[] = [];
  let bytes = 0;
  const ordered = () => assetOrder(held.map((item) => item.assetId)).map((i) => held[i] as M);
  for await (const item of items) {
    held.push(item);
    bytes += item.envelope.length;
    if (held.length < window && bytes < windowBytes) continue;
    const out = ordered();
    held = [];
    bytes = 0;
    yield* out;
  }
  yield* ordered();
}
