import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Command } from "../command.js";
import { CODING_OPTIONS, STORE_OPTIONS } from "../command.js";
import { NAMESPACE_PATTERN } from "../../pipeline/records.js";
import { SERVER_LIMITS } from "../../server/context.js";
import { MCP_TOOLS } from "../../server/mcp-tools.js";
import { openEngine, parseChoice, usage } from "../shared.js";

const ROLES = ["read", "write"] as const;

export const mcpCommand: Command = {
  name: "mcp",
  positionals: 0,
  summary: "serve the store to an agent host over MCP on stdio (memzip serve has MCP over HTTP at /mcp)",
  usage: "memzip mcp [--namespace NS …] [--role read|write] [--db DB]",
  help: `Speaks the Model Context Protocol on stdin/stdout (nothing else goes to stdout; messages go
to stderr) and exits when stdin closes. Tools: ${MCP_TOOLS.join(", ")}.
The agent acts only in the given namespaces (the first is where remember writes; '*' for all;
default: the configured namespace, "default"). --role read offers the read tools only for use:
the write tools answer E_FORBIDDEN. docs/MCP.md has the host configuration and the tools' bounds.`,
  options: {
    namespace: { type: "string", short: "n", multiple: true, value: "NS", help: "a namespace the agent may use (repeat for more; the first is written to; * for all)" },
    role: { type: "string", value: "R", help: "read or write (default write)" },
    ...CODING_OPTIONS,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const role = parseChoice(ROLES, context.values.role, "role", "write");
    const given = (context.values.namespace as string[] | undefined) ?? [];
    for (const ns of given) {
      if (ns !== "*" && !NAMESPACE_PATTERN.test(ns)) throw usage(`--namespace ${JSON.stringify(ns)} is not a namespace (1–128 letters, digits or _ . : @ -; * for all)`);
    }
    // Loaded here, not at the top: the MCP SDK costs every other command ~0.2 s of CPU at start.
    const [{ StdioLineTransport }, { createMcpServer }, { guardRequests }] = await Promise.all([import("../../server/mcp-stdio.js"), import("../../server/mcp.js"), import("../../server/mcp-guard.js")]);
    const engine = openEngine(context, {}, role === "read" ? { readOnly: true } : { create: true });
    const namespaces = given.includes("*") ? ("*" as const) : given.length > 0 ? [...new Set(given)] : [engine.options.namespace];
    const server = createMcpServer({
      engine,
      scope: { keyId: "stdio", role, namespaces },
      textBytes: SERVER_LIMITS.textBytes,
      onInternalError: (error) => context.stderr.write(`memzip mcp: tool failed: ${(error as Error)?.stack ?? String(error)}\n`),
    });
    // A line is bounded as a POST /mcp body is.
    const transport = new StdioLineTransport(process.stdin, process.stdout, { maxLineBytes: SERVER_LIMITS.bodyBytes, log: (line) => context.stderr.write(`memzip mcp: ${line}\n`) });
    // How the session ended: the input ran out (answer what was asked), or a signal (stop now).
    const closed = new Promise<"input" | "signal">((resolve) => {
      transport.onclose = () => resolve("input");
      process.stdin.once("end", () => resolve("input"));
      process.stdin.once("close", () => resolve("input"));
      process.once("SIGTERM", () => resolve("signal"));
      process.once("SIGINT", () => resolve("signal"));
    });
    try {
      await server.connect(transport);
      guardRequests(transport);
      const answered = trackRequests(transport);
      context.stderr.write(`memzip mcp: ready on stdio (${role}, namespaces ${namespaces === "*" ? "*" : namespaces.join(", ")}, store ${engine.location})\n`);
      // stdin may end right after a request (one piped in): it is answered before the engine closes,
      // within a bound (a request that never finishes must not keep the process alive); not after a signal.
      if ((await closed) === "input") await within(answered(), ANSWER_WAIT_MS);
    } finally {
      await server.close().catch(() => undefined);
      await engine.close();
    }
    return 0;
  },
};

/** How long `memzip mcp` waits, once its input has ended, for the answers to requests already received. */
const ANSWER_WAIT_MS = 120_000;

/** Resolves when `promise` does or after `ms`, whichever is first; the timer never outlives it. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Counts the requests the server has received and not yet answered (the MCP server sets the
 * transport's `onmessage` on connect; its answers go out through `send`). The returned function
 * resolves once every request received so far has its answer written.
 */
function trackRequests(transport: Transport): () => Promise<void> {
  const open = new Set<string | number>();
  let drained: (() => void) | undefined;
  const receive = transport.onmessage;
  transport.onmessage = (message: JSONRPCMessage) => {
    if ("method" in message && "id" in message) open.add(message.id);
    // A request the client cancelled gets no answer: it is no longer waited for.
    if ("method" in message && message.method === "notifications/cancelled" && !("id" in message)) {
      const requestId = (message.params as { requestId?: string | number } | undefined)?.requestId;
      if (requestId !== undefined && open.delete(requestId) && open.size === 0) drained?.();
    }
    receive?.(message);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message: JSONRPCMessage) => {
    try {
      await send(message);
    } finally {
      if (!("method" in message) && "id" in message && message.id !== undefined && open.delete(message.id) && open.size === 0) drained?.();
    }
  };
  return () => (open.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve)));
}
