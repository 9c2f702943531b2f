/**
 * Memory history: every earlier text of a memory is kept when a write replaces it, coded against
 * the text that replaced it (codec/delta.ts). Reading walks back from the current text, decoding
 * each kept version against the one after it.
 */
import { decodeVersion, encodeVersion } from "../codec/delta.js";
import { decodeStoredText } from "../codec/text.js";
import { memoryKey, type Store, type StoredMemory } from "../core/store.js";
import type { Reader } from "./reader.js";
import type { MemoryVersion, PlannedWrite } from "./types.js";

/**
 * At commit, after the last-record-wins pass: each plan that gives a memory another text gets the
 * text it replaces (the stored one, or that of an earlier plan of the batch for the same memory),
 * coded against its own text, as `row.replaces`; the store keeps it in the same transaction.
 */
export async function attachHistory(plans: readonly PlannedWrite[], store: Store, reader: Reader, now: number = Date.now()): Promise<void> {
  const latest = new Map<string, { memory: StoredMemory; bytes: Uint8Array }>();
  for (const plan of plans) {
    const { row, text } = plan;
    if (!row || !text) continue;
    const key = memoryKey(row.namespace, row.id);
    let prior = latest.get(key);
    if (!prior && plan.result.status === "updated") {
      const stored = await store.memories.get(row.namespace, row.id);
      if (stored && !sameText(stored, row)) prior = { memory: stored, bytes: await reader.bytesOf(stored) };
    }
    if (prior && !sameText(prior.memory, row)) {
      const { memory, bytes } = prior;
      const coded = encodeVersion(bytes, text);
      plan.row = {
        ...row,
        replaces: { kind: memory.kind, tags: [...memory.tags], meta: { ...memory.meta }, ...(memory.language ? { language: memory.language } : {}), replacedAt: now, ...coded, originalLength: bytes.length, checksum: memory.checksum },
      };
    }
    latest.set(key, { memory: plan.row as StoredMemory, bytes: text });
  }
}

function sameText(a: StoredMemory, b: StoredMemory): boolean {
  return a.checksum === b.checksum && a.originalLength === b.originalLength;
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
