import { MemzipError, ErrorCode } from "../errors.js";
import type { EmbedResult, GenerateRequest, GenerateResult, TextBackend } from "./backend.js";

/** What a memory is, for routing: short prose, long prose, or code. */
export type RouteKind = "short" | "long" | "code";

export interface RouterOptions {
  /** `local-first` tries backends on this machine first, remote ones as fallback; `cloud-first` the reverse; a name pins one. */
  order?: "local-first" | "cloud-first" | { pinned: string };
  /** Backend names per kind of memory, tried in this order before the rest. */
  routes?: Partial<Record<RouteKind, string[]>>;
  /** Consecutive failures that open a backend's circuit. Defaults to 3. */
  failuresToOpen?: number;
  /** How long an open circuit refuses calls before one trial call. Defaults to 30 s. */
  cooldownMs?: number;
  /** Characters from which a text counts as long. Defaults to 2000. */
  longChars?: number;
  now?: () => number;
}

/** Closed: calls flow. Open: calls are refused until the cooldown passes. Half-open: one trial decides. */
export class CircuitBreaker {
  state: "closed" | "open" | "half-open" = "closed";
  private failures = 0;
  private openedAt = 0;

  constructor(
    private readonly failuresToOpen: number,
    private readonly cooldownMs: number,
    private readonly now: () => number,
  ) {}

  allows(): boolean {
    if (this.state === "open" && this.now() - this.openedAt >= this.cooldownMs) this.state = "half-open";
    return this.state !== "open";
  }

  success(): void {
    this.state = "closed";
    this.failures = 0;
  }

  failure(): void {
    this.failures++;
    if (this.state === "half-open" || this.failures >= this.failuresToOpen) {
      this.state = "open";
      this.openedAt = this.now();
    }
  }
}

export interface BackendStats {
  calls: number;
  failures: number;
  /** Calls this backend took over after another failed or was open. */
  fallbacksTaken: number;
  promptTokens: number;
  completionTokens: number;
  /** Wall time spent in this backend's calls (the basis of local costs). */
  ms: number;
  circuit: CircuitBreaker["state"];
}

export interface RouterEvent {
  at: number;
  backend: string;
  kind: "failure" | "fallback" | "circuit-open" | "skipped-open";
  message: string;
}

/**
 * Picks a backend per call by the kind of memory and the profile's order, skips backends whose
 * circuit is open, and falls through to the next on failure. Every failure and fallback is
 * counted and kept (the last 200) for logs; when all fail the call throws `E_BACKEND_UNAVAILABLE`.
 */
export class ModelRouter {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly counters = new Map<string, Omit<BackendStats, "circuit">>();
  readonly events: RouterEvent[] = [];
  /** Calls that did not land on their first choice. */
  fallbacks = 0;
  private readonly now: () => number;

  constructor(
    readonly backends: readonly TextBackend[],
    private readonly options: RouterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    const names = new Set<string>();
    for (const backend of backends) {
      if (names.has(backend.name)) throw new MemzipError(ErrorCode.USAGE, `two backends are named "${backend.name}"`, { hint: "Give each backend a unique name." });
      names.add(backend.name);
      this.breakers.set(backend.name, new CircuitBreaker(options.failuresToOpen ?? 3, options.cooldownMs ?? 30_000, this.now));
      this.counters.set(backend.name, { calls: 0, failures: 0, fallbacksTaken: 0, promptTokens: 0, completionTokens: 0, ms: 0 });
    }
    const order = options.order;
    if (typeof order === "object" && !names.has(order.pinned)) {
      throw new MemzipError(ErrorCode.USAGE, `the pinned backend "${order.pinned}" is not configured`, { hint: `Configured: ${[...names].join(", ") || "none"}.` });
    }
  }

  /** Short prose, long prose or code, from the memory's kind and text. */
  classify(text: string, kind?: string): RouteKind {
    if (kind === "code" || looksLikeCode(text)) return "code";
    return text.length >= (this.options.longChars ?? 2000) ? "long" : "short";
  }

