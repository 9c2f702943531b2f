import { DataType, StructRow, Table, TimestampMillisecond, Uint32, Utf8, Vector, tableFromIPC, tableToIPC, vectorFromArray } from "apache-arrow";
import { checksum32 } from "../codec/checksum.js";
import { inexactInteger, inexactIntegerProblem } from "../core/json-numbers.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { parseMemoryRecord, type MemoryInput } from "./records.js";

/** A memory as exported: the plain text plus its metadata. */
export interface ExportedMemory extends Required<Omit<MemoryInput, "createdAt" | "expiresAt">> {
  namespace: string;
  createdAt: number;
  /** When the memory expires (ms since the epoch); absent: never (JSONL leaves the key out, Arrow writes a null). */
  expiresAt?: number;
  /** XXH32 of the text's UTF-8 bytes; an import checks the text against it. */
  checksum: number;
}

/**
 * Arrow IPC file with one row per memory (columns id, namespace, kind, tags and meta as JSON
 * text, created_at, text, checksum: the XXH32 of the text, record_checksum: the XXH32 of the whole
 * row, so a damaged id or metadata is caught too; both checked on import; expires_at: null when the
 * memory never expires), readable by pyarrow as the original Python system's store was. A file
 * without the expires_at column (written before it existed) still imports: its checksum covers the
 * seven other fields.
 * IPC body compression is left off: pyarrow cannot read apache-arrow's compressed files.
 */
export function memoriesToArrow(memories: readonly ExportedMemory[]): Uint8Array {
  const column = (pick: (m: ExportedMemory) => string) => vectorFromArray(memories.map(pick), new Utf8());
  const table = new Table({
    id: column((m) => m.id),
    namespace: column((m) => m.namespace),
    kind: column((m) => m.kind),
    tags: column((m) => JSON.stringify(m.tags)),
    meta: column((m) => JSON.stringify(m.meta)),
    created_at: vectorFromArray(memories.map((m) => m.createdAt), new TimestampMillisecond()),
    text: column((m) => m.text),
    expires_at: vectorFromArray(memories.map((m) => m.expiresAt ?? null), new TimestampMillisecond()),
    checksum: vectorFromArray(memories.map((m) => m.checksum), new Uint32()),
    record_checksum: vectorFromArray(
      // expires_at joins the checksum only where set, so a file of memories without expiry reads in older memzip too.
      memories.map((m) => recordChecksum([m.id, m.namespace, m.kind, JSON.stringify(m.tags), JSON.stringify(m.meta), m.createdAt, m.text, ...(m.expiresAt == null ? [] : [m.expiresAt])])),
      new Uint32(),
    ),
  });
  return tableToIPC(table, "file");
}

/** The columns read as text, each decoded by `utf8Reader`. */
const STRING_COLUMNS = ["id", "namespace", "kind", "tags", "meta", "text"] as const;

/**
 * UTF-8 as written: a leading U+FEFF is part of the text (apache-arrow's own decoder drops it, and a text would change),
 * and a byte that is not UTF-8 refuses the row (apache-arrow's decoder made it U+FFFD: a text nobody wrote was stored).
 */
const keepingBom = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

/** The columns an import reads; any other of a scalar type is kept in the memory's meta, as a JSONL line's unknown fields are. */
const KNOWN_COLUMNS = new Set(["id", "namespace", "kind", "tags", "meta", "created_at", "expires_at", "text", "checksum", "record_checksum"]);
/** Names a JSONL record reads as its own fields (`createdAt`…): as an Arrow column one would be read as that field, in whatever unit it holds. */
const RECORD_FIELD_NAMES = new Set(["createdAt", "expiresAt"]);

/** Whether an extra column's type is one meta keeps: text, numbers, booleans, timestamps and dates. */
function scalarColumn(type: DataType): boolean {
  return DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isInt(type) || DataType.isFloat(type) || DataType.isBool(type) || DataType.isTimestamp(type) || DataType.isDate(type);
}

/**
 * The strings of a `Utf8` / `LargeUtf8` column by row, decoded from its bytes with `keepingBom`; undefined for a column
 * the table lacks or of another type (read as apache-arrow reads it).
 */
