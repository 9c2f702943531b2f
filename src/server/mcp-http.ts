import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ServerContext } from "./context.js";
import { unauthorized } from "./errors.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { KeyScope } from "../engine.js";
import { createMcpServer } from "./mcp.js";
import { guardRequests, invalidMessage } from "./mcp-guard.js";
import type { RouteRegistry } from "./routes.js";

/**
 * MCP over Streamable HTTP at `/mcp`, stateless: each POST gets its own transport and an MCP server
 * bound to the key's scope, answered as JSON and then closed (no session to keep or clean up; any
 * server process of a fleet can answer any request). Building an McpServer costs ~2 ms, so idle
 * ones are kept per scope (`McpServerPool`) and connected to the next request's transport. GET and DELETE (server-sent streams and sessions)
 * answer 405, as the transport's spec allows for a server without sessions.
 * Not a JSON route of the registry: the MCP SDK reads and writes the raw request (`reply.hijack()`).
 * The route's role is "read" so the server's auth hook runs (401 / 429 / scope); the write tools
 * check the write role themselves.
 */
export function registerMcpRoutes(app: FastifyInstance, _registry: RouteRegistry, context: ServerContext): void {
  const pool = new McpServerPool((scope) =>
    createMcpServer({
      engine: context.engine,
      scope,
      textBytes: context.limits.textBytes,
      writes: context.writes,
      onInternalError: (error) => app.log.error({ err: error, keyId: scope.keyId }, "MCP tool failed"),
    }),
  );
  app.route({
    method: "POST",
    url: "/mcp",
    config: { role: "read" },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const scope = request.scope;
      if (!scope) throw unauthorized();
      // One message a request: a JSON-RPC batch (which MCP's 2025-06-18 revision dropped) ran up to 100 calls for one
      // token of the key's rate limit and answered megabytes past the tools' bounds.
      if (Array.isArray(request.body)) {
        return reply.code(400).send({
          jsonrpc: "2.0",
          error: { code: -32600, message: "E_USAGE: JSON-RPC batches are not accepted", data: { code: "E_USAGE", hint: "Send one JSON-RPC message per POST /mcp (each counts against the key's rate limit)." } },
          id: null,
        });
      }
      // A message that is not JSON-RPC is answered here, with its id where it has one (the transport answers -32700 "parse error", id null).
      const invalid = invalidMessage(request.body);
      if (invalid) return reply.code(400).send(invalid.answer);
      const server = pool.take(scope);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      reply.hijack();
      reply.raw.setHeader("x-request-id", request.id);
      reply.raw.on("close", () => {
        void transport.close().then(() => pool.give(scope, server));
      });
      try {
        await server.connect(transport);
        guardRequests(transport);
        await transport.handleRequest(request.raw, reply.raw, request.body);
      } catch (error) {
        request.log.error({ err: error }, "MCP request failed");
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(500, { "content-type": "application/json" });
          reply.raw.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32603, message: "internal error" }, id: null }));
        }
      }
    },
  });
  app.route({
    method: ["GET", "DELETE"],
    url: "/mcp",
    config: { role: "read" },
    handler: async (_request, reply) =>
      reply
        .code(405)
        .header("allow", "POST")
        .send({ jsonrpc: "2.0", error: { code: -32000, message: "this server is stateless: send each JSON-RPC message with POST /mcp" }, id: null }),
  });
}

/** Idle MCP servers per scope, reused one request at a time; bounded in scopes and servers. */
export class McpServerPool {
  private readonly idle = new Map<string, McpServer[]>();

  constructor(
    private readonly make: (scope: KeyScope) => McpServer,
    private readonly maxScopes = 64,
    private readonly perScope = 8,
  ) {}

  /** An idle server of this scope, or a new one. */
  take(scope: KeyScope): McpServer {
    return this.idle.get(scopeKey(scope))?.pop() ?? this.make(scope);
  }

  /** Keeps a server whose transport has closed for the next request of its scope (or drops it). */
  give(scope: KeyScope, server: McpServer): void {
    if (server.isConnected()) return;
    const key = scopeKey(scope);
    const servers = this.idle.get(key) ?? [];
    this.idle.delete(key); // re-inserted last: the scope used longest ago goes first
    if (servers.length < this.perScope) servers.push(server);
    this.idle.set(key, servers);
    if (this.idle.size > this.maxScopes) this.idle.delete(this.idle.keys().next().value as string);
  }

  /** Idle servers held, all scopes together. */
  get size(): number {
    let n = 0;
    for (const servers of this.idle.values()) n += servers.length;
    return n;
  }
}

function scopeKey(scope: KeyScope): string {
  return JSON.stringify([scope.keyId, scope.role, scope.namespaces]);
}