  /** Backends in the order a call of this kind tries them. */
  candidates(route: RouteKind): TextBackend[] {
    const order = this.options.order ?? "local-first";
    if (typeof order === "object") return this.backends.filter((b) => b.name === order.pinned);
    const ranked = [...this.backends].sort((a, b) => (order === "local-first" ? Number(b.local) - Number(a.local) : Number(a.local) - Number(b.local)));
    const preferred = (this.options.routes?.[route] ?? []).flatMap((name) => ranked.filter((b) => b.name === name));
    return [...preferred, ...ranked.filter((b) => !preferred.includes(b))];
  }

  generate(request: GenerateRequest, route: RouteKind): Promise<GenerateResult> {
    return this.attempt(route, (backend) => backend.generate(request), (backend, result) => this.record(backend, result.usage.promptTokens, result.usage.completionTokens, result.ms));
  }

  embed(texts: readonly string[], route: RouteKind = "short", signal?: AbortSignal): Promise<EmbedResult> {
    const started = performance.now();
    return this.attempt(route, (backend) => backend.embed(texts, signal), (backend, result) => this.record(backend, result.usage.promptTokens, 0, performance.now() - started));
  }

  /** Asks every backend for a cheap answer; a healthy one closes its circuit, a failing one counts a failure. */
  async health(): Promise<{ name: string; ok: boolean; ms: number; error?: string }[]> {
    return Promise.all(
      this.backends.map(async (backend) => {
        const started = performance.now();
        try {
          await backend.health();
          this.breakers.get(backend.name)?.success();
          return { name: backend.name, ok: true, ms: performance.now() - started };
        } catch (error) {
          this.breakers.get(backend.name)?.failure();
          return { name: backend.name, ok: false, ms: performance.now() - started, error: (error as Error).message };
        }
      }),
    );
  }

  stats(): Record<string, BackendStats> {
    return Object.fromEntries([...this.counters].map(([name, c]) => [name, { ...c, circuit: (this.breakers.get(name) as CircuitBreaker).state }]));
  }

  private async attempt<T>(route: RouteKind, call: (backend: TextBackend) => Promise<T>, onSuccess: (backend: TextBackend, result: T) => void): Promise<T> {
    const errors: string[] = [];
    let tried = 0;
    for (const backend of this.candidates(route)) {
      const breaker = this.breakers.get(backend.name) as CircuitBreaker;
      if (!breaker.allows()) {
        this.log(backend.name, "skipped-open", "circuit open");
        errors.push(`${backend.name}: circuit open`);
        continue;
      }
      const counters = this.counters.get(backend.name) as Omit<BackendStats, "circuit">;
      counters.calls++;
      if (tried > 0 || errors.length > 0) {
        counters.fallbacksTaken++;
        this.fallbacks++;
        this.log(backend.name, "fallback", `took over after: ${errors.join("; ")}`);
      }
      tried++;
      try {
        const result = await call(backend);
        breaker.success();
        onSuccess(backend, result);
        return result;
      } catch (error) {
        counters.failures++;
        const wasOpen = breaker.state;
        breaker.failure();
        const message = (error as Error).message;
        errors.push(`${backend.name}: ${message}`);
        this.log(backend.name, "failure", message);
        if (wasOpen !== "open" && breaker.state === "open") this.log(backend.name, "circuit-open", `open for ${this.options.cooldownMs ?? 30_000} ms`);
      }
    }
    throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `no model backend could answer (${errors.join("; ") || "none configured"})`, {
      hint: "Start a backend (ollama serve) or fix its URL; meanwhile memories are stored exactly without semantic features.",
    });
  }

  private record(backend: TextBackend, promptTokens: number, completionTokens: number, ms: number): void {
    const counters = this.counters.get(backend.name) as Omit<BackendStats, "circuit">;
    counters.promptTokens += promptTokens;
    counters.completionTokens += completionTokens;
    counters.ms += ms;
  }

  private log(backend: string, kind: RouterEvent["kind"], message: string): void {
    this.events.push({ at: this.now(), backend, kind, message });
    if (this.events.length > 200) this.events.shift();
  }
}

/** Braces, semicolons, keywords and indentation that prose rarely has. */
function looksLikeCode(text: string): boolean {
  const lines = text.split("\n");
  if (lines.length < 2) return false;
  const codeLines = lines.filter((line) => /[{};]\s*$|^\s*(def|class|function|const|let|var|import|return|if|for|while|#include|public|private)\b|=>|\(\)\s*[{:]/.test(line)).length;
  return codeLines / lines.length >= 0.3;
}
