import { lookup } from "node:dns/promises";
import { ErrorCode, MemzipError } from "../../errors.js";
import type { Command } from "../command.js";
import { STORE_OPTIONS } from "../command.js";
import { checkQueueReachable } from "../../fleet/queue.js";
import { openEngine, parseInteger, settingsOf, usage } from "../shared.js";

export const serveCommand: Command = {
  name: "serve",
  positionals: 0,
  summary: "serve the store over HTTP: REST API under /v1, MCP at /mcp, a dashboard at /",
  usage: "memzip serve [--host H] [--port N] [--db DB] [--cors ORIGIN]... [--rate N] [--max-body BYTES] [--max-text BYTES] [--max-writes N] [--warm N] [--cold-search] [--metrics-public] [--shutdown-grace S] [--queue redis://HOST:PORT]",
  help: `Binds 127.0.0.1 by default. Every route but /healthz, /readyz and /v1/openapi.json needs
\`Authorization: Bearer KEY\` (memzip keys create). Prints "listening on http://H:N" on stderr when ready.
With --queue, JSONL imports (POST /v1/imports) are cut into chunks on the store's queue and coded by
\`memzip worker\` processes (docs/SCALE.md); progress, events and resume work as without it.
SIGTERM or Ctrl-C: stops taking requests, lets those in flight finish for up to --shutdown-grace
seconds (then cuts every connection still open: a client stuck mid-request cannot hold it), waits for
writes still coding, then closes the store.
Each setting may also come from the config file's \`serve\` section or $MEMZIP_SERVE (JSON):
host, port, cors (a list), rate, maxBody, maxText, maxWrites, warm, metricsPublic, shutdownGrace; a flag goes over both.`,
  options: {
    host: { type: "string", value: "H", help: "address to bind (default 127.0.0.1; 0.0.0.0 for every interface)" },
    port: { type: "string", value: "N", help: "port (default 7411; 0 picks a free one)" },
    warm: { type: "string", value: "N", help: "decode the N most recalled / newest memories into the cache after start (default 500; 0 = off)" },
    "cold-search": { type: "boolean", help: "do not warm search at start (default: after listening, the vectors and the most common terms' keyword rows are read ahead, bounded; \"search warmed\" on stderr when done)" },
    "metrics-public": { type: "boolean", help: "serve GET /metrics without a key (default: an admin key is needed)" },
    cors: { type: "string", multiple: true, value: "ORIGIN", help: "allow browser calls from this origin (repeatable; default: CORS off)" },
    rate: { type: "string", value: "N", help: "requests per second per key, burst 2N (default 200; 0 turns the limit off)" },
    "max-body": { type: "string", value: "BYTES", help: "largest JSON request body (default 8388608; 413 beyond)" },
    "max-text": { type: "string", value: "BYTES", help: "largest text of one memory (default 1048576; 413 beyond)" },
    "max-writes": { type: "string", value: "N", help: "write requests coded at once (default 64; 503 with Retry-After beyond)" },
    "shutdown-grace": { type: "string", value: "S", help: "on SIGTERM, seconds requests in flight may take before every connection is cut (default 10)" },
    queue: { type: "string", value: "URL", help: "the import queue's Redis, redis://HOST:PORT: JSONL imports go to `memzip worker` processes" },
    ...STORE_OPTIONS,
  },
  async run(context) {
    // The config file's `serve` section or $MEMZIP_SERVE (checked by ServeSettingsSchema), then the flags.
    const file = settingsOf(context).serve ?? {};
    const host = typeof context.values.host === "string" ? context.values.host : (file.host ?? "127.0.0.1");
    if (host.trim() === "") throw usage("--host takes an address or a name (127.0.0.1, 0.0.0.0 for every interface), not an empty string");
    const port = parseInteger(context.values.port, "port", 0, 65535) ?? file.port ?? 7411;
    const warm = parseInteger(context.values.warm, "warm", 0, 1_000_000) ?? file.warm ?? 500;
    const rate = parseInteger(context.values.rate, "rate", 0, 1_000_000) ?? file.rate;
    const bodyBytes = parseInteger(context.values["max-body"], "max-body", 1024, 1 << 30) ?? file.maxBody;
    const textBytes = parseInteger(context.values["max-text"], "max-text", 1, 1 << 30) ?? file.maxText;
    const writesInFlight = parseInteger(context.values["max-writes"], "max-writes", 1, 1_000_000) ?? file.maxWrites;
    const shutdownGrace = parseInteger(context.values["shutdown-grace"], "shutdown-grace", 0, 3600) ?? file.shutdownGrace ?? 10;
    const cors = context.values.cors;
    const corsFlags = (Array.isArray(cors) ? cors : cors === undefined ? [] : [cors]).map(String);
    const corsOrigins = corsFlags.length > 0 ? corsFlags : (file.cors ?? []);
    for (const origin of corsOrigins) {
      if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) throw usage(`--cors takes an origin such as https://app.example.com (scheme and host, no path), not "${origin}"`);
    }
    const limits = {
      ...(rate === undefined ? {} : { ratePerSecond: rate, rateBurst: Math.max(1, 2 * rate) }),
      ...(bodyBytes === undefined ? {} : { bodyBytes }),
      ...(textBytes === undefined ? {} : { textBytes }),
      ...(writesInFlight === undefined ? {} : { writesInFlight }),
    };
    const queue = typeof context.values.queue === "string" ? context.values.queue : undefined;
    // A server answers reads and writes without its queue, so a Redis that is down now is said once and
    // served through (uploads to /v1/imports wait for it); a worker or a queued import stops instead.
    if (queue !== undefined) {
      await checkQueueReachable(queue).catch((error: unknown) => {
        if (!(error instanceof MemzipError) || error.code !== ErrorCode.BACKEND_UNAVAILABLE) throw error;
        context.stderr.write(`memzip serve: warning: ${error.message}; serving anyway, and uploads to /v1/imports wait until it answers\n  fix: ${error.hint ?? ""}\n`);
      });
    }
    // A host that does not resolve is the setting's fault, said before the store is opened (or created); a resolver that
    // did not answer (EAI_AGAIN: a name not yet known as a container starts) is a service down, worth a retry.
    await lookup(host).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code ?? "an error";
      if (code === "EAI_AGAIN") {
        throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `cannot listen on ${host}:${port}: the name resolver did not answer for the host (${code})`, {
          hint: "Start again once the name resolves (a supervisor's restart does), or give --host an address.",
          cause: error,
        });
      }
      throw new MemzipError(ErrorCode.USAGE, `cannot listen on ${host}:${port}: the host does not resolve (${code})`, {
        hint: "Give --host (or the config's serve.host, $MEMZIP_SERVE's host) an address of this machine (127.0.0.1, or 0.0.0.0 for every interface), or a name that resolves to one.",
        cause: error,
      });
    });
    // Loaded here, not at the top: the server's modules (fastify, the MCP SDK, metrics) cost every
    // other command ~0.3 s of CPU at start (a queued import's producer among them).
    const { createServer } = await import("../../server/app.js");
    // Searches ranked on a worker thread (a SQLite file and the built-in embedder): the event loop keeps answering recalls.
    // (The checkpoint thread, `checkpointThread`, stays off: the load bench showed no gain from it; docs/STORE.md.)
    const engine = openEngine(context, { searchThread: true }, { create: true });
    const metricsPublic = context.values["metrics-public"] === true || file.metricsPublic === true;
    const server = await createServer({ engine, limits, corsOrigins, logLevel: process.env.MEMZIP_LOG_LEVEL ?? "info", warm, metricsPublic, shutdownGraceMs: shutdownGrace * 1000,
      warmSearch: context.values["cold-search"] !== true,
      onSearchWarmed: (report) => {
        if (report) context.stderr.write(`search warmed: ${report.vectors} vectors, ${report.terms} terms (${report.rows} rows) in ${report.ms} ms\n`);
      }, ...(queue ? { queue } : {}) }).catch(async (error: unknown) => {
      await engine.close();
      throw error;
    });
    const url = await server.listen(host, port).catch(async (error: unknown) => {
      await server.close();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
        const why = code === "EADDRINUSE" ? "is in use (another memzip serve, or another program)" : code === "EACCES" ? "may not be bound by this user" : "is not an address of this machine";
        throw new MemzipError(ErrorCode.USAGE, `cannot listen on ${host}:${port}: the ${code === "EADDRNOTAVAIL" ? "host" : "port"} ${why}`, {
          hint: code === "EADDRNOTAVAIL" ? "Give --host an address of this machine (127.0.0.1, or 0.0.0.0 for every interface)." : "Pick another port with --port N (--port 0 picks a free one), or stop what holds it.",
          cause: error,
        });
      }
      throw error;
    });
    const noKeys = (await engine.keys.list()).every((key) => key.revokedAt !== null);
    // The signal handlers go in before readiness is announced: a supervisor (or a test) that stops the
    // server as soon as it reads "listening on" must find them installed, never the default action.
    const stopped = new Promise<void>((resolve) => {
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
    context.stderr.write(`listening on ${url}\n`);
    if (noKeys) {
      context.stderr.write("memzip serve: this store has no API key, so every request but /healthz, /readyz and /v1/openapi.json answers 401; create one with `memzip keys create --db DB --namespace NS --role write`\n");
    }
    await stopped;
    return 0;
  },
};
