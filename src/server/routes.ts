import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { KeyScope } from "../engine.js";
import type { KeyRole } from "../core/store.js";
import type { OutgoingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { HttpError } from "./errors.js";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * One route: its zod schemas validate the request (params, query, body) and the response, and the
 * same schemas write its entry in the OpenAPI document. Handlers get parsed input and return the
 * response body, or take the reply themselves (`streams: true`: SSE, JSONL, Arrow).
 */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType, H extends z.ZodObject = z.ZodObject> {
  method: Method;
  /** Fastify path: `/v1/memories/:id`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** The least role the route needs; "public" needs no key. */
  role: KeyRole | "public";
  params?: P;
  query?: Q;
  body?: B;
  /** Request headers the route reads (lower-case names), validated and documented; the handler gets them parsed as `headers`. */
  headers?: H;
  response: R;
  /** Status of a success (200 unless told). */
  status?: number;
  /** The handler writes the reply itself (the response schema documents what it streams). */
  streams?: boolean;
  /** Content type of a streamed response, for the document. */
  contentType?: string;
  handler(input: {
    params: z.infer<P>;
    query: z.infer<Q>;
    body: z.infer<B>;
    scope: KeyScope | undefined;
    /** The headers `headers` names, parsed (empty when it names none). */
    headers: Partial<z.infer<H>>;
    request: FastifyRequest;
    reply: FastifyReply;
  }): Promise<z.infer<R> | typeof NOT_MODIFIED | void>;
}

interface Documented {
  method: Method;
  path: string;
  summary: string;
  description?: string;
  tag: string;
  role: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  headers?: z.ZodObject;
  response: z.ZodType;
  status: number;
  contentType: string;
}

const EMPTY = z.object({}).strict();
/** The query of a route that declares none: anything passes. Built once (a zod schema built per request costs ~40 µs). */
const ANY_QUERY = EMPTY.passthrough();

/**
 * Parses one part of a request; a refusal names the part in each issue's path (`query.bogus: …`,
 * `header.if-match: …`), so the answer does not blame the body for a query parameter.
 */
function parseIn(where: "path" | "query" | "header", schema: z.ZodType, value: unknown): unknown {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new z.ZodError(parsed.error.issues.map((issue) => ({ ...issue, path: [where, ...issue.path] })));
}

/** The named headers present in a request (a repeated one as fastify joins or lists it). */
function pick(headers: FastifyRequest["headers"], names: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) if (headers[name] !== undefined) picked[name] = headers[name];
  return picked;
}

/**
 * A 304 with no body. On a HEAD request fastify's own HEAD handling would add `content-length: 0`, which RFC 9110
 * 8.6 forbids on a 304 unless the full answer's length is 0 (a cache that takes a 304's headers over would store the
 * memory as empty): that answer is written directly, with the headers set so far (ETag, request id, CORS).
 */
function notModified(request: FastifyRequest, reply: FastifyReply, closing: boolean): FastifyReply {
  if (request.method !== "HEAD") return reply.code(304).send();
  reply.hijack();
  const headers = { ...reply.getHeaders() };
  delete headers["content-length"];
  // What the server's onSend hook adds while it shuts down, which a direct write skips.
  if (closing) headers.connection = "close";
  reply.raw.writeHead(304, headers as OutgoingHttpHeaders);
  reply.raw.end();
  return reply;
}

/** What a handler returns for a conditional GET whose copy is current: the registry answers 304 with no body. */
export const NOT_MODIFIED: unique symbol = Symbol("not modified");

/** The routes a server registered, for the OpenAPI document. */

export class RouteRegistry {
  readonly routes: Documented[] = [];

  /** `closing`: whether the server is shutting down (an answer written directly then closes its connection). */
  constructor(private readonly closing: () => boolean = () => false) {}

