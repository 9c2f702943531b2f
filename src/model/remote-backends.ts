import { MemzipError, ErrorCode } from "../errors.js";
import { TokenBucket, withRetry } from "../core/resilience.js";
import type { EmbedResult, GenerateRequest, GenerateResult, TextBackend, TokenUsage } from "./backend.js";
import { checkBackendUrl, checkResolvedHost, isLoopbackHost } from "./egress.js";
import { getJson, postJson, readJson, readLines } from "./http.js";

export interface RemoteBackendOptions {
  name: string;
  /** Base URL: `http://127.0.0.1:11434` (Ollama) or `https://api.example.com` (OpenAI-compatible, without `/v1`). */
  url: string;
  model: string;
  /** Model for `embed`; defaults to `model`. */
  embedModel?: string;
  /** Per request. Defaults to 60 s. */
  timeoutMs?: number;
  /** Retries of transient failures (exponential backoff, full jitter). Defaults to 2. */
  retries?: number;
  /** Requests per second (token bucket); `0`: unlimited. */
  rateLimit?: { perSecond: number; burst: number };
  /** Stream answers (NDJSON / SSE) instead of one body. Defaults to `true`. */
  stream?: boolean;
  /** Counted as running on this machine (an Ollama on localhost) for costs. Defaults to true for Ollama. */
  local?: boolean;
  /** Base delay of the retry backoff, ms (tests make it small). Defaults to 200. */
  retryDelayMs?: number;
  /**
   * Allow a link-local or cloud-metadata address (169.254.0.0/16, fe80::/10, metadata.google.internal...)
   * as the backend's host. Defaults to false: such URLs are refused, since memories sent there can leak.
   */
  allowLinkLocal?: boolean;
}

/** Rate limit and retries around every request of a remote backend. */
abstract class RemoteBackend implements TextBackend {
  abstract readonly kind: "ollama" | "openai";
  readonly name: string;
  readonly model: string;
  readonly local: boolean;
  protected readonly url: string;
  protected readonly timeoutMs: number;
  protected readonly stream: boolean;
  private readonly bucket: TokenBucket | undefined;
  /** Retries done so far (a counter for the router's report). */
  retries = 0;

  /** The URL as checked at construction (scheme, no metadata host). */
  protected readonly endpoint: URL;
  private hostChecked: Promise<void> | undefined;

  constructor(protected readonly options: RemoteBackendOptions, local: boolean) {
    this.name = options.name;
    this.model = options.model;
    this.endpoint = checkBackendUrl(options.url, { name: options.name, ...(options.allowLinkLocal ? { allowLinkLocal: true } : {}) });
    this.url = options.url.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.stream = options.stream ?? true;
    this.local = options.local ?? local;
    this.bucket = options.rateLimit && options.rateLimit.perSecond > 0 ? new TokenBucket(options.rateLimit.perSecond, Math.max(1, options.rateLimit.burst)) : undefined;
  }

  abstract generate(request: GenerateRequest): Promise<GenerateResult>;
  abstract embed(texts: readonly string[], signal?: AbortSignal): Promise<EmbedResult>;
  abstract health(signal?: AbortSignal): Promise<void>;

