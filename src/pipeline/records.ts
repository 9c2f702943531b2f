import { checksum32 } from "../codec/checksum.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { MEMORY_KINDS, type MemoryKind } from "../core/store.js";

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
  /** When the memory expires (ms since the epoch); null: never. Absent: a new memory never expires, a re-written one keeps its expiry. */
  expiresAt?: number | null;
}

/** Longest id accepted, in UTF-16 code units (as JavaScript counts a string's length). */
export const MAX_ID_LENGTH = 512;
/**
 * The characters an id may hold: no control characters, and whole Unicode characters only (a lone
 * UTF-16 surrogate has no UTF-8 form: a store would keep U+FFFD in its place, an id no one can reach).
 */
export const MEMORY_ID_PATTERN = /^(?:[^\u0000-\u001f\u007f\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])+$/;
/** What an id's rules say, for errors and schemas. */
export const MEMORY_ID_RULE = `1–${MAX_ID_LENGTH} UTF-16 code units (most characters 1, an emoji 2) of valid Unicode, without control characters, not "." or ".."`;

/** Why a value cannot be a memory's id, or undefined when it can. "." and ".." are refused: a URL path cannot name them. */
export function idProblem(id: unknown): string | undefined {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH || !MEMORY_ID_PATTERN.test(id) || id === "." || id === "..") return `"id" must be ${MEMORY_ID_RULE}`;
  return undefined;
}

/** Refuses an id a caller hands in (library, HTTP, MCP, files) that memzip could not keep and give back exactly. */
/**
 * The library's door for an id and a namespace given as arguments (`recall`, `forget`, `update`, `history`, …): a
 * JavaScript caller is not held to the types, and an object there reached SQLite as a RangeError.
 */
export function checkMemoryRef(id: unknown, namespace: unknown): void {
  if (typeof id !== "string") throw new MemzipError(ErrorCode.INVALID_INPUT, `a memory id is a string (got ${typeof id})`, { hint: "Pass the id as it was given or returned (remember's result has it)." });
  if (namespace !== undefined && typeof namespace !== "string") {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `a namespace is a string (got ${namespace === null ? "null" : typeof namespace})`, {
      hint: "Pass the namespace as a string after the id, as in forget(id, namespace), update(id, patch, namespace) and history(id, namespace); recall takes { namespace } in its options.",
    });
  }
}

export function checkMemoryId(id: string): void {
  // The library's door: a JavaScript caller's id may be a number (its message's formatter threw a TypeError on it).
  if (typeof id !== "string") {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `an id is a string (got ${id === null ? "null" : typeof id})`, { hint: "Pass the id as a string (String(n) for a number), or leave it out to let memzip derive one from the text." });
  }
  const problem = idProblem(id);
  // The first 64 units, not ending inside a surrogate pair (a cut pair printed as U+FFFD).
  const shown = id.slice(0, /[\uD800-\uDBFF]/.test(id.charAt(63)) ? 63 : 64);
  if (problem) throw new MemzipError(ErrorCode.INVALID_INPUT, `${problem} (got ${JSON.stringify(shown)}${id.length > shown.length ? "…" : ""})`, { hint: "Pick an id that keeps the rule (shorter; whole Unicode characters: fix a producer that cut a surrogate pair in half), or leave it out to let memzip derive one from the text." });
}
const KNOWN_FIELDS = new Set(["text", "namespace", "id", "kind", "tags", "meta", "createdAt", "expiresAt", "checksum"]);
/** The latest time a memory may expire at (ms since the epoch): the last instant a JavaScript Date (and an export) can hold. */
export const LATEST_TIME_MS = 8_640_000_000_000_000;
/** Most tags a memory carries, and the longest tag (characters): REST, import and the library (MCP's tools take at most 64 of 128). */
export const MAX_TAGS = 256;
export const MAX_TAG_CHARS = 256;

/** A tag: valid Unicode (no lone surrogate) without control characters (C0, DEL, C1). */
const TAG_PATTERN = /^(?:[^\u0000-\u001f\u007f-\u009f\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])+$/;

/**
 * Why a tag list cannot be stored, or undefined. `fresh`: a write of new tags (remember, update, their REST and MCP
 * doors, `memzip add`), which may not hold an empty tag or a control character; an import keeps what an export of an
 * earlier build holds, so that every export re-imports (the CLI shows such characters escaped).
 */
