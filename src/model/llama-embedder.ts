import type { LlamaEmbeddingContext, LlamaModel } from "node-llama-cpp";
import { MemzipError, ErrorCode } from "../errors.js";
import type { Embedder } from "./backend.js";
import { llamaRuntime } from "./llama.js";
import { withNativeLock } from "./native-lock.js";

/**
 * Embeddings from a GGUF model through node-llama-cpp (mean-pooled hidden states). Texts longer
 * than the context are cut to it. One context, one thread by default; calls are serialised.
 */
export class LlamaEmbedder implements Embedder {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly name: string,
    readonly dimensions: number,
    private readonly model: LlamaModel,
    private readonly context: LlamaEmbeddingContext,
    private readonly contextSize: number,
  ) {}

  static async load(path: string, options: { gpu?: "auto" | false; threads?: number; contextSize?: number } = {}): Promise<LlamaEmbedder> {
    const llama = await llamaRuntime(options.gpu ?? "auto");
    let model: LlamaModel;
    try {
      model = await withNativeLock(() => llama.loadModel({ modelPath: path }));
    } catch (cause) {
      throw new MemzipError(ErrorCode.MISSING_MODEL, `cannot load the embedding model ${path}: ${(cause as Error).message}`, {
        hint: "Check that the file is a GGUF model readable by node-llama-cpp 3.21.1.",
        cause,
      });
    }
    const contextSize = Math.min(options.contextSize ?? 512, model.trainContextSize);
    const context = await withNativeLock(() => model.createEmbeddingContext({ contextSize, threads: options.threads ?? 1 }));
    const probe = await context.getEmbeddingFor("probe");
    const name = `llama:${model.fileInfo.metadata.general?.name ?? path.split("/").pop() ?? path}`;
    return new LlamaEmbedder(name, probe.vector.length, model, context, contextSize);
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    const run = this.queue.then(async () => {
      const vectors: Float32Array[] = [];
      for (const text of texts) {
        const tokens = this.model.tokenize(text, false).slice(0, this.contextSize - 2);
        const embedding = await this.context.getEmbeddingFor(tokens);
        vectors.push(Float32Array.from(embedding.vector));
      }
      return vectors;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await withNativeLock(async () => {
      await this.context.dispose();
      await this.model.dispose();
    });
  }
}
