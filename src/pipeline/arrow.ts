import { Table, TimestampMillisecond, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from "apache-arrow";
import { MemzipError, ErrorCode } from "../errors.js";
import { parseMemoryRecord, type MemoryInput } from "./records.js";

/** A memory as exported: the plain text plus its metadata. */
export interface ExportedMemory extends Required<Omit<MemoryInput, "createdAt">> {
  namespace: string;
  createdAt: number;
}

/**
 * Arrow IPC file with one row per memory (columns id, namespace, kind, tags and meta as JSON
 * text, created_at, text), readable by pyarrow as the original Python system's store was.
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
  });
  return tableToIPC(table, "file");
}

/** Reads an Arrow IPC file (file or stream format) with at least a `text` column. */
export function* memoriesFromArrow(bytes: Uint8Array): Generator<{ record: MemoryInput; where: string } | { error: MemzipError; where: string }> {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (cause) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `not an Arrow IPC file: ${(cause as Error).message}`, { hint: "Export with `memzip export --format arrow`.", cause });
  }
  if (!table.schema.fields.some((f) => f.name === "text")) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, "the Arrow table has no `text` column", { hint: "Name the column that holds each memory's text `text`." });
  }
  for (let i = 0; i < table.numRows; i++) {
    const row = table.get(i)?.toJSON() as Record<string, unknown>;
    const where = `row ${i}`;
    try {
      const value: Record<string, unknown> = { text: row.text };
      if (row.id != null) value.id = row.id;
      if (row.kind != null) value.kind = row.kind;
      if (typeof row.tags === "string") value.tags = JSON.parse(row.tags) as unknown;
      if (typeof row.meta === "string") value.meta = JSON.parse(row.meta) as unknown;
      if (row.created_at != null) value.createdAt = Number(row.created_at);
      yield { record: parseMemoryRecord(value, where), where };
    } catch (error) {
      yield { error: error instanceof MemzipError ? error : new MemzipError(ErrorCode.INVALID_INPUT, `${where}: ${(error as Error).message}`), where };
    }
  }
}
