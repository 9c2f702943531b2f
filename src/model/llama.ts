import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import type { RewindablePredictor } from "../codec/llm-mix.js";
import type { TopTokens } from "../codec/token-frequencies.js";
import { MemzipError, ErrorCode } from "../errors.js";
import { withNativeLock } from "./native-lock.js";

/** How node-llama-cpp runs: hardware and parallelism. None of these change the numbers on CPU. */
export interface LlamaRuntimeOptions {
  /** `auto` uses the GPU node-llama-cpp detects (CUDA, Vulkan, Metal); `false` forces the CPU. */
  gpu: "auto" | false;
  /** Threads per context. Always explicit: node-llama-cpp's default oversubscribes small machines. */
  threads: number;
  /** Independent contexts, so that this many memories are coded at once. */
  contexts: number;
  /** Model layers on the GPU (`auto` lets node-llama-cpp fit them into VRAM). */
  gpuLayers: number | "auto";
}

export const LLAMA_RUNTIME_DEFAULTS: LlamaRuntimeOptions = { gpu: "auto", threads: 1, contexts: 1, gpuLayers: "auto" };

const runtimes = new Map<string, Promise<Llama>>();
/** The instances that finished loading (metrics read them; nothing loads one just to be observed). */
const loaded = new Set<Llama>();

/** node-llama-cpp instances this thread has already loaded (none until a model was used). */
export function loadedLlamas(): Llama[] {
  return [...loaded];
}

/** One node-llama-cpp instance per GPU choice, loaded on first use (the import itself takes ~0.3 s). */
export function llamaRuntime(gpu: "auto" | false): Promise<Llama> {
  const key = String(gpu);
  let runtime = runtimes.get(key);
  if (!runtime) {
    runtime = import("node-llama-cpp").then(
      ({ getLlama, LlamaLogLevel }) => withNativeLock(() => getLlama({ gpu, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false })),
      (cause: unknown) => {
        throw new MemzipError(ErrorCode.DEPENDENCY, "node-llama-cpp is not installed, so the llm codec is unavailable", {
          hint: "Run `npm install node-llama-cpp@3.21.1` (it installs prebuilt binaries, no compiler needed).",
          cause,
        });
      },
    );
    runtimes.set(key, runtime);
    runtime.then((llama) => loaded.add(llama), () => undefined);
  }
  return runtime;
}

/**
 * Disposes every node-llama-cpp instance this thread loaded. A model worker thread calls it
 * before it ends: native work still pending when a thread exits aborts the whole process.
 */
export async function disposeLlamaRuntimes(): Promise<void> {
  const pending = [...runtimes.values()];
  runtimes.clear();
  loaded.clear();
  for (const runtime of pending) {
    const llama = await runtime.catch(() => undefined);
    if (llama) await withNativeLock(() => llama.dispose());
  }
}

/** The installed node-llama-cpp version, part of every engine fingerprint. */
export async function nodeLlamaCppVersion(): Promise<string> {
  const { getModuleVersion } = await import("node-llama-cpp");
  return getModuleVersion();
}

const descriptions = new WeakMap<Llama, Promise<string>>();

/**
 * What decides an evaluation's numbers apart from the model: library versions, backend and the
 * CPU kernels ggml picked (the feature list of this CPU) or the GPU. Two engines with the same
 * description give bit-identical distributions. Read once per runtime, under the native lock:
 * `systemInfo` is llama.cpp's `llama_print_system_info`, which builds its answer in one static
 * string for the whole process, so two threads reading it at once corrupt the heap (reproduced:
 * "double free or corruption" in 3 of 9 runs of two threads reading it in a loop). Two model
 * threads loading the same small model used to reach it together.
 */
export function describeEngine(llama: Llama): Promise<string> {
  let described = descriptions.get(llama);
  if (!described) {
    described = withNativeLock(() => describeUnlocked(llama));
    descriptions.set(llama, described);
    described.catch(() => descriptions.delete(llama));
  }
  return described;
}

