/**
 * A real HTTP server speaking Ollama's (`/api/chat`, `/api/generate`, `/api/embed`, `/api/tags`) and
 * OpenAI's (`/v1/chat/completions`, `/v1/embeddings`, `/v1/models`) wire formats, streaming and not.
 * Its answers come from a `TextBackend` (the embedded llama model in the tests). Faults on demand:
 * error statuses, slow answers, connections dropped mid-stream.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { ChatMessage, TextBackend } from "../../src/model/backend.js";

export interface Faults {
  /** Answer this status to the next N requests. */
  status?: { code: number; times: number };
  /** Wait this long before answering. */
  delayMs?: number;
  /** Close the connection after the first streamed chunk of the next N requests. */
  dropMidStream?: number;
  /** Require this bearer key on OpenAI routes. */
  apiKey?: string;
  /** Called with the number of requests so far as each one arrives (to kill the server mid-batch). */
  onRequest?: (count: number) => void;
}

export class FakeLlmServer {
  readonly faults: Faults = {};
  readonly requests: { path: string; stream: boolean; body: Record<string, unknown> }[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(backend: TextBackend): Promise<FakeLlmServer> {
    const ref: { instance?: FakeLlmServer } = {};
    const server = createServer((req, res) => {
      void (ref.instance as FakeLlmServer).handle(backend, req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: (error as Error).message }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const instance = new FakeLlmServer(server, `http://127.0.0.1:${port}`);
    ref.instance = instance;
    server.on("connection", (socket) => {
      instance.sockets.add(socket);
      socket.on("close", () => instance.sockets.delete(socket));
    });
    return instance;
  }

  /** Stops listening and cuts every open connection (a backend killed mid-batch). */
  async kill(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** `await using`: the server is killed when the test's scope ends, however it ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill().catch(() => undefined);
  }

  private async handle(backend: TextBackend, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const path = req.url ?? "/";
    const stream = body.stream !== false && (path === "/api/chat" || path === "/api/generate" || (path === "/v1/chat/completions" && body.stream === true));
    this.requests.push({ path, stream, body });
    this.faults.onRequest?.(this.requests.length);
    if (this.faults.delayMs) await new Promise((resolve) => setTimeout(resolve, this.faults.delayMs));
    if (this.faults.status && this.faults.status.times > 0) {
      this.faults.status.times--;
      res.writeHead(this.faults.status.code, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: `injected ${this.faults.status.code}` }));
      return;
    }
    if (path.startsWith("/v1/") && this.faults.apiKey && req.headers.authorization !== `Bearer ${this.faults.apiKey}`) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "invalid api key" } }));
      return;
    }
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (req.method === "GET" && path === "/api/tags") return json(200, { models: [{ name: backend.model }] });
    if (req.method === "GET" && path === "/v1/models") return json(200, { data: [{ id: backend.model, object: "model" }] });
    if (path === "/api/embed" || path === "/v1/embeddings") {
      const input = body.input;
      const texts = Array.isArray(input) ? (input as string[]) : [String(input)];
      const result = await backend.embed(texts);
      const vectors = result.vectors.map((v) => Array.from(v));
      if (path === "/api/embed") return json(200, { model: body.model, embeddings: vectors, prompt_eval_count: result.usage.promptTokens });
      return json(200, { data: vectors.map((embedding, index) => ({ object: "embedding", embedding, index })), usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.promptTokens } });
    }
    const messages: ChatMessage[] =
      path === "/api/generate"
        ? [...(body.system ? [{ role: "system" as const, content: String(body.system) }] : []), { role: "user", content: String(body.prompt ?? "") }]
        : (body.messages as ChatMessage[]);
    const maxTokens = Number((body.options as { num_predict?: number } | undefined)?.num_predict ?? body.max_tokens ?? 64);
    const schema = path.startsWith("/api/") ? (body.format as Record<string, unknown> | undefined) : ((body.response_format as { json_schema?: { schema?: Record<string, unknown> } } | undefined)?.json_schema?.schema);
    if (path !== "/api/chat" && path !== "/api/generate" && path !== "/v1/chat/completions") return json(404, { error: `no route ${path}` });
    const pieces: string[] = [];
    const result = await backend.generate({ messages, maxTokens, ...(schema ? { jsonSchema: schema } : {}), onText: (chunk) => pieces.push(chunk) });
    if (pieces.length === 0) pieces.push(result.text);
    const usage = result.usage;
    if (!stream) {
      if (path === "/v1/chat/completions") {
        return json(200, { choices: [{ index: 0, message: { role: "assistant", content: result.text }, finish_reason: "stop" }], usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens } });
      }
      const done = { done: true, prompt_eval_count: usage.promptTokens, eval_count: usage.completionTokens };
      return json(200, path === "/api/chat" ? { message: { role: "assistant", content: result.text }, ...done } : { response: result.text, ...done });
    }
    const sse = path === "/v1/chat/completions";
    res.writeHead(200, { "content-type": sse ? "text/event-stream" : "application/x-ndjson" });
    const drop = (this.faults.dropMidStream ?? 0) > 0;
    if (drop) this.faults.dropMidStream = (this.faults.dropMidStream as number) - 1;
    for (const [i, piece] of pieces.entries()) {
      const chunk = sse
        ? `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`
        : `${JSON.stringify(path === "/api/chat" ? { message: { role: "assistant", content: piece }, done: false } : { response: piece, done: false })}\n`;
      res.write(chunk);
      if (drop && i === 0) {
        res.socket?.destroy();
        return;
      }
    }
    if (sse) res.end(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens } })}\n\ndata: [DONE]\n\n`);
    else res.end(`${JSON.stringify({ ...(path === "/api/chat" ? { message: { role: "assistant", content: "" } } : { response: "" }), done: true, prompt_eval_count: usage.promptTokens, eval_count: usage.completionTokens })}\n`);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
