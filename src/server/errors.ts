import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ZodError } from "zod";
import { ErrorCode, isMemzipError, MemzipError } from "../errors.js";

/** HTTP status of each error code: the one place codes become statuses (the CLI's twin is cli/exit-codes.ts). */
export const HTTP_STATUS = {
  E_USAGE: 400,
  E_INVALID_INPUT: 400,
  E_NOT_FOUND: 404,
  E_FORMAT: 500,
  E_VERSION: 500,
  E_UNKNOWN_CODEC: 500,
  E_CHECKSUM: 500,
  E_VERIFY: 500,
  E_MISSING_ASSET: 500,
  E_MISSING_MODEL: 503,
  E_ENGINE_MISMATCH: 500,
  E_STORE: 503,
  E_DEPENDENCY: 503,
  E_ABORTED: 499,
  E_TIMEOUT: 504,
  E_BACKEND_UNAVAILABLE: 503,
  E_BACKEND_REJECTED: 502,
  E_RESOURCE: 507,
  E_BUSY: 409,
  E_CONFLICT: 409,
  E_PRECONDITION: 412,
} as const satisfies Record<ErrorCode, number>;

/** The body of every error answer: `{ error: { code, message, hint? } }` (never a stack, never memory text). */
export interface ErrorBody {
  error: { code: string; message: string; hint?: string };
}

/** An HTTP-only failure (auth, limits) with its status and a code of its own. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A request body that is not JSON at all (bytes that are not UTF-8): JSON-RPC's parse error at `/mcp`. */
export class BodyParseError extends HttpError {}

/** Fastify's own "not JSON" refusals (a syntax error, an empty body). */
const JSON_PARSE_CODES = new Set(["FST_ERR_CTP_INVALID_JSON_BODY", "FST_ERR_CTP_EMPTY_JSON_BODY"]);

/**
 * The answer at `POST /mcp` is JSON-RPC's error object with the HTTP status kept: -32700 for a body that is not JSON,
 * -32000 (a server error) for every other refusal (no key, rate limit, a body too large, a `__proto__` key); its message
 * is `E_CODE: message` as a tool error's text, and `data` carries the code and the fix.
 */
function jsonRpcError(error: unknown, body: ErrorBody): Record<string, unknown> {
  const parse = error instanceof BodyParseError || JSON_PARSE_CODES.has((error as Partial<FastifyError>).code ?? "");
  const { code, message, hint } = body.error;
  return { jsonrpc: "2.0", error: { code: parse ? -32700 : -32000, message: `${code}: ${message}`, data: { code, ...(hint ? { hint } : {}) } }, id: null };
}

export const unauthorized = () => new HttpError(401, "E_UNAUTHORIZED", "missing or unknown API key", "Send `Authorization: Bearer KEY` with a key from `memzip keys create`.");
export const forbidden = (needed: string) => new HttpError(403, "E_FORBIDDEN", `this key may not ${needed}`, "Use a key with the role this route needs (read < write < admin).");
/** Another namespace's memory answers exactly as a missing one: nothing tells that it exists. */
export const notFound = (what: string) => new MemzipError(ErrorCode.NOT_FOUND, `no ${what}`, { hint: "Check the id; a key sees only what its namespaces hold (anything else answers as missing)." });

/** Maps any thrown value to a status and an ErrorBody; unknown errors are 500 with no detail. */
export function errorAnswer(error: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (error instanceof HttpError) {
    return { status: error.status, body: { error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } }, headers: error.headers };
  }
  if (isMemzipError(error)) {
    // The store's write lock held past the wait by another process (busyStoreError): contention, not a conflict of this
    // request's own: 503 with a Retry-After. Its 5 s, the store's wait: each write that waits holds this process's event
    // loop that long (better-sqlite3 waits synchronously), so a client is not asked back sooner.
    if (error.code === ErrorCode.BUSY && /^SQLITE_/.test(String(error.details.cause))) {
      const hint = "Another process holds the store's write lock (an import, `memzip compact`, a backup): send the request again after the Retry-After seconds; what was committed before stays.";
      return { status: 503, body: { error: { code: error.code, message: error.message, hint } }, headers: { "retry-after": "5" } };
    }
    return { status: HTTP_STATUS[error.code], body: { error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } }, headers: {} };
  }
  if (error instanceof ZodError) {
    const issues = error.issues.slice(0, 5).map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`);
    return { status: 400, body: { error: { code: ErrorCode.USAGE, message: `invalid request: ${issues.join("; ")}`, hint: "See GET /v1/openapi.json for the shape of each route." } }, headers: {} };
  }
  const fastifyError = error as Partial<FastifyError>;
  if (typeof fastifyError.statusCode === "number" && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const code = status === 413 ? "E_TOO_LARGE" : status === 415 ? "E_MEDIA_TYPE" : ErrorCode.USAGE;
    const hint =
      status === 413
        ? "Send a smaller body: split a batch, or raise the server's limit (memzip serve --max-body)."
        : status === 415
          ? "Send JSON with `content-type: application/json`; an import (POST /v1/imports) sends the file itself as application/x-ndjson (format=jsonl) or application/vnd.apache.arrow.file (format=arrow)."
          : "Send a body that is valid JSON of the shape GET /v1/openapi.json gives for this route.";
    return { status, body: { error: { code, message: fastifyError.message ?? "bad request", hint } }, headers: {} };
  }
  return { status: 500, body: { error: { code: "E_INTERNAL", message: "internal error", hint: "The server log has the details (request id in the x-request-id header)." } }, headers: {} };
}

/** The codes of a 503 that says "later", nothing broken: logged as warnings. */
const DECLINED_FOR_NOW: ReadonlySet<string> = new Set([ErrorCode.BUSY, "E_SHUTTING_DOWN"]);

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = errorAnswer(error);
  // The server declining for now (busy, the store locked by another process, shutting down): a warning with its code,
  // not an error with a stack. Any other 500 or 503 (a damaged store, a backend down) is an error, with its stack.
  if (answer.status === 503 && DECLINED_FOR_NOW.has(answer.body.error.code)) request.log.warn({ code: answer.body.error.code, reason: answer.body.error.message }, "request refused for now");
  else if (answer.status >= 500) request.log.error({ err: error }, "request failed");
  const body = request.routeOptions.url === "/mcp" ? jsonRpcError(error, answer.body) : answer.body;
  return reply.code(answer.status).headers(answer.headers).send(body);
}