async function describeUnlocked(llama: Llama): Promise<string> {
  const backend = llama.gpu === false ? "cpu" : llama.gpu;
  const devices = llama.gpu === false ? [] : await llama.getGpuDeviceNames();
  const kernels = llama.systemInfo.replace(/\s+/g, " ").trim();
  return [
    `node-llama-cpp ${await nodeLlamaCppVersion()}`,
    `llama.cpp ${llama.llamaCppRelease.release}`,
    `backend ${backend}${devices.length ? ` (${devices.join(", ")})` : ""}`,
    `build ${llama.buildType}`,
    kernels,
  ].join("; ");
}

/**
 * A loaded GGUF model with a pool of single-sequence contexts. Every context is created the same
 * way (the window's size, flash attention off), and evaluation is one token per call, the canonical
 * mode in which encoder and decoder see bit-identical distributions.
 */
export class LlamaTokenModel {
  private readonly idle = new Map<number, LlamaContextSequence[]>();
  private readonly created = new Map<number, number>();
  private readonly waiting = new Map<number, ((sequence: LlamaContextSequence) => void)[]>();
  private readonly contexts: LlamaContext[] = [];
  private pieces: { pieces: (Uint8Array | null)[]; fallback: boolean[] } | undefined;

  private constructor(
    readonly model: LlamaModel,
    readonly engine: string,
    readonly vocabularySize: number,
    readonly trainContextSize: number,
    private readonly options: LlamaRuntimeOptions,
  ) {}

  static async load(path: string, options: LlamaRuntimeOptions): Promise<LlamaTokenModel> {
    const llama = await llamaRuntime(options.gpu);
    let model: LlamaModel;
    try {
      model = await withNativeLock(() => llama.loadModel({ modelPath: path, gpuLayers: llama.gpu === false ? 0 : options.gpuLayers }));
    } catch (cause) {
      throw new MemzipError(ErrorCode.MISSING_MODEL, `cannot load the model ${path}: ${(cause as Error).message}`, {
        hint: "Check that the file is a whole GGUF model readable by node-llama-cpp 3.21.1 (a truncated or damaged download registers but does not load: download it again, then `memzip models add PATH`).",
        cause,
        details: { path },
      });
    }
    const tokens = model.fileInfo.metadata.tokenizer?.ggml?.tokens;
    const vocabularySize = Array.isArray(tokens) ? tokens.length : 0;
    if (vocabularySize < 2) throw new MemzipError(ErrorCode.MISSING_MODEL, `${path} has no tokenizer vocabulary`, { hint: "Use a GGUF with an embedded tokenizer." });
    return new LlamaTokenModel(model, await describeEngine(llama), vocabularySize, model.trainContextSize, options);
  }

  get bosToken(): number {
    const bos = this.model.tokens.bos;
    if (bos === null) throw new MemzipError(ErrorCode.MISSING_MODEL, "the model has no BOS token", { hint: "Use a model whose tokenizer defines BOS." });
    return bos;
  }

  /** The text's tokens, or `null` when detokenizing them would not give back the same text. */
  tokenize(text: string): number[] | null {
    const tokens = this.model.tokenize(text, false) as number[];
    return this.model.detokenize(tokens as never) === text ? tokens : null;
  }

  /** The text's tokens, whether or not they detokenize to it exactly (for priming text). */
  tokenizeLoose(text: string): number[] {
    return this.model.tokenize(text, false) as number[];
  }

  detokenize(tokens: readonly number[]): string {
    return this.model.detokenize(tokens as never);
  }

