import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import Fastify, { type FastifyInstance } from "fastify";
import { z } from "zod";
import { inexactInteger, inexactIntegerProblem } from "../core/json-numbers.js";
import { ErrorCode } from "../errors.js";
import { allows, type Engine } from "../engine.js";
import type { SearchWarmReport } from "../search/search.js";
import { MAX_ID_LENGTH } from "../pipeline/records.js";
import { registerDashboardRoutes } from "./dashboard.js";
import { SERVER_LIMITS, type ServerContext, type ServerLimits } from "./context.js";
import { registerMcpRoutes } from "./mcp-http.js";
import { BodyParseError, forbidden, HttpError, sendError, unauthorized } from "./errors.js";
import { registerCors } from "./cors.js";
import { registerMemoryRoutes } from "./memories.js";
import { RateLimiter } from "./rate-limit.js";
import { registerImportRoutes } from "./imports.js";
import { registerMetricsRoutes } from "./metrics.js";
import { RouteRegistry } from "./routes.js";
import { registerSearchRoutes } from "./search.js";
import { registerWarming } from "./warm.js";
import { WriteGate } from "./write-gate.js";

function storeNotReady(error: unknown): never {
  throw new HttpError(503, "E_NOT_READY", `the store does not answer: ${error instanceof Error ? error.message : String(error)}`, "Check the store (memzip verify) and the server log.");
}

export interface ServerOptions {
  engine: Engine;
  limits?: Partial<ServerLimits>;
  /** Origins CORS allows; none (the default) turns CORS off. */
  corsOrigins?: readonly string[];
  /** pino log level ("info" by default; "silent" in tests). */
  logLevel?: string;
  /** Where logs go (stderr by default). */
  logStream?: NodeJS.WritableStream;
  /** `GET /metrics` without a key (default: an admin key is needed). */
  metricsPublic?: boolean;
  /** Memories to decode into the cache after listening (default 0: none), within `warmMs` (default 30 s). */
  warm?: number;
  warmMs?: number;
  /**
   * Warm search after listening (`Engine.warmSearch`: the vectors and the most common terms' keyword
   * rows, bounded; default false), then call `onSearchWarmed` with what was read.
   */
  warmSearch?: boolean;
  onSearchWarmed?: (report: SearchWarmReport | undefined) => void;
  /** `redis://…`: JSONL imports are cut into chunks on the store's queue for `memzip worker` processes (docs/SCALE.md). */
  queue?: string;
  /**
   * On close, how long requests in flight may take to finish (default 10 s): then every connection
   * still open is cut (a client that never finishes its headers or body must not hold the shutdown).
   */
  shutdownGraceMs?: number;
}

/** A request id taken from the caller: 1–128 letters, digits or - _ . : / = + (a UUID, a trace id, base64). */
const REQUEST_ID = /^[A-Za-z0-9._:/=+-]{1,128}$/;
/** Longest id in a URL path: 512 characters, each up to 9 percent-encoded bytes (a 3-byte UTF-8 character). */
const MAX_PARAM_LENGTH = MAX_ID_LENGTH * 9;
/** A request's headers must arrive within this time (Node's default too, set here so it holds whatever fastify sets). */
const HEADERS_TIMEOUT_MS = 60_000;

export interface MemzipServer {
  app: FastifyInstance;
  registry: RouteRegistry;
  context: ServerContext;
  /** Binds and listens; resolves to the URL (`http://127.0.0.1:PORT`). Port 0 picks a free one. */
  listen(host: string, port: number): Promise<string>;
  /** Stops taking requests, lets in-flight ones finish, then closes the engine and its store. */
  close(): Promise<void>;
}

/** Decodes request bodies, throwing on any byte sequence that is not UTF-8. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The HTTP server over one engine: fastify 5 (docs/SERVER.md says why), every route declared once
 * through `RouteRegistry` with zod schemas, a key on every route but the public ones, errors as
 * `{ error: { code, message, hint } }`.
 */