  /** Registers a route on `app` and records it. */
  add<P extends z.ZodType = typeof EMPTY, Q extends z.ZodType = typeof EMPTY, B extends z.ZodType = typeof EMPTY, R extends z.ZodType = z.ZodType, H extends z.ZodObject = typeof EMPTY>(
    app: FastifyInstance,
    spec: RouteSpec<P, Q, B, R, H>,
  ): void {
    const status = spec.status ?? 200;
    this.routes.push({
      method: spec.method,
      path: spec.path,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tag: spec.tag,
      role: spec.role,
      ...(spec.params ? { params: spec.params } : {}),
      ...(spec.query ? { query: spec.query } : {}),
      ...(spec.body ? { body: spec.body } : {}),
      ...(spec.headers ? { headers: spec.headers } : {}),
      response: spec.response,
      status,
      contentType: spec.contentType ?? "application/json",
    });
    app.route({
      method: spec.method,
      url: spec.path,
      config: { role: spec.role },
      handler: async (request, reply) => {
        const params = parseIn("path", spec.params ?? EMPTY, request.params ?? {}) as z.infer<P>;
        const query = parseIn("query", spec.query ?? ANY_QUERY, request.query ?? {}) as z.infer<Q>;
        // An upload's content type (their parser hands over the raw stream) on a JSON route: the wrong media type.
        if (spec.body && request.body instanceof Readable) {
          throw new HttpError(415, "E_MEDIA_TYPE", `${spec.method} ${spec.path} takes a JSON body, not ${request.headers["content-type"] ?? "a raw upload"}`, "Send the body as JSON with Content-Type application/json.", { connection: "close" });
        }
        const body = (spec.body ? spec.body.parse(request.body) : undefined) as z.infer<B>;
        const headers = (spec.headers ? parseIn("header", spec.headers, pick(request.headers, Object.keys(spec.headers.shape))) : {}) as Partial<z.infer<H>>;
        const result = await spec.handler({ params, query, body, headers, scope: request.scope, request, reply });
        if (spec.streams) return reply;
        // A conditional read whose copy is current: no body (RFC 9110 15.4.5); the handler set the ETag.
        if (result === NOT_MODIFIED) return notModified(request, reply, this.closing());
        const checked = spec.response.safeParse(result);
        // An answer that fails its own schema is memzip's fault, never the request's: 500, not a 400 that says nothing was done.
        if (!checked.success) throw new Error(`the answer of ${spec.method} ${spec.path} does not match its schema: ${checked.error.message}`);
        return reply.code(status).send(checked.data);
      },
    });
  }

  /** The OpenAPI 3.1 document of every registered route. */
  openApi(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    const schema = (type: z.ZodType, io: "input" | "output") => {
      const { $schema: _dialect, ...rest } = z.toJSONSchema(type, { io, unrepresentable: "any" }) as Record<string, unknown>;
      return rest;
    };
    for (const route of this.routes) {
      // `:name` is a path parameter; `::` is fastify's escape for a literal colon (`/v1/memories::batch`).
      const path = route.path.replace(/::/g, "\u0000").replace(/:(\w+)/g, "{$1}").replace(/\u0000/g, ":");
      const parameters: unknown[] = [];
      for (const [where, type] of [["path", route.params], ["query", route.query], ["header", route.headers]] as const) {
        if (!type) continue;
        const json = schema(type, "input") as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, property] of Object.entries(json.properties ?? {})) {
          parameters.push({ name, in: where, required: where === "path" || (json.required ?? []).includes(name), schema: property });
        }
      }
      const operation: Record<string, unknown> = {
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        tags: [route.tag],
        ...(route.role === "public" ? { security: [] } : { "x-memzip-role": route.role }),
        ...(parameters.length ? { parameters } : {}),
        ...(route.body ? { requestBody: { required: true, content: { "application/json": { schema: schema(route.body, "input") } } } } : {}),
        responses: {
          [String(route.status)]:
            route.status === 204 ? { description: route.summary } : { description: route.summary, content: { [route.contentType]: { schema: schema(route.response, "output") } } },
          ...(route.role === "public" ? {} : { "401": { description: "missing or unknown key" }, "403": { description: "the key's role is not enough" }, "429": { description: "rate limited (Retry-After)" } }),
          ...(route.method === "GET" && route.headers && "if-none-match" in route.headers.shape ? { "304": { description: "If-None-Match names the memory's tag now: the copy the client holds is current (no body)" } } : {}),
          ...(route.headers && "if-match" in route.headers.shape ? { "412": { description: "If-Match is not the memory's tag now (E_PRECONDITION): nothing written; read it again" } } : {}),
        },
      };
      (paths[path] ??= {})[route.method.toLowerCase()] = operation;
    }
    return {
      openapi: "3.1.0",
      info,
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A key from `memzip keys create`." } } },
      security: [{ bearer: [] }],
      paths,
    };
  }
}
