/**
 * Memory history: every earlier text of a memory is kept when a write replaces it, coded against
 * the text that replaced it (codec/delta.ts). Reading walks back from the current text, decoding
 * each kept version against the one after it.
 */
import { decodeVersion, encodeVersion } from "../codec/delta.js";
import { decodeStoredText } from "../codec/text.js";
import { memoryKey, type Fingerprint, type Store, type StoredMemory } from "../core/store.js";
import type { Reader } from "./reader.js";
import type { MemoryVersion, PlannedWrite } from "./types.js";
import { unlessDamaged } from "./rows.js";
import { ErrorCode, MemzipError } from "../errors.js";

/**
 * At commit, after the last-record-wins pass: each plan that writes a row learns what the row holds
 * now (`row.expected`: the store refuses the write, E_CONFLICT, if that changes before it commits),
 * and each plan that gives a memory another text gets the text it replaces (the stored one, or that
 * of an earlier plan of the batch for the same memory), coded against its own text, as
 * `row.replaces`; the store keeps it in the same transaction. A plan made when the memory did not
 * exist, whose id another writer has stored since, becomes an update that keeps that text in history
 * (and one whose row was deleted since stores it anew).
 */
export async function attachHistory(plans: readonly PlannedWrite[], store: Store, reader: Reader, now: number = Date.now()): Promise<void> {
  // What the store holds now for each memory the batch writes (one query per namespace).
  const wanted = new Map<string, Set<string>>();
  for (const { row } of plans) {
    if (!row) continue;
    const ids = wanted.get(row.namespace) ?? new Set<string>();
    wanted.set(row.namespace, ids.add(row.id));
  }
  const current = new Map<string, Fingerprint>();
  for (const [namespace, ids] of wanted) {
    for (const [id, fingerprint] of await store.memories.fingerprints(namespace, [...ids])) current.set(memoryKey(namespace, id), fingerprint);
  }
  // The last row of the batch for each memory (with its text's bytes, where the plan has them).
  const latest = new Map<string, { memory: StoredMemory; bytes: Uint8Array | undefined }>();
  for (const plan of plans) {
    const { row, text } = plan;
    if (!row) continue;
    const key = memoryKey(row.namespace, row.id);
    const earlier = latest.get(key);
    let prior = earlier?.bytes ? { memory: earlier.memory, bytes: earlier.bytes } : undefined;
    let expected: Fingerprint | null;
    if (earlier) {
      expected = { checksum: earlier.memory.checksum, originalLength: earlier.memory.originalLength };
      if (earlier.memory.contentHash) expected.contentHash = earlier.memory.contentHash;
    } else {
      const fingerprint = current.get(key);
      // An update is written only over the text it read (a row deleted or changed since is refused by the store).
      // A new memory's plan whose id another writer has created since, with this very text (the same text sent twice
      // at once): not written over it as an update (it answered `updated` and took the later creation time); the
      // writer's commit plans it again, as that memory's write of its own text (`unchanged`, or a metadata update).
      if (!plan.basis && plan.result.status === "stored" && fingerprint && sameText(fingerprint, row)) {
        throw new MemzipError(ErrorCode.CONFLICT, `memory ${row.id} was created by another writer while this write was prepared; nothing of this batch was written`, {
          hint: "Write it again: it is then that memory's write.",
          details: { namespace: row.namespace, id: row.id },
        });
      }
      expected = plan.basis ?? fingerprint ?? null;
      const status = expected ? "updated" : "stored";
      if (plan.result.status !== status) plan.result = { ...plan.result, status };
      if (fingerprint && !sameText(fingerprint, row)) {
        const stored = await store.memories.get(row.namespace, row.id);
        // Changed again since the fingerprint was read: the store refuses the write below (the row is not what it expects).
        // A text that no longer reads back (damaged) cannot be kept: the write goes on without it in history.
        const bytes = stored && sameText(stored, fingerprint) ? await unlessDamaged(reader.bytesOf(stored)) : undefined;
        if (stored && bytes) prior = { memory: stored, bytes };
      }
    }
    plan.row = { ...row, expected };
    if (prior && text && !sameText(prior.memory, row)) {
      const { memory, bytes } = prior;
      const coded = encodeVersion(bytes, text);
      plan.row = {
        ...plan.row,
        replaces: { kind: memory.kind, tags: [...memory.tags], meta: { ...memory.meta }, ...(memory.language ? { language: memory.language } : {}), replacedAt: now, ...coded, originalLength: bytes.length, checksum: memory.checksum },
      };
    }
    latest.set(key, { memory: plan.row, bytes: text });
  }
}

/** Whether two rows hold the same text: length and XXH32, and the content hash where both have one (XXH32 collides). */
function sameText(a: Fingerprint, b: Fingerprint): boolean {
  if (a.checksum !== b.checksum || a.originalLength !== b.originalLength) return false;
  // The store keeps a prefix of the hash (CONTENT_HASH_BYTES), a plan the whole: compared over the shorter.
  const [x, y] = [a.contentHash, b.contentHash];
  if (!x?.length || !y?.length) return true;
  const n = Math.min(x.length, y.length);
  return Buffer.from(x.subarray(0, n)).equals(Buffer.from(y.subarray(0, n)));
}

/** Every version of a memory, oldest first; the last is the current text (`replacedAt: null`). */
export async function readHistory(store: Store, reader: Reader, id: string, namespace?: string): Promise<MemoryVersion[]> {
  const memory = await reader.find(id, namespace);
  const kept = await store.memories.history(memory.namespace, id);
  let successor = await reader.bytesOf(memory);
  const last = kept[kept.length - 1];
  const versions: MemoryVersion[] = [
    {
      version: (last?.version ?? 0) + 1,
      text: decodeStoredText(successor),
      kind: memory.kind,
      tags: memory.tags,
      meta: memory.meta,
      ...(memory.language ? { language: memory.language } : {}),
      createdAt: last?.replacedAt ?? memory.createdAt,
      replacedAt: null,
      originalBytes: memory.originalLength,
      storedBytes: memory.storedLength ?? memory.envelope.length,
    },
  ];
  for (let i = kept.length - 1; i >= 0; i--) {
    const v = kept[i] as (typeof kept)[number];
    const bytes = decodeVersion(v.codec, v.payload, successor, v.originalLength, v.checksum);
    versions.push({
      version: v.version,
      text: decodeStoredText(bytes),
      kind: v.kind,
      tags: v.tags,
      meta: v.meta,
      ...(v.language ? { language: v.language } : {}),
      createdAt: v.createdAt,
      replacedAt: v.replacedAt,
      originalBytes: v.originalLength,
      storedBytes: v.payload.length,
    });
    successor = bytes;
  }
  return versions.reverse();
}
