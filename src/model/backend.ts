/** What every text-generation and embedding backend offers: embedded llama, Ollama, OpenAI-compatible. */
import type { BackendKind } from "../core/vocabulary.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface GenerateRequest {
  messages: ChatMessage[];
  /** Most tokens to generate. */
  maxTokens: number;
  /** 0 for deterministic output (the default). */
  temperature?: number;
  /** Constrain the output to JSON matching this schema, where the backend supports it. */
  jsonSchema?: Record<string, unknown>;
  /** Receives text as it streams in (streaming mode); without it the backend may answer in one piece. */
  onText?: (chunk: string) => void;
  signal?: AbortSignal;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface GenerateResult {
  text: string;
  usage: TokenUsage;
  /** `backend/model` that answered. */
  source: string;
  ms: number;
}

export interface EmbedResult {
  vectors: Float32Array[];
  usage: TokenUsage;
  source: string;
}

export type { BackendKind };

export interface TextBackend {
  /** Unique name in the router (config key). */
  readonly name: string;
  readonly kind: BackendKind;
  readonly model: string;
  /** Runs on this machine (costed per GPU-hour or kWh) rather than per token. */
  readonly local: boolean;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<EmbedResult>;
  /** A cheap request that proves the backend answers. */
  health(signal?: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

/** Turns texts into vectors whose cosine says how alike they are. */
export interface Embedder {
  /** Names the embedder in reports (`ngram-256`, `llama:<model>`). */
  readonly name: string;
  readonly dimensions: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}
