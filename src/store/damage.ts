/**
 * Marks a memory whose metadata columns (tags, meta) did not parse: the store still returns the
 * row (with empty values there) so that `verify` and `export --skip-bad` can go on and report it,
 * instead of the first damaged row ending every read. A symbol key: never in JSON, never from input.
 */
export const DAMAGED_COLUMNS: unique symbol = Symbol("memzip.damagedColumns");

/** The names of a row's columns that were damaged, or undefined when it read cleanly. */
export function damagedColumns(row: object): readonly string[] | undefined {
  return (row as { [DAMAGED_COLUMNS]?: readonly string[] })[DAMAGED_COLUMNS];
}

/** Parses a JSON column; a value that does not parse or has the wrong shape becomes `fallback` and is noted in `damaged`. */
export function parseJsonColumn<T>(raw: unknown, column: string, fallback: T, valid: (value: unknown) => boolean, damaged: string[]): T {
  try {
    if (typeof raw === "string") {
      const value = JSON.parse(raw) as unknown;
      if (valid(value)) return value as T;
    }
  } catch {
    // noted below
  }
  damaged.push(column);
  return fallback;
}

/** Attaches the damage note to a row read from the store (no-op when nothing was damaged). */
export function markDamaged<T extends object>(row: T, damaged: readonly string[]): T {
  if (damaged.length > 0) Object.defineProperty(row, DAMAGED_COLUMNS, { value: damaged, enumerable: true });
  return row;
}
