import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ServerContext } from "./context.js";
import { unauthorized } from "./errors.js";
import { createMcpServer } from "./mcp.js";
import type { RouteRegistry } from "./routes.js";

/**
 * MCP over Streamable HTTP at `/mcp`, stateless: each POST gets its own server and transport, bound
 * to the key's scope, answered as JSON and then closed (no session to keep or clean up; any server
 * process of a fleet can answer any request). GET and DELETE (server-sent streams and sessions)
 * answer 405, as the transport's spec allows for a server without sessions.
 * Not a JSON route of the registry: the MCP SDK reads and writes the raw request (`reply.hijack()`).
 * The route's role is "read" so the server's auth hook runs (401 / 429 / scope); the write tools
 * check the write role themselves.
 */
export function registerMcpRoutes(app: FastifyInstance, _registry: RouteRegistry, context: ServerContext): void {
  app.route({
    method: "POST",
    url: "/mcp",
    config: { role: "read" },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const scope = request.scope;
      if (!scope) throw unauthorized();
      const server = createMcpServer({
        engine: context.engine,
        scope,
        textBytes: context.limits.textBytes,
        onInternalError: (error) => request.log.error({ err: error }, "MCP tool failed"),
      });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      reply.hijack();
      reply.raw.setHeader("x-request-id", request.id);
      reply.raw.on("close", () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
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