  /**
   * Each token's bytes as the text spells them (for the mixing coder, src/codec/llm-mix.ts), and
   * which are byte-fallback tokens; `null` for control tokens. SentencePiece vocabularies
   * (`tokenizer.ggml.model` = "llama": "▁" is a space, `<0xNN>` one byte) are read from the GGUF's
   * token list; others from detokenizing each token alone (a token that is not valid UTF-8 alone
   * gets `null`, so a text that needs it is declined).
   */
  tokenPieces(): { pieces: (Uint8Array | null)[]; fallback: boolean[] } {
    if (this.pieces) return this.pieces;
    const ggml = this.model.fileInfo.metadata.tokenizer?.ggml as { model?: string; tokens?: readonly string[]; token_type?: readonly number[] } | undefined;
    const tokens = ggml?.tokens ?? [];
    const types = ggml?.token_type ?? [];
    const pieces: (Uint8Array | null)[] = [];
    const fallback: boolean[] = [];
    for (let id = 0; id < this.vocabularySize; id++) {
      const type = types[id] ?? 1;
      const piece = tokens[id] ?? "";
      const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
      fallback.push(type === 6);
      if (type === 2 || type === 3 || type === 5) pieces.push(null);
      else if (ggml?.model === "llama") pieces.push(type === 6 && byte ? Uint8Array.of(parseInt(byte[1] as string, 16)) : Buffer.from(piece.replace(/\u2581/g, " "), "utf8"));
      else {
        const text = this.model.detokenize([id as never]);
        pieces.push(text === "" || text.includes("\ufffd") ? null : Buffer.from(text, "utf8"));
      }
    }
    this.pieces = { pieces, fallback };
    return this.pieces;
  }

  /** Runs `work` with a predictor of its own; waits while every context of that size is busy. */
  async withPredictor<T>(windowTokens: number, topK: number, work: (predictor: RewindablePredictor) => Promise<T>): Promise<T> {
    const sequence = await this.acquire(windowTokens);
    try {
      return await work(new SequencePredictor(sequence, topK));
    } finally {
      this.release(windowTokens, sequence);
    }
  }

  async dispose(): Promise<void> {
    await withNativeLock(async () => {
      for (const context of this.contexts) await context.dispose();
      await this.model.dispose();
    });
  }

  private async acquire(windowTokens: number): Promise<LlamaContextSequence> {
    const idle = this.idle.get(windowTokens);
    if (idle?.length) return idle.pop() as LlamaContextSequence;
    const created = this.created.get(windowTokens) ?? 0;
    if (created < this.options.contexts) {
      this.created.set(windowTokens, created + 1);
      const context = await withNativeLock(() =>
        this.model.createContext({
          contextSize: windowTokens,
          batchSize: windowTokens,
          sequences: 1,
          threads: this.options.threads,
          flashAttention: false,
        }),
      );
      this.contexts.push(context);
      return context.getSequence();
    }
    return new Promise((resolve) => {
      const queue = this.waiting.get(windowTokens) ?? [];
      queue.push(resolve);
      this.waiting.set(windowTokens, queue);
    });
  }

  private release(windowTokens: number, sequence: LlamaContextSequence): void {
    const next = this.waiting.get(windowTokens)?.shift();
    if (next) next(sequence);
    else this.idle.set(windowTokens, [...(this.idle.get(windowTokens) ?? []), sequence]);
  }
}

class SequencePredictor implements RewindablePredictor {
  private readonly next: { probabilities: true; options?: { temperature: number; topK: number; topP: number; minP: number } };

  constructor(
    private readonly sequence: LlamaContextSequence,
    topK: number,
  ) {
    this.next = topK > 0 ? { probabilities: true, options: { temperature: 1, topK, topP: 1, minP: 0 } } : { probabilities: true };
  }

  async reset(): Promise<void> {
    await this.sequence.clearHistory();
  }

  async unfeed(): Promise<void> {
    const end = this.sequence.nextTokenIndex;
    if (end === 0) throw new Error("no token to take back");
    await this.sequence.eraseContextTokenRanges([{ start: end - 1, end }]);
  }

  async feed(token: number, predict: boolean): Promise<TopTokens | null> {
    const [output] = await this.sequence.controlledEvaluate([predict ? [token as never, { generateNext: this.next }] : (token as never)]);
    if (!predict) return null;
    const probabilities = output?.next?.probabilities;
    if (!probabilities) throw new Error("node-llama-cpp returned no probabilities");
    const tokens = new Int32Array(probabilities.size);
    const values = new Float64Array(probabilities.size);
    let i = 0;
    for (const [id, p] of probabilities) {
      tokens[i] = id as number;
      values[i++] = p;
    }
    return { tokens, probabilities: values };
  }
}
