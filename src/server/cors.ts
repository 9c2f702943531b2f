import type { FastifyInstance } from "fastify";

const ALLOWED_METHODS = "GET, POST, PATCH, DELETE, OPTIONS";
const ALLOWED_HEADERS = "authorization, content-type, if-match, if-none-match, x-request-id";

/**
 * CORS for the configured origins only; with none it adds nothing (no Access-Control header ever).
 * A preflight (OPTIONS with Access-Control-Request-Method) from an allowed origin is answered 204
 * before any key is checked, as browsers send it without one; other origins get no CORS headers.
 */
export function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const allowed = new Set(origins);
  app.addHook("onRequest", async (request, reply) => {
    const origin = request.headers.origin;
    if (typeof origin !== "string" || !(allowed.has(origin) || allowed.has("*"))) return;
    reply.header("access-control-allow-origin", allowed.has("*") ? "*" : origin);
    reply.header("vary", "Origin");
    reply.header("access-control-expose-headers", "etag, retry-after, x-request-id");
    if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
      reply.header("access-control-allow-methods", ALLOWED_METHODS);
      reply.header("access-control-allow-headers", ALLOWED_HEADERS);
      reply.header("access-control-max-age", "600");
      await reply.code(204).send();
    }
  });
}
