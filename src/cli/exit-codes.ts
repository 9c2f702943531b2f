import type { ErrorCode } from "../errors.js";

/** The one place error codes become process exit codes. 1 is "the command ran and found failures". */
export const EXIT_CODES = {
  E_USAGE: 2,
  E_INVALID_INPUT: 3,
  E_NOT_FOUND: 4,
  E_FORMAT: 5,
  E_VERSION: 5,
  E_UNKNOWN_CODEC: 5,
  E_CHECKSUM: 6,
  E_VERIFY: 6,
  E_MISSING_ASSET: 7,
  E_MISSING_MODEL: 7,
  E_ENGINE_MISMATCH: 6,
  E_STORE: 8,
  E_DEPENDENCY: 9,
  E_ABORTED: 130,
  E_TIMEOUT: 10,
  E_BACKEND_UNAVAILABLE: 11,
  E_BACKEND_REJECTED: 12,
  E_RESOURCE: 8,
  E_BUSY: 13,
  E_CONFLICT: 14,
  E_PRECONDITION: 15,
} as const satisfies Record<ErrorCode, number>;

export const EXIT_FAILURES_FOUND = 1;
export const EXIT_INTERNAL = 70;