  protected call<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(
      async () => {
        // A host name is resolved once and refused if it points at a metadata or link-local address.
        this.hostChecked ??= checkResolvedHost(this.endpoint.hostname, { name: this.name, ...(this.options.allowLinkLocal ? { allowLinkLocal: true } : {}) });
        await this.hostChecked;
        await this.bucket?.take(signal);
        return work();
      },
      {
        retries: this.options.retries ?? 2,
        baseDelayMs: this.options.retryDelayMs ?? 200,
        ...(signal ? { signal } : {}),
        onRetry: () => {
          this.retries++;
        },
      },
    );
  }

  /** POSTs `{model, input}` to an embeddings route and checks that one vector came back per input. */
  protected postEmbeddings<T>(
    url: string,
    texts: readonly string[],
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    parse: (body: T) => { vectors: number[][] | undefined; promptTokens: number },
  ): Promise<EmbedResult> {
    return this.call(async () => {
      const response = await postJson(url, { model: this.options.embedModel ?? this.model, input: texts }, { timeoutMs: this.timeoutMs, headers, ...(signal ? { signal } : {}) });
      const { vectors, promptTokens } = parse((await readJson(response, url)) as T);
      if (!Array.isArray(vectors) || vectors.length !== texts.length) throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `${url} answered without one embedding per input`);
      return { vectors: vectors.map((v) => Float32Array.from(v)), usage: { promptTokens, completionTokens: 0 }, source: this.source };
    }, signal);
  }

  protected get source(): string {
    return `${this.name}/${this.model}`;
  }
}

interface OllamaChatChunk {
  message?: { content?: string };
  response?: string;
  done?: boolean;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
}

/** Ollama's native API: `/api/chat` (or `/api/generate` for a single prompt), `/api/embed`, `/api/tags`. */
export class OllamaBackend extends RemoteBackend {
  readonly kind = "ollama" as const;

  constructor(options: RemoteBackendOptions & { endpoint?: "chat" | "generate" }) {
    super(options, true);
  }

  generate(request: GenerateRequest): Promise<GenerateResult> {
    const started = performance.now();
    const endpoint = (this.options as { endpoint?: string }).endpoint ?? "chat";
    const options = { temperature: request.temperature ?? 0, num_predict: request.maxTokens };
    const body =
      endpoint === "chat"
        ? { model: this.model, messages: request.messages, stream: this.stream, options, ...(request.jsonSchema ? { format: request.jsonSchema } : {}) }
        : {
            model: this.model,
            prompt: request.messages.filter((m) => m.role !== "system").map((m) => m.content).join("\n\n"),
            system: request.messages.find((m) => m.role === "system")?.content,
            stream: this.stream,
            options,
            ...(request.jsonSchema ? { format: request.jsonSchema } : {}),
          };
    const url = `${this.url}/api/${endpoint}`;
    return this.call(async () => {
      const response = await postJson(url, body, { timeoutMs: this.timeoutMs, ...(request.signal ? { signal: request.signal } : {}) });
      let text = "";
      const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
      const take = (chunk: OllamaChatChunk) => {
        if (chunk.error) throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `${url}: ${chunk.error}`);
        const piece = chunk.message?.content ?? chunk.response ?? "";
        text += piece;
        if (piece) request.onText?.(piece);
        if (chunk.done) {
          usage.promptTokens = chunk.prompt_eval_count ?? 0;
          usage.completionTokens = chunk.eval_count ?? 0;
        }
        return chunk.done === true;
      };
      if (this.stream) {
        let done = false;
        for await (const line of readLines(response, url)) done = take(parseJsonLine<OllamaChatChunk>(line, url)) || done;
        if (!done) throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `${url} closed the stream before it was done`);
      } else {
        take((await readJson(response, url)) as OllamaChatChunk);
      }
      return { text, usage, source: this.source, ms: performance.now() - started };
    }, request.signal);
  }

  embed(texts: readonly string[], signal?: AbortSignal): Promise<EmbedResult> {
    return this.postEmbeddings(`${this.url}/api/embed`, texts, {}, signal, (body: { embeddings?: number[][]; prompt_eval_count?: number }) => ({
      vectors: body.embeddings,
      promptTokens: body.prompt_eval_count ?? 0,
    }));
  }

  async health(signal?: AbortSignal): Promise<void> {
    await getJson(`${this.url}/api/tags`, { timeoutMs: Math.min(this.timeoutMs, 5000), ...(signal ? { signal } : {}) });
  }
}

interface OpenAiChunk {
  choices?: { message?: { content?: string | null }; delta?: { content?: string | null } }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

/** An OpenAI-compatible API: `/v1/chat/completions`, `/v1/embeddings`, `/v1/models`; the key comes from the environment. */
export class OpenAiBackend extends RemoteBackend {
  readonly kind = "openai" as const;
  private readonly headers: Record<string, string>;

