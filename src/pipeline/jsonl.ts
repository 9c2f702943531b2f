import { createReadStream } from "node:fs";
import { MemzipError, ErrorCode } from "../errors.js";
import { parseMemoryRecord, type MemoryInput } from "./records.js";

export type JsonlItem =
  | { ok: true; line: number; record: MemoryInput; bytesRead: number }
  | { ok: false; line: number; error: MemzipError; bytesRead: number };

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Streams a JSONL file record by record with bounded memory, from the start or from a byte
 * offset where an earlier line ended (resuming an import). Lines are split on raw bytes and
 * decoded strictly, so invalid UTF-8 is reported per line instead of silently replaced.
 */
export async function* readJsonlRecords(path: string, signal?: AbortSignal, from: { position: number; line: number } = { position: 0, line: 0 }): AsyncGenerator<JsonlItem> {
  let pending: Buffer[] = [];
  let line = from.line;
  let bytesRead = from.position;
  const stream = createReadStream(path, { highWaterMark: 1 << 20, start: from.position });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) return;
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        pending.push(chunk.subarray(start, nl));
        bytesRead += nl - start + 1;
        const item = parseLine(Buffer.concat(pending), ++line, bytesRead);
        pending = [];
        if (item) yield item;
        start = nl + 1;
      }
      if (start < chunk.length) {
        pending.push(chunk.subarray(start));
        bytesRead += chunk.length - start;
      }
    }
  } catch (cause) {
    if (cause instanceof MemzipError) throw cause;
    throw new MemzipError(ErrorCode.USAGE, `cannot read ${path}: ${(cause as Error).message}`, { hint: "Check the file path.", cause });
  } finally {
    stream.destroy();
  }
  const last = parseLine(Buffer.concat(pending), ++line, bytesRead);
  if (last) yield last;
}

function parseLine(bytes: Buffer, line: number, bytesRead: number): JsonlItem | undefined {
  const where = `line ${line}`;
  let text: string;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    return { ok: false, line, bytesRead, error: new MemzipError(ErrorCode.INVALID_INPUT, `${where}: not valid UTF-8`, { hint: "Convert the file to UTF-8." }) };
  }
  if (text.trim() === "") return undefined;
  try {
    return { ok: true, line, bytesRead, record: parseMemoryRecord(JSON.parse(text) as unknown, where) };
  } catch (error) {
    const typed = error instanceof MemzipError ? error : new MemzipError(ErrorCode.INVALID_INPUT, `${where}: not valid JSON (${(error as Error).message})`);
    return { ok: false, line, bytesRead, error: typed };
  }
}