export function tagsProblem(tags: unknown, fresh = false): string | undefined {
  // The library's callers are not held to the types: a string or a list holding a number is refused, not stored as [].
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === "string")) return '"tags" must be an array of strings';
  if (tags.length > MAX_TAGS) return `"tags" has ${tags.length} tags, over the limit of ${MAX_TAGS}`;
  const long = tags.find((tag) => tag.length > MAX_TAG_CHARS);
  if (long !== undefined) return `a tag is ${long.length} characters, over the limit of ${MAX_TAG_CHARS} (it starts ${JSON.stringify(long.slice(0, 32))})`;
  if (!fresh) return undefined;
  // No filter finds an empty tag (`--tag ""` is refused: `rm --where --tag "$UNSET"` must not match), so none is stored.
  if (tags.includes("")) return "a tag is empty (tags are 1 to 256 characters)";
  // A tab or a line break in a tag forged rows of `memzip ls`; an escape sequence reached the terminal.
  const unprintable = tags.find((tag) => !TAG_PATTERN.test(tag));
  if (unprintable !== undefined) return `a tag holds a control character or half of a surrogate pair: ${JSON.stringify(unprintable.slice(0, 32))} (tags are valid Unicode without control characters)`;
  return undefined;
}

/** U+0000, or half of a surrogate pair: what PostgreSQL's text and JSON cannot hold (`Store.plainJsonOnly`). */
const UNSTORABLE_CHARACTER = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_RULE = "U+0000 or half of a surrogate pair";

/**
 * Why a store whose JSON cannot hold U+0000 or half of a surrogate pair (PostgreSQL's jsonb; `Store.plainJsonOnly`)
 * cannot keep these tags or this meta (its keys and strings, at any depth), or undefined. Such a tag was a 500 over
 * REST, a crash of a local import and a queued import's chunk failed for ever (trial43); SQLite keeps them.
 */