  /**
   * `apiKeyEnv` names the environment variable holding the key; without it no key is sent (there
   * is no implicit OPENAI_API_KEY). A key is only sent to an https:// URL or to this machine
   * (loopback): a keyed backend at a plain http:// address elsewhere is refused (E_USAGE).
   */
  constructor(options: RemoteBackendOptions & { apiKeyEnv?: string }, env: NodeJS.ProcessEnv = process.env) {
    super(options, false);
    const key = options.apiKeyEnv === undefined ? undefined : env[options.apiKeyEnv];
    if (key && this.endpoint.protocol !== "https:" && !isLoopbackHost(this.endpoint.hostname)) {
      throw new MemzipError(ErrorCode.USAGE, `backend ${options.name}: refusing to send the API key from ${options.apiKeyEnv} over plain http to ${this.endpoint.host}`, {
        hint: "Use the server's https:// URL (or a server on this machine), or drop apiKeyEnv if it needs no key.",
        details: { url: this.endpoint.origin },
      });
    }
    this.headers = key ? { authorization: `Bearer ${key}` } : {};
  }

  generate(request: GenerateRequest): Promise<GenerateResult> {
    const started = performance.now();
    const url = `${this.url}/v1/chat/completions`;
    const body = {
      model: this.model,
      messages: request.messages,
      max_tokens: request.maxTokens,
      temperature: request.temperature ?? 0,
      stream: this.stream,
      ...(this.stream ? { stream_options: { include_usage: true } } : {}),
      ...(request.jsonSchema ? { response_format: { type: "json_schema", json_schema: { name: "memzip", schema: request.jsonSchema, strict: true } } } : {}),
    };
    return this.call(async () => {
      const response = await postJson(url, body, { timeoutMs: this.timeoutMs, headers: this.headers, ...(request.signal ? { signal: request.signal } : {}) });
      let text = "";
      const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
      const take = (chunk: OpenAiChunk) => {
        const choice = chunk.choices?.[0];
        const piece = choice?.delta?.content ?? choice?.message?.content ?? "";
        text += piece;
        if (piece) request.onText?.(piece);
        if (chunk.usage) {
          usage.promptTokens = chunk.usage.prompt_tokens ?? 0;
          usage.completionTokens = chunk.usage.completion_tokens ?? 0;
        }
      };
      if (this.stream) {
        let done = false;
        for await (const line of readLines(response, url)) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") {
            done = true;
            break;
          }
          take(parseJsonLine<OpenAiChunk>(data, url));
        }
        if (!done) throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `${url} closed the stream before [DONE]`);
      } else {
        take((await readJson(response, url)) as OpenAiChunk);
      }
      return { text, usage, source: this.source, ms: performance.now() - started };
    }, request.signal);
  }

  embed(texts: readonly string[], signal?: AbortSignal): Promise<EmbedResult> {
    return this.postEmbeddings(`${this.url}/v1/embeddings`, texts, this.headers, signal, (body: { data?: { embedding: number[]; index: number }[]; usage?: { prompt_tokens?: number } }) => ({
      vectors: body.data && [...body.data].sort((a, b) => a.index - b.index).map((d) => d.embedding),
      promptTokens: body.usage?.prompt_tokens ?? 0,
    }));
  }

  async health(signal?: AbortSignal): Promise<void> {
    await getJson(`${this.url}/v1/models`, { timeoutMs: Math.min(this.timeoutMs, 5000), headers: this.headers, ...(signal ? { signal } : {}) });
  }
}

function parseJsonLine<T>(line: string, url: string): T {
  try {
    return JSON.parse(line) as T;
  } catch (cause) {
    throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `${url} streamed a line that is not JSON: ${line.slice(0, 80)}`, { cause });
  }
}
