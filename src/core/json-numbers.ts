/**
 * JSON numbers memzip cannot keep. JSON.parse reads every number as a double, which holds each integer
 * only up to ±2^53: a snowflake id such as 1234567890123456789 reads back as 1234567890123456800, and
 * nothing downstream can tell (the text's checksum does not cover meta). Every door that parses JSON a
 * user wrote (JSONL lines, HTTP bodies, CLI `--meta` values) refuses such a literal instead.
 */

/** Digits in a row below which every integer literal is exact (2^53 has 16 digits). */
const EXACT_DIGITS = 15;

/** A run of digits long enough to hold an inexact integer: built once, not per line. */
const LONG_DIGIT_RUN = new RegExp(`\\d{${EXACT_DIGITS + 1}}`);

const isDigit = (c: number) => c >= 48 && c <= 57;
/** A character that continues a JSON number after its integer digits: fraction, exponent, sign. */
const continuesNumber = (c: number) => isDigit(c) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;

/**
 * The first integer literal of a JSON text (outside its strings) that JSON.parse does not keep (`kept`),
 * or undefined. Fractions and exponents are left alone: they were never exact.
 */
export function inexactInteger(text: string): string | undefined {
  // The common case in one pass: no run of 16 digits anywhere, so no literal can be inexact.
  if (!LONG_DIGIT_RUN.test(text)) return undefined;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    if (c !== 45 && !isDigit(c)) continue;
    let end = c === 45 ? i + 1 : i;
    while (end < text.length && isDigit(text.charCodeAt(end))) end++;
    const digits = end - i - (c === 45 ? 1 : 0);
    let after = end;
    while (after < text.length && continuesNumber(text.charCodeAt(after))) after++;
    const literal = text.slice(i, end);
    if (after === end && digits > EXACT_DIGITS && !kept(literal)) return literal;
    i = after - 1;
  }
  return undefined;
}

/**
 * Whether JSON.parse keeps what the literal says: its value exactly, or it is the shortest text of its double, as
 * JSON.stringify writes one (2^60 is written 1152921504606847000, which reads back as 2^60: an export of such a
 * value must import again).
 */
function kept(literal: string): boolean {
  const value = Number(literal);
  if (!Number.isFinite(value)) return false;
  return BigInt(value) === BigInt(literal) || String(value) === literal;
}

/** The message and hint of a refusal of `literal` (from `inexactInteger`). */
export function inexactIntegerProblem(literal: string): { message: string; hint: string } {
  const value = Number(literal);
  return {
    message: `the number ${literal} cannot be kept exactly: JSON numbers are doubles, exact only up to ±2^53 (it would read back as ${Number.isFinite(value) ? String(value) : "Infinity"})`,
    hint: `Write it as a string ("${literal}") to keep every digit.`,
  };
}
