import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { CallToolRequestSchema, InitializeRequestSchema, JSONRPCMessageSchema, JSONRPCNotificationSchema, JSONRPCRequestSchema, ListToolsRequestSchema, PingRequestSchema, type JSONRPCMessage, type RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import { ErrorCode } from "../errors.js";

/**
 * JSON-RPC answers memzip gives before the SDK sees a request, over stdio and HTTP alike.
 *
 * The SDK parses a request's params with the method's schema inside its handler, and answers a
 * failure as -32603 "internal error" whose message is zod's issue list as pretty-printed JSON
 * (`{"name":"recall","arguments":"x"}` read as a server fault). Such a request is the client's
 * mistake: it gets -32602 "invalid params", one line naming each field, and memzip's code and fix
 * in `data`, as the other protocol errors of `/mcp` carry them.
 */

/** The methods the MCP server answers (the SDK's McpServer with tools only), each with the SDK's schema of its request. */
const REQUESTS: Readonly<Record<string, z.ZodType>> = {
  initialize: InitializeRequestSchema,
  ping: PingRequestSchema,
  "tools/list": ListToolsRequestSchema,
  "tools/call": CallToolRequestSchema,
};

/** JSON-RPC 2.0's error codes that memzip answers itself. */
export const JsonRpcError = {
  PARSE: -32700,
  INVALID_REQUEST: -32600,
  INVALID_PARAMS: -32602,
} as const;

/** A JSON-RPC error answer carrying memzip's code and fix in `data`. */
export function protocolError(id: RequestId | null, code: number, message: string, hint: string, memzipCode: string = ErrorCode.USAGE): JSONRPCMessage {
  // The SDK's message type has no answer without an id; JSON-RPC 2.0 answers id null where the request's could not be read.
  return { jsonrpc: "2.0", id, error: { code, message, data: { code: memzipCode, hint } } } as JSONRPCMessage;
}

/** A request id as JSON-RPC allows it here (a string or a safe integer), or null. */
export function usableId(id: unknown): RequestId | null {
  return typeof id === "string" || (typeof id === "number" && Number.isSafeInteger(id)) ? id : null;
}

/** A parsed message's fields: the object itself, or none for anything else (an array, a string, null). */
export function objectFields(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * Whether JSON-RPC leaves a message unanswered, however wrong it is: a notification (a method, no id) or a response
 * (over stdio its id is one of the server's own requests, not the client's).
 */
export function unanswered(fields: Record<string, unknown>): boolean {
  return (typeof fields.method === "string" && !("id" in fields)) || (!("method" in fields) && ("result" in fields || "error" in fields));
}

/**
 * The answer to a message that is not JSON-RPC 2.0 as MCP takes it (params an array or a number, no
 * `jsonrpc`, an id that is an object …): -32600 with the message's id where it has a usable one
 * (else null), or undefined when the message is valid; -32602 naming the params where only their content is wrong.
 * `quiet` is set for a notification or a response, which a stdio server leaves unanswered (JSON-RPC answers neither).
 */
export function invalidMessage(value: unknown): { answer: JSONRPCMessage; quiet: boolean } | undefined {
  const checked = JSONRPCMessageSchema.safeParse(value);
  if (checked.success) return undefined;
  const fields = objectFields(value);
  const id = usableId(fields.id);
  const method = typeof fields.method === "string" ? fields.method : undefined;
  const what = method !== undefined ? `${method} request` : "message";
  const quiet = unanswered(fields);
  const problem = messageProblem(value, fields);
  if (problem === undefined) {
    // A well-formed request whose params fail the base schema (`_meta` not an object …): its params, named.
    const base = ("id" in fields ? JSONRPCRequestSchema : JSONRPCNotificationSchema).safeParse(value);
    const issues = base.success ? "not a JSON-RPC 2.0 request, notification or response" : base.error.issues.map(issueLine).join("; ");
    return { answer: protocolError(id, JsonRpcError.INVALID_PARAMS, `invalid params for ${method ?? "the message"}: ${issues}`, "Send params of the shape the MCP specification gives for this method."), quiet };
  }
  return {
    answer: protocolError(id, JsonRpcError.INVALID_REQUEST, `invalid ${what}: ${problem}`, "Send one JSON-RPC 2.0 object: jsonrpc \"2.0\", a method, an id (string or integer) for a request, and params as an object."),
    quiet,
  };
}

/**
 * Why a request's params do not fit its method, in one line, or undefined when they do (and for a
 * method memzip does not answer: the SDK then says "method not found").
 */
export function paramsProblem(message: { method: string }): string | undefined {
  const schema = Object.hasOwn(REQUESTS, message.method) ? REQUESTS[message.method] : undefined;
  const checked = schema?.safeParse(message);
  if (!checked || checked.success) return undefined;
  return checked.error.issues.map(issueLine).join("; ");
}

/** What makes a message invalid, in words (zod's answer for a union is only "Invalid input"). */
function messageProblem(value: unknown, fields: Record<string, unknown>): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  if (fields.jsonrpc !== "2.0") return 'jsonrpc must be "2.0"';
  if ("id" in fields && usableId(fields.id) === null) return "id must be a string or an integer";
  if ("method" in fields && typeof fields.method !== "string") return "method must be a string";
  if ("params" in fields && (typeof fields.params !== "object" || fields.params === null || Array.isArray(fields.params))) return "params must be an object";
  if (!("method" in fields) && !("result" in fields) && !("error" in fields)) return "it has no method";
  // A request or notification whose shape is right: its params' content is wrong (the caller names it).
  if (typeof fields.method === "string") return undefined;
  return "not a JSON-RPC 2.0 request, notification or response";
}

function issueLine(issue: z.core.$ZodIssue): string {
  // zod calls a JSON object a "record".
  return `${issue.path.map(String).join(".") || "the message"}: ${issue.message.replace("expected record", "expected an object")}`;
}

/**
 * Answers a request whose params do not fit its method with -32602 before the server's handler
 * runs. Call after the server has connected to the transport (connecting sets `onmessage`).
 */
export function guardRequests(transport: Transport): void {
  const receive = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if ("method" in message && "id" in message) {
      const problem = paramsProblem(message);
      if (problem !== undefined) {
        // Through the transport's own send (looked up now): `memzip mcp` counts the answers it writes.
        transport.send(protocolError(message.id, JsonRpcError.INVALID_PARAMS, `invalid params for ${message.method}: ${problem}`, "Send params of the shape the MCP specification gives for this method.")).catch((error: unknown) => transport.onerror?.(error as Error));
        return;
      }
    }
    receive?.(message, extra);
  };
}