function utf8Reader(table: Table, name: string): ((row: number) => string | null) | undefined {
  const vector = table.getChild(name);
  if (!vector || !(DataType.isUtf8(vector.type) || DataType.isLargeUtf8(vector.type))) return undefined;
  const chunks = vector.data;
  const starts: number[] = [];
  let total = 0;
  for (const data of chunks) {
    starts.push(total);
    total += data.length;
  }
  let at = 0;
  return (row) => {
    // Rows are read in order: the chunk moves forward (found again from the start for any other order).
    if (row < (starts[at] ?? 0)) at = 0;
    while (at + 1 < chunks.length && row >= (starts[at + 1] as number)) at++;
    const data = chunks[at];
    if (!data) return null;
    const local = row - (starts[at] as number);
    if (!data.getValid(local)) return null;
    const offsets = data.valueOffsets as ArrayLike<number | bigint>;
    try {
      return keepingBom.decode((data.values as Uint8Array).subarray(Number(offsets[local]), Number(offsets[local + 1])));
    } catch {
      throw new MemzipError(ErrorCode.INVALID_INPUT, `row ${row}: the ${name} column is not valid UTF-8`, { hint: "Write the column as UTF-8 text; memzip stores only text it can give back exactly." });
    }
  };
}

/** Reads an Arrow IPC file (file or stream format) with at least a `text` column. */
export function* memoriesFromArrow(given: Uint8Array | ArrayBuffer): Generator<{ record: MemoryInput; where: string } | { error: MemzipError; where: string }> {
  // An ArrayBuffer (`await response.arrayBuffer()`) is read as its bytes, as apache-arrow reads it.
  const bytes = given instanceof ArrayBuffer ? new Uint8Array(given) : given;
  if (!(bytes instanceof Uint8Array)) {
    const what = given === null ? "null" : typeof given === "object" ? `a ${(given as object).constructor?.name ?? "plain object"}` : `a ${typeof given}`;
    throw new MemzipError(ErrorCode.INVALID_INPUT, `an Arrow import takes the file's bytes (a Uint8Array, Buffer or ArrayBuffer), not ${what}`, { hint: "Pass readFileSync(path), or the uploaded body's bytes." });
  }
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (cause) {
    // The reader's own words where it has some ("Expected to read 4 bytes"); a TypeError from inside it says nothing to a user.
    const why = cause instanceof Error && !(cause instanceof TypeError) ? `: ${cause.message}` : " (truncated, or not Arrow at all)";
    throw new MemzipError(ErrorCode.FORMAT, `not an Arrow IPC file, or a damaged one${why}`, { hint: "Export again with `memzip export --format arrow`, and send the whole file.", cause });
  }
  // Bytes that are no Arrow at all (empty, or text) read as a table of no columns: said as what they are, not as a missing `text`.
  if (table.schema.fields.length === 0) {
    throw new MemzipError(ErrorCode.FORMAT, `not an Arrow IPC file (${bytes.length === 0 ? "no bytes" : "no schema in its first bytes"})`, { hint: "Export with `memzip export --format arrow` (or any Arrow IPC writer), and send the whole file." });
  }
  if (!table.schema.fields.some((f) => f.name === "text")) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, "the Arrow table has no `text` column", { hint: "Name the column that holds each memory's text `text`." });
  }
  const hasExpiry = table.schema.fields.some((f) => f.name === "expires_at");
  const misnamed = table.schema.fields.find((f) => RECORD_FIELD_NAMES.has(f.name));
  if (misnamed) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `the Arrow table has a column ${misnamed.name}, which memzip would not read as meta`, {
      hint: `Name it ${misnamed.name === "createdAt" ? "created_at" : "expires_at"} (a timestamp) to set the memory's time, or rename it to keep it in meta.`,
    });
  }
  // Other columns of scalar types go to meta; lists, structs and binary (an embedding column, say) are not imported,
  // as before this kept any: a row is not refused for a column nobody asked memzip to keep.
  const extra = table.schema.fields.filter((f) => !KNOWN_COLUMNS.has(f.name) && scalarColumn(f.type)).map((f) => f.name);
  const extraStrings = new Map(extra.map((name) => [name, utf8Reader(table, name)] as const));
  const strings = STRING_COLUMNS.map((name) => [name, utf8Reader(table, name)] as const);
  for (let i = 0; i < table.numRows; i++) {
    const where = `row ${i}`;
    try {
      const row = table.get(i)?.toJSON() as Record<string, unknown> | undefined;
      if (!row) throw new Error("the row cannot be read");
      for (const [name, read] of strings) if (read) row[name] = read(i);
      if (row.record_checksum != null) {
        const fields = [row.id, row.namespace, row.kind, row.tags, row.meta, row.created_at == null ? null : Number(row.created_at), row.text];
        if (hasExpiry && row.expires_at != null) fields.push(Number(row.expires_at));
        if (recordChecksum(fields) !== Number(row.record_checksum)) {
          throw new MemzipError(ErrorCode.CHECKSUM, `${where}: the row does not match its record checksum (the file was changed or damaged)`, {
            hint: "Export the memories again from their store; a row edited on purpose needs its record_checksum column dropped.",
          });
        }
      }
      const value: Record<string, unknown> = { text: row.text };
      if (row.id != null) value.id = row.id;
      // As a JSONL line's `namespace` field: the row's namespace wins over the import's, so a whole-store export
      // restores every namespace apart (ids are unique only within one).
      if (row.namespace != null) value.namespace = row.namespace;
      if (row.kind != null) value.kind = row.kind;
      // Tags as memzip writes them (JSON text) or as pyarrow does (a list of strings); meta as JSON text or a struct.
      if (typeof row.tags === "string") value.tags = JSON.parse(row.tags) as unknown;
      else if (row.tags != null) value.tags = listValues(row.tags, where, "tags");
      if (typeof row.meta === "string") value.meta = parseMetaText(row.meta, where);
      else if (row.meta != null) value.meta = structValue(row.meta, where);
      for (const name of extra) {
        const read = extraStrings.get(name);
        const cell = read ? read(i) : row[name];
        // A missing value (null, or pandas' NaN) names no key: it does not clash with meta's own.
        if (cell === null || cell === undefined || (typeof cell === "number" && Number.isNaN(cell))) continue;
        value[name] = plainValue(cell, where, name);
      }
      if (row.created_at != null) value.createdAt = Number(row.created_at);
      if (row.expires_at != null) value.expiresAt = Number(row.expires_at);
      if (row.checksum != null) value.checksum = Number(row.checksum);
      yield { record: parseMemoryRecord(value, where), where };
    } catch (error) {
      // Anything but a typed refusal means the file's structure is damaged at this row.
      yield { error: error instanceof MemzipError ? error : new MemzipError(ErrorCode.FORMAT, `${where}: damaged (${(error as Error).message})`, { hint: "Export the memories again." }), where };
    }
  }
}

