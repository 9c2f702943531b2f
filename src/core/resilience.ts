import { setTimeout as sleep } from "node:timers/promises";
import { MemzipError, ErrorCode } from "../errors.js";

/**
 * A token bucket: `perSecond` tokens refill continuously up to `burst`; `take()` waits for one.
 * One bucket per backend keeps a batch within a remote API's rate limit.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError("a token bucket needs perSecond > 0 and burst >= 1");
    this.tokens = burst;
    this.last = now();
  }

  /** Resolves when a token is available (callers are served in order); rejects if `signal` aborts first. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        this.refill();
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000), undefined, signal ? { signal } : {});
      }
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Tokens available now (for metrics and tests). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }
}

export interface RetryOptions {
  /** Attempts after the first. */
  retries: number;
  /** Delay before the first retry; doubles each time. Defaults to 200 ms. */
  baseDelayMs?: number;
  /** Longest delay between attempts. Defaults to 10 s. */
  maxDelayMs?: number;
  /** Whether an error is worth another attempt. Defaults to `isTransient`. */
  retryable?: (error: unknown) => boolean;
  signal?: AbortSignal;
  /** Called before each retry, for logs and counters. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Source of randomness for the jitter, for tests. Defaults to `Math.random`. */
  random?: () => number;
}

/**
 * Calls `work` until it succeeds or the retries run out, sleeping between attempts with exponential
 * backoff and full jitter (a random delay in [0, base·2^attempt], capped) so many clients that
 * failed together do not retry together.
 */
export async function withRetry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 10_000;
  const retryable = options.retryable ?? isTransient;
  const random = options.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= options.retries || !retryable(error) || options.signal?.aborted) throw error;
      const delay = Math.floor(random() * Math.min(cap, base * 2 ** attempt));
      options.onRetry?.(error, attempt + 1, delay);
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
    }
  }
}

/** Errors a retry can cure: timeouts, dropped connections, 429 and 5xx answers. */
export function isTransient(error: unknown): boolean {
  if (error instanceof MemzipError) return error.code === ErrorCode.TIMEOUT || error.code === ErrorCode.BACKEND_UNAVAILABLE;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "UND_ERR_SOCKET", "EAI_AGAIN"].includes(code);
}

/**
 * Runs `work` with a deadline: after `ms` the signal it receives aborts and the call rejects with
 * `E_TIMEOUT`. `ms = 0` means no deadline. An outer `signal` cancels it too.
 */
export async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>, what: string, signal?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const onOuter = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    if (ms <= 0) return await work(controller.signal);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new MemzipError(ErrorCode.TIMEOUT, `${what} took longer than ${ms} ms`, {
          hint: "Raise itemTimeoutMs (config) or use a faster profile; the memory falls back to a classical codec meanwhile.",
        });
        // Reject before aborting: work that settles on abort must not win the race.
        reject(error);
        controller.abort(error);
      }, ms);
    });
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onOuter);
  }
}
