import { MemzipError, ErrorCode } from "../errors.js";

/** Largest memory accepted by default: 16 MiB of UTF-8. */
export const DEFAULT_MAX_TEXT_BYTES = 16 * 1024 * 1024;

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Turns a string into the UTF-8 bytes memzip stores. Refuses what cannot round-trip exactly:
 * lone surrogates (TextEncoder would silently replace them), empty and oversized texts.
 */
export function textToBytes(text: string, maxBytes = DEFAULT_MAX_TEXT_BYTES): Uint8Array {
  const match = LONE_SURROGATE.exec(text);
  if (match) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `text has a lone UTF-16 surrogate at index ${match.index}`, {
      hint: "Memories must be valid Unicode; fix the producer or drop the broken character.",
      details: { index: match.index },
    });
  }
  const bytes = encoder.encode(text);
  checkSize(bytes.length, maxBytes);
  return bytes;
}

/** Validates raw bytes from outside (files, HTTP) as strict UTF-8 and returns the text. */
export function bytesToText(bytes: Uint8Array, maxBytes = DEFAULT_MAX_TEXT_BYTES): string {
  checkSize(bytes.length, maxBytes);
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, "text is not valid UTF-8", {
      hint: "Convert the input to UTF-8 before storing it.",
      cause,
    });
  }
}

/** Decodes bytes that memzip itself validated at write time. */
export function decodeStoredText(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

function checkSize(length: number, maxBytes: number): void {
  if (length === 0) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, "text is empty", { hint: "Store at least one character." });
  }
  if (length > maxBytes) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `text is ${length} bytes, over the limit of ${maxBytes}`, {
      hint: "Split the document into several memories, or raise maxTextBytes.",
      details: { length, maxBytes },
    });
  }
}
