import { MemzipError, ErrorCode } from "../errors.js";
import { MEMORY_KINDS, type MemoryKind } from "../store/types.js";

/** A memory as callers hand it in (library, JSONL line, Arrow row, HTTP body). */
export interface MemoryInput {
  text: string;
  /** Namespace of this record; overrides the one the caller writes to. */
  namespace?: string;
  /** Kept when given; otherwise derived from the namespace and text, so re-imports do not duplicate. */
  id?: string;
  kind?: MemoryKind;
  tags?: string[];
  meta?: Record<string, unknown>;
  /** Milliseconds since the epoch. Defaults to now. */
  createdAt?: number;
}

const MAX_ID_LENGTH = 512;
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const KNOWN_FIELDS = new Set(["text", "namespace", "id", "kind", "tags", "meta", "createdAt"]);
export const NAMESPACE_PATTERN = /^[\p{L}\p{N}_.:@-]{1,128}$/u;

/** Validates an untrusted JSON value as a memory record; `where` names it in errors ("line 12"). */
export function parseMemoryRecord(value: unknown, where: string): MemoryInput {
  const fail = (message: string): never => {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `${where}: ${message}`, {
      hint: 'Each record is a JSON object with "text" (string) and optional "id", "kind", "tags", "meta", "createdAt".',
    });
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail("not a JSON object");
  const record = value as Record<string, unknown>;
  const { text, namespace, id, kind, tags, meta, createdAt } = record;
  if (typeof text !== "string") return fail('"text" must be a string');
  const input: MemoryInput = { text };
  if (namespace !== undefined) {
    if (typeof namespace !== "string" || !NAMESPACE_PATTERN.test(namespace)) return fail('"namespace" must be 1–128 letters, digits or _.:@-');
    input.namespace = namespace;
  }
  if (id !== undefined) {
    if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH || CONTROL_CHARACTER.test(id)) {
      return fail(`"id" must be a string of 1–${MAX_ID_LENGTH} characters without control characters`);
    }
    input.id = id;
  }
  if (kind !== undefined) {
    if (typeof kind !== "string" || !(MEMORY_KINDS as readonly string[]).includes(kind)) {
      return fail(`"kind" must be one of ${MEMORY_KINDS.join(", ")}`);
    }
    input.kind = kind as MemoryKind;
  }
  if (tags !== undefined) {
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string")) return fail('"tags" must be an array of strings');
    input.tags = tags as string[];
  }
  if (meta !== undefined) {
    if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return fail('"meta" must be an object');
    input.meta = meta as Record<string, unknown>;
  }
  // Fields memzip does not know (source, lang, …) are kept in meta rather than dropped.
  const extra = Object.entries(record).filter(([key]) => !KNOWN_FIELDS.has(key));
  if (extra.length > 0) input.meta = { ...Object.fromEntries(extra), ...input.meta };
  if (createdAt !== undefined) {
    if (typeof createdAt !== "number" || !Number.isFinite(createdAt)) return fail('"createdAt" must be milliseconds since the epoch');
    input.createdAt = createdAt;
  }
  return input;
}