/** A list cell (pyarrow's list<string>) as an array; anything else is refused. */
function listValues(cell: unknown, where: string, name: string): unknown {
  const list = plainValue(cell, where, name);
  if (Array.isArray(list)) return list;
  throw new MemzipError(ErrorCode.INVALID_INPUT, `${where}: the ${name} column is neither JSON text nor a list`, { hint: 'Write tags as JSON text (["a","b"]) or as a list of strings.' });
}

/** A struct cell as a plain object, its values made plain as `plainValue` makes them. */
function structValue(cell: unknown, where: string): unknown {
  const json = plainValue(cell, where, "meta");
  if (typeof json === "object" && json !== null && !Array.isArray(json)) return json;
  throw new MemzipError(ErrorCode.INVALID_INPUT, `${where}: the meta column is neither JSON text nor a struct`, { hint: 'Write meta as JSON text ({"k":1}) or as a struct.' });
}

/** Meta written as JSON text, held to the rule of every JSON door: an integer a double cannot keep is refused. */
function parseMetaText(text: string, where: string): unknown {
  const inexact = inexactInteger(text);
  if (inexact !== undefined) {
    const { message, hint } = inexactIntegerProblem(inexact);
    throw new MemzipError(ErrorCode.INVALID_INPUT, `${where}: the meta column: ${message}`, { hint });
  }
  return JSON.parse(text) as unknown;
}

/**
 * An Arrow cell as a JSON value: a struct as an object and a list as an array (each recursively), a 64-bit integer as
 * a number only when a double holds it exactly (pyarrow writes Python ints as int64), timestamps as ms since the epoch.
 */
function plainValue(cell: unknown, where: string, name: string): unknown {
  if (typeof cell === "bigint") {
    if (BigInt(Number(cell)) === cell) return Number(cell);
    throw new MemzipError(ErrorCode.INVALID_INPUT, `${where}: column ${name} holds ${cell}, which a JSON number (a double) cannot keep exactly`, { hint: `Write that value as text to keep every digit.` });
  }
  if (typeof cell !== "object" || cell === null) return cell;
  if (Array.isArray(cell)) return cell.map((item) => plainValue(item, where, name));
  if (cell instanceof Date) return cell.getTime();
  // A list cell is a Vector; a struct cell a StructRow (toJSON: an object of its fields).
  if (cell instanceof Vector) return Array.from(cell.toArray() as ArrayLike<unknown>, (item) => plainValue(item, where, name));
  if (cell instanceof StructRow) {
    const fields = cell.toJSON() as Record<string, unknown>;
    return Object.fromEntries(Object.entries(fields).map(([key, item]) => [key, plainValue(item, where, name)]));
  }
  return cell;
}

/** XXH32 of a row's fields (id, namespace, kind, tags JSON, meta JSON, created_at, text, then expires_at when the file has it) as one JSON array. */
function recordChecksum(fields: readonly unknown[]): number {
  return checksum32(Buffer.from(JSON.stringify(fields), "utf8"));
}
