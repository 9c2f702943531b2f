import { HttpError } from "./errors.js";

/**
 * Bounds the write requests a server codes at once. Coding runs on worker threads while the event
 * loop answers reads, so writes could otherwise pile up without limit (each holding its body);
 * one over the bound is refused at once with 503 and `Retry-After`, never queued.
 */
export class WriteGate {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Write requests being coded or committed now. */
  get inFlight(): number {
    return this.active;
  }

  /** Runs `work` as one write in flight, or throws 503 E_BUSY when `limit` are already. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      throw new HttpError(
        503,
        "E_BUSY",
        `the server is coding ${this.active} writes, the most it takes at once`,
        "Retry after the Retry-After seconds; send many memories per request (POST /v1/memories:batch), or raise the server's limit (memzip serve --max-writes).",
        { "retry-after": "1" },
      );
    }
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      if (this.active === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  /** Resolves once no write is in flight (at once when none is): a closing server waits here before it closes the store. */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