export function plainJsonProblem(tags: readonly string[] | undefined, meta: unknown): string | undefined {
  const tag = tags?.find((t) => UNSTORABLE_CHARACTER.test(t));
  if (tag !== undefined) return `a tag holds ${UNSTORABLE_RULE} (${JSON.stringify(tag.slice(0, 32))}), which this store (PostgreSQL's JSON) cannot keep`;
  const walk = (value: unknown): string | undefined => {
    if (typeof value === "string") return UNSTORABLE_CHARACTER.test(value) ? value : undefined;
    if (typeof value !== "object" || value === null) return undefined;
    for (const [key, inner] of Object.entries(value)) {
      if (UNSTORABLE_CHARACTER.test(key)) return key;
      const found = walk(inner);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const text = walk(meta);
  return text === undefined ? undefined : `meta holds ${UNSTORABLE_RULE} (${JSON.stringify(text.slice(0, 32))}), which this store (PostgreSQL's JSON) cannot keep`;
}

/** Why a creation time cannot be stored, or undefined: a whole number of ms within ±LATEST_TIME_MS (what a date can show). */
export function createdProblem(createdAt: unknown): string | undefined {
  if (typeof createdAt !== "number" || !Number.isSafeInteger(createdAt) || Math.abs(createdAt) > LATEST_TIME_MS) {
    return `"createdAt" must be whole milliseconds since the epoch, at most ${LATEST_TIME_MS} either side of it`;
  }
  return undefined;
}

/** Why an expiry cannot be stored, or undefined: a whole number of ms from 0 to LATEST_TIME_MS. */
export function expiryProblem(expiresAt: unknown): string | undefined {
  if (typeof expiresAt !== "number" || !Number.isSafeInteger(expiresAt) || expiresAt < 0) return '"expiresAt" must be whole milliseconds since the epoch, or null for never';
  if (expiresAt > LATEST_TIME_MS) return `"expiresAt" ${expiresAt} is past the latest time memzip keeps (${LATEST_TIME_MS}, the year 275760): give null for never`;
  return undefined;
}

/** Deepest nesting of arrays and objects accepted in a record's meta (and other fields kept there). */
export const MAX_META_DEPTH = 64;
/** Largest meta accepted, as JSON text (UTF-16 code units). */
export const MAX_META_CHARS = 1 << 20;
export const NAMESPACE_PATTERN = /^[\p{L}\p{N}_.:@-]{1,128}$/u;

/** Validates an untrusted JSON value as a memory record; `where` names it in errors ("line 12"). */
export function parseMemoryRecord(value: unknown, where: string): MemoryInput {
  const fail = (message: string): never => {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `${where}: ${message}`, {
      hint: 'Each record is a JSON object with "text" (string) and optional "id", "kind", "tags", "meta", "createdAt", "expiresAt".',
    });
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail("not a JSON object");
  const record = value as Record<string, unknown>;
  const { text, namespace, id, kind, tags, meta, createdAt, expiresAt, checksum } = record;
  if (typeof text !== "string") return fail('"text" must be a string');
  if (checksum !== undefined) {
    // Exports carry each text's XXH32: a text changed on the way (a damaged file) is refused, not imported.
    if (typeof checksum !== "number" || !Number.isInteger(checksum) || checksum < 0 || checksum > 0xffffffff) return fail('"checksum" must be the XXH32 of the text (0 to 4294967295)');
    if (checksum32(Buffer.from(text, "utf8")) !== checksum) {
      throw new MemzipError(ErrorCode.CHECKSUM, `${where}: the text does not match its checksum (the file was changed or damaged)`, {
        hint: "Export the memory again from its store, or drop the \"checksum\" field if the text was edited on purpose.",
        details: { checksum },
      });
    }
  }
  const input: MemoryInput = { text };
  if (namespace !== undefined) {
    if (typeof namespace !== "string" || !NAMESPACE_PATTERN.test(namespace)) return fail('"namespace" must be 1–128 letters, digits or _.:@-');
    input.namespace = namespace;
  }
  if (id !== undefined) {
    const problem = idProblem(id);
    if (problem) return fail(problem);
    input.id = id as string;
  }
  if (kind !== undefined) {
    if (typeof kind !== "string" || !(MEMORY_KINDS as readonly string[]).includes(kind)) {
      return fail(`"kind" must be one of ${MEMORY_KINDS.join(", ")}`);
    }
    input.kind = kind as MemoryKind;
  }
  if (tags !== undefined) {
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string")) return fail('"tags" must be an array of strings');
    const problem = tagsProblem(tags as string[]);
    if (problem) return fail(problem);
    input.tags = tags as string[];
  }
  if (meta !== undefined) {
    if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return fail('"meta" must be an object');
    input.meta = meta as Record<string, unknown>;
  }
  // Fields memzip does not know (source, lang, …) are kept in meta rather than dropped.
  const extra = Object.entries(record).filter(([key]) => !KNOWN_FIELDS.has(key));
  // A field that meta also names is refused, not dropped: which of the two values the writer meant cannot be told.
  const both = input.meta === undefined ? undefined : extra.find(([key]) => Object.hasOwn(input.meta as object, key));
  if (both) return fail(`"${both[0].slice(0, 64)}" is both a field of the record and a key of its "meta" (other fields are kept in meta): keep one of the two`);
  if (extra.length > 0) input.meta = { ...Object.fromEntries(extra), ...input.meta };
  if (input.meta !== undefined) {
    const problem = metaProblem(input.meta);
    if (problem) return fail(problem);
  }
  if (createdAt !== undefined) {
    const problem = createdProblem(createdAt);
    if (problem) return fail(problem);
    input.createdAt = createdAt as number;
  }
  if (expiresAt !== undefined) {
    const problem = expiresAt === null ? undefined : expiryProblem(expiresAt);
    if (problem) return fail(problem);
    input.expiresAt = expiresAt as number | null;
  }
  return input;
}

/** An object made by a literal or JSON.parse (not an array, a Date, a Map or a class's instance). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** Why a value is not one JSON keeps exactly (its children aside), or undefined. */
function jsonValueProblem(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
    // JSON leaves an undefined property out (and writes null for one in an array): an optional field left unset.
    case "undefined":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `the number ${String(value)}`;
    case "object":
      return value === null || Array.isArray(value) || isPlainObject(value) ? undefined : `a ${(value as object).constructor?.name ?? "non-plain"} object`;
    default:
      return `a ${typeof value}`;
  }
}

/**
 * Why a meta value cannot be stored, or undefined: nesting deeper than MAX_META_DEPTH (which
 * would overflow the stack when serialized) or a JSON text over MAX_META_CHARS. Iterative, so
 * any depth is measured without recursion.
 */
export function metaProblem(meta: unknown): string | undefined {
  if (!isPlainObject(meta)) return '"meta" must be an object of JSON values';
  const stack: { value: unknown; depth: number }[] = [{ value: meta, depth: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    // What JSON holds exactly, and nothing else (a library caller's bigint, function, NaN or Date would be refused by
    // JSON.stringify with a TypeError, or turned into something else than it was).
    const problem = jsonValueProblem(value);
    if (problem) return `"meta" holds ${problem}: give plain JSON values (a date as date.toISOString() or a number)`;
    if (typeof value !== "object" || value === null) continue;
    if (depth > MAX_META_DEPTH) return `"meta" (with any unknown fields) is nested deeper than ${MAX_META_DEPTH} levels`;
    // Refused at every door, as the server's JSON parser and MCP refuse it: code that sets such a key by assignment
    // sets an object's prototype instead (a CLI --meta __proto__=… was dropped while the write said unchanged).
    if (Object.hasOwn(value, "__proto__")) return `"meta" has a key named __proto__, which memzip refuses: rename it (every other key is kept as sent)`;
    if (++nodes > MAX_META_CHARS) break;
    for (const child of Object.values(value)) stack.push({ value: child, depth: depth + 1 });
  }
  const size = JSON.stringify(meta).length;
  if (size > MAX_META_CHARS) return `"meta" (with any unknown fields) is ${size} characters of JSON, over the limit of ${MAX_META_CHARS}`;
  return undefined;
}
