import type { Llama, LlamaContext, LlamaEmbeddingContext, LlamaModel } from "node-llama-cpp";
import { MemzipError, ErrorCode } from "../errors.js";
import type { EmbedResult, GenerateRequest, GenerateResult, TextBackend } from "./backend.js";
import { llamaRuntime } from "./llama.js";
import { withNativeLock } from "./native-lock.js";

export interface LlamaBackendOptions {
  name?: string;
  /** GGUF path. */
  path: string;
  gpu?: "auto" | false;
  threads?: number;
  contextSize?: number;
}

/**
 * Text generation in-process with a GGUF model: the chat template embedded in the file (node-llama-cpp
 * picks the matching wrapper, or a general one when the file has none), JSON-schema output through a
 * grammar, a fresh sequence per request so answers do not depend on each other. Requests run one
 * at a time; embeddings come from a separate embedding context.
 */
export class LlamaBackend implements TextBackend {
  readonly kind = "llama" as const;
  readonly local = true;
  readonly name: string;
  readonly model: string;
  private queue: Promise<unknown> = Promise.resolve();
  private embeddingContext: Promise<LlamaEmbeddingContext> | undefined;

  private constructor(
    private readonly llama: Llama,
    private readonly loaded: LlamaModel,
    private readonly context: LlamaContext,
    private readonly options: LlamaBackendOptions,
  ) {
    this.name = options.name ?? "llama";
    this.model = loaded.fileInfo.metadata.general?.name ?? options.path.split("/").pop() ?? options.path;
  }

  static async load(options: LlamaBackendOptions): Promise<LlamaBackend> {
    const llama = await llamaRuntime(options.gpu ?? "auto");
    let model: LlamaModel;
    try {
      model = await withNativeLock(() => llama.loadModel({ modelPath: options.path }));
    } catch (cause) {
      throw new MemzipError(ErrorCode.MISSING_MODEL, `cannot load ${options.path}: ${(cause as Error).message}`, {
        hint: "Check that the file is a GGUF model readable by node-llama-cpp 3.21.1.",
        cause,
      });
    }
    const context = await withNativeLock(() => model.createContext({ contextSize: Math.min(options.contextSize ?? 2048, model.trainContextSize), threads: options.threads ?? 1, sequences: 1 }));
    return new LlamaBackend(llama, model, context, options);
  }

  generate(request: GenerateRequest): Promise<GenerateResult> {
    const run = this.queue.then(async () => {
      const started = performance.now();
      const { LlamaChatSession } = await import("node-llama-cpp");
      const sequence = this.context.getSequence();
      try {
        const system = request.messages.filter((m) => m.role === "system").map((m) => m.content).join("\n");
        const user = request.messages.filter((m) => m.role !== "system").map((m) => m.content).join("\n\n");
        // An empty system prompt, not node-llama-cpp's default one, when the request brings none.
        const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt: system });
        const grammar = request.jsonSchema ? await this.llama.createGrammarForJsonSchema(request.jsonSchema as never) : undefined;
        const before = sequence.tokenMeter.getState();
        const text = await session.prompt(user, {
          maxTokens: request.maxTokens,
          temperature: request.temperature ?? 0,
          ...(grammar ? { grammar } : {}),
          ...(request.onText ? { onTextChunk: request.onText } : {}),
          ...(request.signal ? { signal: request.signal, stopOnAbortSignal: false } : {}),
        });
        const after = sequence.tokenMeter.getState();
        session.dispose({ disposeSequence: false });
        return {
          text,
          usage: { promptTokens: after.usedInputTokens - before.usedInputTokens, completionTokens: after.usedOutputTokens - before.usedOutputTokens },
          source: `${this.name}/${this.model}`,
          ms: performance.now() - started,
        };
      } finally {
        await sequence.dispose();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  embed(texts: readonly string[]): Promise<EmbedResult> {
    const run = this.queue.then(async () => {
      this.embeddingContext ??= withNativeLock(() => this.loaded.createEmbeddingContext({ contextSize: Math.min(512, this.loaded.trainContextSize), threads: this.options.threads ?? 1 }));
      const context = await this.embeddingContext;
      const limit = Math.min(512, this.loaded.trainContextSize) - 2;
      const vectors: Float32Array[] = [];
      let promptTokens = 0;
      for (const text of texts) {
        const tokens = this.loaded.tokenize(text, false).slice(0, limit);
        promptTokens += tokens.length;
        vectors.push(Float32Array.from((await context.getEmbeddingFor(tokens)).vector));
      }
      return { vectors, usage: { promptTokens, completionTokens: 0 }, source: `${this.name}/${this.model}` };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  health(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.queue;
    const embeddingContext = await this.embeddingContext?.catch(() => undefined);
    await withNativeLock(async () => {
      await embeddingContext?.dispose();
      await this.context.dispose();
      await this.loaded.dispose();
    });
  }
}
