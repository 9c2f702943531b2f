import { DataType, Table, TimestampMillisecond, Uint32, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from "apache-arrow";
import { checksum32 } from "../codec/checksum.js";
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

/** The columns an import reads; any other is kept in the memory's meta, as a JSONL line's unknown fields are. */
const KNOWN_COLUMNS = new Set(["id", "namespace", "kind", "tags", "meta", "created_at", "expires_at", "text", "checksum", "record_checksum"]);

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
export function* memoriesFromArrow(bytes: Uint8Array): Generator<{ record: MemoryInput; where: string } | { error: MemzipError; where: string }> {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (cause) {
    throw new MemzipError(ErrorCode.FORMAT, `not an Arrow IPC file, or a damaged one: ${(cause as Error).message}`, { hint: "Export again with `memzip export --format arrow`.", cause });
  }
  if (!table.schema.fields.some((f) => f.name === "text")) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, "the Arrow table has no `text` column", { hint: "Name the column that holds each memory's text `text`." });
  }
  const hasExpiry = table.schema.fields.some((f) => f.name === "expires_at");
  const extra = table.schema.fields.map((f) => f.name).filter((name) => !KNOWN_COLUMNS.has(name));
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
      if (typeof row.meta === "string") value.meta = JSON.parse(row.meta) as unknown;
      else if (row.meta != null) value.meta = structValue(row.meta, where);
      for (const name of extra) value[name] = cellValue(row[name], where, name);
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

/** A list cell (pyarrow's list<string>) as an array; anything else is left for the record's check to refuse. */
function listValues(cell: unknown, where: string, name: string): unknown {
  if (Array.isArray(cell)) return cell;
  if (typeof cell === "object" && cell !== null && typeof (cell as { toArray?: unknown }).toArray === "function") return Array.from((cell as { toArray: () => ArrayLike<unknown> }).toArray());
  throw new MemzipError(ErrorCode.INVALID_INPUT, `${where}: the ${name} column is neither JSON text nor a list`, { hint: 'Write tags as JSON text (["a","b"]) or as a list of strings.' });
}

/** A struct cell as a plain object (its values checked as meta's are). */
function structValue(cell: unknown, where: string): unknown {
  const json = typeof cell === "object" && cell !== null && typeof (cell as { toJSON?: unknown }).toJSON === "function" ? (cell as { toJSON: () => unknown }).toJSON() : cell;
  if (typeof json === "object" && json !== null && !Array.isArray(json)) return { ...(json as Record<string, unknown>) };
  throw new MemzipError(ErrorCode.INVALID_INPUT, `${where}: the meta column is neither JSON text nor a struct`, { hint: 'Write meta as JSON text ({"k":1}) or as a struct of scalars.' });
}

/**
 * A cell of a column memzip does not know, as a JSON value for meta: text, booleans, numbers (a 64-bit integer only
 * when a double holds it exactly), timestamps as ms since the epoch; any other type is refused, not guessed at.
 */
function cellValue(cell: unknown, where: string, name: string): unknown {
  if (cell === null || cell === undefined || typeof cell === "string" || typeof cell === "boolean") return cell ?? null;
  if (typeof cell === "number") return cell;
  if (typeof cell === "bigint") {
    if (BigInt(Number(cell)) === cell) return Number(cell);
    throw new MemzipError(ErrorCode.INVALID_INPUT, `${where}: column ${name} holds ${cell}, which a JSON number (a double) cannot keep exactly`, { hint: `Write the ${name} column as text to keep every digit.` });
  }
  throw new MemzipError(ErrorCode.INVALID_INPUT, `${where}: column ${name} is of a type memzip does not keep in meta`, {
    hint: `Other columns go to meta when they hold text, numbers, booleans or timestamps; convert ${name} to one of those, or drop it.`,
  });
}

/** XXH32 of a row's fields (id, namespace, kind, tags JSON, meta JSON, created_at, text, then expires_at when the file has it) as one JSON array. */
function recordChecksum(fields: readonly unknown[]): number {
  return checksum32(Buffer.from(JSON.stringify(fields), "utf8"));
}
