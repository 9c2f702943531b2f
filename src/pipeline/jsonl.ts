import { createReadStream } from "node:fs";
import { inexactInteger, inexactIntegerProblem } from "../core/json-numbers.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { DEFAULT_MAX_TEXT_BYTES } from "../codec/text.js";
import { MAX_META_CHARS, parseMemoryRecord, type MemoryInput } from "./records.js";

export type JsonlItem =
  | { ok: true; line: number; record: MemoryInput; bytesRead: number }
  | { ok: false; line: number; error: MemzipError; bytesRead: number };

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Longest JSONL line read for a text limit: room for the text with JSON escapes (a control
 * character takes six bytes escaped; four covers any real text) plus the meta limit.
 */
export function maxLineBytesFor(maxTextBytes: number): number {
  return 4 * maxTextBytes + 4 * MAX_META_CHARS;
}

export interface JsonlReadOptions {
  /** A line longer than this is not buffered: it is skipped up to its newline and reported (E_INVALID_INPUT). */
  maxLineBytes?: number;
}

/**
 * Streams a JSONL file record by record with bounded memory, from the start or from a byte
 * offset where an earlier line ended (resuming an import). Lines are split on raw bytes and
 * decoded strictly, so invalid UTF-8 is reported per line instead of silently replaced. A line
 * over `maxLineBytes` stops being buffered at the limit; the reader skips to the next newline
 * and reports that line, so memory stays bounded by the limit whatever the file holds.
 */
export async function* readJsonlRecords(
  path: string,
  signal?: AbortSignal,
  from: { position: number; line: number } = { position: 0, line: 0 },
  options: JsonlReadOptions = {},
): AsyncGenerator<JsonlItem> {
  const maxLineBytes = options.maxLineBytes ?? maxLineBytesFor(DEFAULT_MAX_TEXT_BYTES);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Length of the line being skipped (over the limit), or -1 while buffering normally. */
  let skipping = -1;
  let line = from.line;
  let bytesRead = from.position;
  const tooLong = (length: number, at: number): JsonlItem => ({
    ok: false,
    line: at,
    bytesRead,
    error: new MemzipError(ErrorCode.INVALID_INPUT, `line ${at}: ${length} bytes, over the line limit of ${maxLineBytes}`, {
      hint: "Split the document into several memories (one per line), or raise maxTextBytes.",
      details: { length, maxLineBytes },
    }),
  });
  const take = (part: Buffer): void => {
    if (skipping >= 0) skipping += part.length;
    else if (pendingBytes + part.length > maxLineBytes) {
      skipping = pendingBytes + part.length;
      pending = [];
      pendingBytes = 0;
    } else {
      pending.push(part);
      pendingBytes += part.length;
    }
  };
  const stream = createReadStream(path, { highWaterMark: 1 << 20, start: from.position });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) return;
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        take(chunk.subarray(start, nl));
        bytesRead += nl - start + 1;
        const item = skipping >= 0 ? tooLong(skipping, ++line) : parseLine(Buffer.concat(pending), ++line, bytesRead);
        pending = [];
        pendingBytes = 0;
        skipping = -1;
        if (item) yield item;
        start = nl + 1;
      }
      if (start < chunk.length) {
        take(chunk.subarray(start));
        bytesRead += chunk.length - start;
      }
    }
  } catch (cause) {
    if (cause instanceof MemzipError) throw cause;
    throw new MemzipError(ErrorCode.USAGE, `cannot read ${path}: ${(cause as Error).message}`, { hint: "Check the file path.", cause });
  } finally {
    stream.destroy();
  }
  const last = skipping >= 0 ? tooLong(skipping, ++line) : parseLine(Buffer.concat(pending), ++line, bytesRead);
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
  const inexact = inexactInteger(text);
  if (inexact !== undefined) {
    const { message, hint } = inexactIntegerProblem(inexact);
    return { ok: false, line, bytesRead, error: new MemzipError(ErrorCode.INVALID_INPUT, `${where}: ${message}`, { hint }) };
  }
  try {
    return { ok: true, line, bytesRead, record: parseMemoryRecord(JSON.parse(text) as unknown, where) };
  } catch (error) {
    const typed = error instanceof MemzipError ? error : new MemzipError(ErrorCode.INVALID_INPUT, `${where}: not valid JSON (${(error as Error).message})`);
    return { ok: false, line, bytesRead, error: typed };
  }
}
