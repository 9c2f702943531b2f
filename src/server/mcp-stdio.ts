import type { Readable, Writable } from "node:stream";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import { inexactInteger, inexactIntegerProblem } from "../core/json-numbers.js";
import { invalidMessage, JsonRpcError, objectFields, protocolError, unanswered, usableId } from "./mcp-guard.js";

/** Bytes of a line's start and end kept from a line over the bound, to find its id. */
const EDGE_BYTES = 256;

/**
 * MCP over stdio: one JSON-RPC message per line (the transport of the MCP specification), where
 * every line that is not a valid message gets an answer. The SDK's stdio transport drops such a
 * line with no answer (a request whose params are an array, a line that is not JSON), so the agent
 * waits forever for that id; and a line over its buffer ends the session. Here a line that is not
 * JSON is answered -32700, a message that is not JSON-RPC -32600 (with its id where it has one; a
 * notification gets none, as JSON-RPC has it), and a line over `maxLineBytes` -32600 with the id
 * found at its start or end, while the session goes on.
 */
export class StdioLineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The start and end of a line over the bound, while the rest of it is skipped. */
  private overflow: { head: Buffer; tail: Buffer } | undefined;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly options: { maxLineBytes: number; /** Told of what was refused without an answer (a bad notification). */ log?: (line: string) => void },
  ) {}

  async start(): Promise<void> {
    this.input.on("data", this.onData);
    this.input.on("end", this.onEnd);
    this.input.on("error", this.onInputError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.output.once("drain", resolve);
    });
  }

  async close(): Promise<void> {
    this.input.off("data", this.onData);
    this.input.off("end", this.onEnd);
    this.input.off("error", this.onInputError);
    if (this.input.listenerCount("data") === 0) this.input.pause();
    this.pending = [];
    this.pendingBytes = 0;
    this.overflow = undefined;
    this.onclose?.();
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    let from = 0;
    while (from < bytes.length) {
      const newline = bytes.indexOf(10, from);
      this.take(bytes.subarray(from, newline === -1 ? bytes.length : newline));
      if (newline === -1) return;
      this.endLine();
      from = newline + 1;
    }
  };

  /** Input that ends without a final newline still ends its last message. */
  private readonly onEnd = (): void => {
    if (this.pendingBytes > 0 || this.overflow) this.endLine();
  };

  private readonly onInputError = (error: Error): void => this.onerror?.(error);

  private take(part: Buffer): void {
    if (part.length === 0) return;
    if (this.overflow) {
      this.overflow.tail = lastBytes(Buffer.concat([this.overflow.tail, part]));
      return;
    }
    if (this.pendingBytes + part.length > this.options.maxLineBytes) {
      const line = Buffer.concat([...this.pending, part]);
      this.overflow = { head: Buffer.from(line.subarray(0, EDGE_BYTES)), tail: lastBytes(line) };
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    this.pending.push(part);
    this.pendingBytes += part.length;
  }

  private endLine(): void {
    const overflow = this.overflow;
    this.overflow = undefined;
    if (overflow) {
      // Answered where its start names a method and an id shows at an edge: a request. A notification or a response
      // over the bound (or a request whose id is elsewhere) cannot be told apart unread: logged, not answered.
      const id = /"method"\s*:/.test(overflow.head.toString("utf8")) ? edgeId(overflow.head, overflow.tail) : null;
      const said = `message over ${this.options.maxLineBytes} bytes, not read`;
      if (id === null) this.options.log?.(`${said} (no request id at its start or end: not answered)`);
      else void this.answer(protocolError(id, JsonRpcError.INVALID_REQUEST, said, "Send a smaller message: split a long text into several memories."));
      return;
    }
    const line = Buffer.concat(this.pending).toString("utf8").replace(/\r$/, "");
    this.pending = [];
    this.pendingBytes = 0;
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      void this.answer(protocolError(null, JsonRpcError.PARSE, `parse error: ${(error as Error).message}`, "Send one JSON-RPC message per line, as JSON."));
      return;
    }
    // A number JSON cannot hold exactly is refused, as a POST /mcp body's is: parsed, it would be stored rounded.
    const inexact = inexactInteger(line);
    if (inexact !== undefined) {
      const { message, hint } = inexactIntegerProblem(inexact);
      const fields = objectFields(value);
      if (unanswered(fields)) this.options.log?.(`refused a notification or response: ${message}`);
      else void this.answer(protocolError(usableId(fields.id), JsonRpcError.INVALID_PARAMS, `E_INVALID_INPUT: ${message}`, hint, "E_INVALID_INPUT"));
      return;
    }
    const invalid = invalidMessage(value);
    if (invalid) {
      if (invalid.quiet) this.options.log?.(`refused a notification or response: ${errorMessage(invalid.answer)}`);
      else void this.answer(invalid.answer);
      return;
    }
    try {
      this.onmessage?.(value as JSONRPCMessage);
    } catch (error) {
      this.onerror?.(error as Error);
    }
  }

  /** An answer of the transport's own (through `send` as looked up now: `memzip mcp` counts what it writes). */
  private answer(message: JSONRPCMessage): Promise<void> {
    return this.send(message).catch((error: unknown) => this.onerror?.(error as Error));
  }
}

function lastBytes(bytes: Buffer): Buffer {
  return bytes.length <= EDGE_BYTES ? bytes : Buffer.from(bytes.subarray(bytes.length - EDGE_BYTES));
}

const ID = String.raw`("(?:[^"\\]|\\.){0,128}"|-?\d{1,16})`;
/** `{"jsonrpc":"2.0","id":…` at the start of a message, or `"id":…}` ending it (where the SDK's clients put it). */
const HEAD_ID = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID}\s*,`);
const TAIL_ID = new RegExp(String.raw`,\s*"id"\s*:\s*${ID}\s*\}\s*$`);

/** The id of a message read only at its edges, or null: a top-level id is first or last in every client we know. */
function edgeId(head: Buffer, tail: Buffer): RequestId | null {
  const found = HEAD_ID.exec(head.toString("utf8")) ?? TAIL_ID.exec(tail.toString("utf8").replace(/\r$/, ""));
  if (!found?.[1]) return null;
  try {
    return usableId(JSON.parse(found[1]));
  } catch {
    return null;
  }
}

function errorMessage(message: JSONRPCMessage): string {
  return "error" in message ? message.error.message : "";
}