export async function createServer(options: ServerOptions): Promise<MemzipServer> {
  const limits: ServerLimits = { ...SERVER_LIMITS, ...options.limits };
  const shutdown = new AbortController();
  // Every import job, dashboard stream and wait listens to it: any number at once.
  setMaxListeners(0, shutdown.signal);
  const context: ServerContext = {
    engine: options.engine,
    limits,
    writes: new WriteGate(limits.writesInFlight),
    corsOrigins: options.corsOrigins ?? [],
    shutdown: shutdown.signal,
    metricsPublic: options.metricsPublic ?? false,
    warm: options.warm ?? 0,
    warmMs: options.warmMs ?? 30_000,
    warmSearch: options.warmSearch ?? false,
    ...(options.onSearchWarmed ? { onSearchWarmed: options.onSearchWarmed } : {}),
    queue: options.queue,
  };
  const app = Fastify({
    bodyLimit: limits.bodyBytes,
    requestTimeout: limits.requestMs,
    logger: {
      level: options.logLevel ?? "info",
      // Logs name routes, statuses and timings: never a key, never a memory's text.
      redact: { paths: ["req.headers.authorization", "req.headers.cookie", "req.body", "res.body"], remove: true },
      stream: options.logStream ?? process.stderr,
    },
    // A caller's x-request-id is kept when it is a plain token (it goes into every log line and back in
    // the answer's header); anything else is replaced by one of the server's own.
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : `req-${randomUUID()}`;
    },
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Errors the router meets before any route: in the API's shape, never echoing the URL.
    frameworkErrors: (error, request, reply) => {
      const answer =
        error.code === "FST_ERR_MAX_PARAM_LENGTH"
          ? new HttpError(414, "E_URI_TOO_LONG", `a path segment of the URL is longer than ${MAX_PARAM_LENGTH} characters`, `An id has at most ${MAX_ID_LENGTH} characters (percent-encoded, at most ${MAX_PARAM_LENGTH}).`)
          : error.code === "FST_ERR_BAD_URL"
            ? new HttpError(400, "E_BAD_URL", "the URL's path is not valid percent-encoded UTF-8", "Percent-encode each id as UTF-8 (encodeURIComponent).")
            : error;
      void sendError(answer, request, reply);
    },
  });
  app.server.headersTimeout = HEADERS_TIMEOUT_MS;
  app.decorateRequest("scope", undefined);
  // JSON bodies must be valid UTF-8: the default parser would turn a bad byte into U+FFFD and store a text nobody sent.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    let text: string;
    try {
      text = strictUtf8.decode(body as Buffer);
    } catch {
      done(new BodyParseError(400, ErrorCode.INVALID_INPUT, "the request body is not valid UTF-8", "Send JSON encoded as UTF-8; a text memzip stores must be valid UTF-8."), undefined);
      return;
    }
    // No body on a method that takes none (a DELETE from a client that sends this Content-Type on every request): none,
    // not a 400. An empty body where one is needed stays the parser's 400.
    if (text.length === 0 && (request.method === "DELETE" || request.method === "GET" || request.method === "HEAD")) {
      done(null, undefined);
      return;
    }
    const inexact = inexactInteger(text);
    if (inexact !== undefined) {
      const { message, hint } = inexactIntegerProblem(inexact);
      // Valid JSON memzip refuses (at /mcp: -32000, not -32700 "not JSON").
      done(new HttpError(400, ErrorCode.INVALID_INPUT, `the JSON body: ${message}`, hint), undefined);
      return;
    }
    void parseJson(request, text, (error, value) => {
      // Valid JSON the parser refused holds a key named __proto__ (or constructor.prototype), which could
      // set an object's prototype: say so, not "not valid JSON".
      if (error && validJson(text)) {
        done(new HttpError(400, ErrorCode.INVALID_INPUT, "the JSON body has a key named __proto__ (or a constructor key holding a prototype key), which memzip refuses", "Rename the key (e.g. in meta); every other JSON key is kept as sent."), undefined);
        return;
      }
      done(error, value);
    });
  });
  // Every body is JSON or a raw file upload: text/plain is a wrong media type (415), not a malformed JSON body.
  app.removeContentTypeParser("text/plain");
  // Before the key check: a browser's preflight carries no key.
  registerCors(app, context.corsOrigins);
  const limiter = new RateLimiter(limits.ratePerSecond, limits.rateBurst);

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    const role = request.routeOptions.config.role;
    if (role === undefined || role === "public") return;
    const header = request.headers.authorization;
    // The scheme's name is case-insensitive (RFC 9110: "bearer KEY" is the same credential).
    const key = typeof header === "string" ? /^bearer +(\S+) *$/i.exec(header)?.[1] : undefined;
    const scope = key === undefined ? undefined : await options.engine.keys.authenticate(key);
    if (!scope) throw unauthorized();
    const wait = limiter.take(scope.keyId);
    if (wait > 0) throw new HttpError(429, "E_RATE_LIMITED", "too many requests for this key", `Retry after ${wait} s.`, { "retry-after": String(wait) });
    if (!allows(scope, role)) throw forbidden(role === "read" ? "read" : role === "write" ? "write" : "administer");
    request.scope = scope;
  });
  // Once shutting down, an answer to a request in flight closes its connection: a keep-alive client must not hold the close open (fastify's keepAliveTimeout is 72 s).
  app.addHook("onSend", async (_request, reply, payload) => {
    if (shutdown.signal.aborted) reply.header("connection", "close");
    return payload;
  });
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => sendError(new HttpError(404, "E_NO_ROUTE", `no route ${request.method} ${(request.url.split("?")[0] ?? "").slice(0, 200)}`, "See GET /v1/openapi.json."), request, reply));

  const registry = new RouteRegistry(() => shutdown.signal.aborted);
  registry.add(app, {
    method: "GET",
    path: "/healthz",
    summary: "the process is up",
    tag: "operations",
    role: "public",
    response: z.object({ ok: z.literal(true) }),
    handler: async () => ({ ok: true as const }),
  });
  registry.add(app, {
    method: "GET",
    path: "/v1/openapi.json",
    summary: "this API's OpenAPI 3.1 document",
    tag: "operations",
    role: "public",
    response: z.record(z.string(), z.unknown()),
    handler: async () => registry.openApi({ title: "memzip", version: "1" }),
  });
  registry.add(app, {
    method: "GET",
    path: "/readyz",
    summary: "the store answers (a trivial read); 503 while it does not or while shutting down",
    tag: "operations",
    role: "public",
    response: z.object({ ok: z.literal(true) }),
    handler: async () => {
      if (shutdown.signal.aborted) throw new HttpError(503, "E_SHUTTING_DOWN", "the server is shutting down", "Send the request to another instance, or retry once it has restarted.");
      try {
        await options.engine.page({ limit: 1 }, { skipDamaged: true });
      } catch (error) {
        storeNotReady(error);
      }
      return { ok: true as const };
    },
  });
  // Route modules register here, each with the registry and the context.
  registerMemoryRoutes(app, registry, context);
  registerSearchRoutes(app, registry, context);
  registerMcpRoutes(app, registry, context);
  registerImportRoutes(app, registry, context);
  registerMetricsRoutes(app, registry, context);
  registerWarming(app, context);
  registerDashboardRoutes(app, registry, context);

  let closing: Promise<void> | undefined;
  return {
    app,
    registry,
    context,
    async listen(host: string, port: number): Promise<string> {
      await app.listen({ host, port });
      const address = app.server.address();
      const bound = typeof address === "object" && address ? address.port : port;
      return `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        shutdown.abort();
        // Idle keep-alive connections go now; after the grace period, every connection still open (a
        // request still running, or a client stuck mid-headers or mid-body) is cut, so close always ends.
        app.server.closeIdleConnections();
        const cut = setTimeout(() => app.server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
        try {
          await app.close();
        } finally {
          clearTimeout(cut);
        }
        // A write whose connection was cut still runs to its commit (or its error) before the store closes.
        await context.writes.idle();
        await options.engine.close();
      })();
      return closing;
    },
  };
}

function validJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
