import type { Command } from "../command.js";
import { STORE_OPTIONS } from "../command.js";
import { createServer } from "../../server/app.js";
import { openEngine, parseInteger } from "../shared.js";

export const serveCommand: Command = {
  name: "serve",
  summary: "serve the store over HTTP: REST API under /v1, MCP at /mcp, a dashboard at /",
  usage: "memzip serve [--host H] [--port N] [--warm N] [--metrics-public] [--db DB]",
  help: `Binds 127.0.0.1 by default. Every route but /healthz, /readyz and /v1/openapi.json needs
\`Authorization: Bearer KEY\` (memzip keys create). Prints "listening on http://H:N" on stderr when ready.
SIGTERM or Ctrl-C: stops taking requests, finishes those in flight, then closes the store.`,
  options: {
    host: { type: "string", value: "H", help: "address to bind (default 127.0.0.1; 0.0.0.0 for every interface)" },
    port: { type: "string", value: "N", help: "port (default 7411; 0 picks a free one)" },
    warm: { type: "string", value: "N", help: "decode the N most recalled / newest memories into the cache after start (default 500; 0 = off)" },
    "metrics-public": { type: "boolean", help: "serve GET /metrics without a key (default: an admin key is needed)" },
    ...STORE_OPTIONS,
  },
  async run(context) {
    const host = typeof context.values.host === "string" ? context.values.host : "127.0.0.1";
    const port = parseInteger(context.values.port, "port", 0, 65535) ?? 7411;
    const warm = parseInteger(context.values.warm, "warm", 0, 1_000_000) ?? 500;
    const engine = openEngine(context);
    const server = await createServer({ engine, logLevel: process.env.MEMZIP_LOG_LEVEL ?? "info", warm, metricsPublic: context.values["metrics-public"] === true }).catch(async (error: unknown) => {
      await engine.close();
      throw error;
    });
    const url = await server.listen(host, port).catch(async (error: unknown) => {
      await server.close();
      throw error;
    });
    context.stderr.write(`listening on ${url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off("SIGTERM", stop);
        process.off("SIGINT", stop);
        context.stderr.write("memzip serve: shutting down (finishing requests in flight)\n");
        void server.close().then(resolve, (error: unknown) => {
          context.stderr.write(`memzip serve: error while closing: ${String(error)}\n`);
          resolve();
        });
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    });
    return 0;
  },
};
