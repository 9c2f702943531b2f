import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { ErrorCode, MemzipError, isMemzipError } from "../../src/errors.js";
import { isTransient, TokenBucket, withRetry, withTimeout } from "../../src/core/resilience.js";

describe("token bucket", () => {
  it("allows a burst, then refills at the rate", async () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    for (let i = 0; i < 3; i++) await bucket.take();
    assert.ok(bucket.available() < 1);
    now += 250; // 2.5 tokens
    assert.ok(Math.abs(bucket.available() - 2.5) < 1e-9);
    now += 10_000;
    assert.equal(bucket.available(), 3, "never more than the burst");
  });

  it("makes callers wait their turn on the real clock", async () => {
    const bucket = new TokenBucket(50, 1);
    const started = performance.now();
    for (let i = 0; i < 6; i++) await bucket.take();
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 90, `5 tokens at 50/s took ${elapsed.toFixed(0)} ms`);
  });
});

describe("retries", () => {
  it("retries transient errors with exponential backoff and full jitter, then gives up", async () => {
    const delays: number[] = [];
    let attempts = 0;
    await assert.rejects(
      withRetry(
        async () => {
          attempts++;
          throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, "503");
        },
        { retries: 4, baseDelayMs: 4, maxDelayMs: 20, random: () => 0.999, onRetry: (_, __, delay) => delays.push(delay) },
      ),
      /503/,
    );
    assert.equal(attempts, 5);
    assert.deepEqual(delays, [3, 7, 15, 19], "base·2^attempt, capped, scaled by the jitter draw");
  });

  it("does not retry what a retry cannot cure, and returns the first success", async () => {
    let attempts = 0;
    await assert.rejects(
      withRetry(
        async () => {
          attempts++;
          throw new MemzipError(ErrorCode.USAGE, "bad request");
        },
        { retries: 5, baseDelayMs: 1 },
      ),
    );
    assert.equal(attempts, 1);
    const value = await withRetry(async (attempt) => {
      if (attempt < 2) throw Object.assign(new Error("reset"), { code: "ECONNRESET" });
      return attempt;
    }, { retries: 3, baseDelayMs: 1 });
    assert.equal(value, 2);
    assert.equal(isTransient(new MemzipError(ErrorCode.TIMEOUT, "slow")), true);
    assert.equal(isTransient(new Error("plain")), false);
  });
});

describe("timeouts", () => {
  it("rejects with E_TIMEOUT and aborts the work's signal; 0 means no deadline", async () => {
    let aborted = false;
    await assert.rejects(
      withTimeout(20, (signal) => new Promise((resolve) => {
        signal.addEventListener("abort", () => {
          aborted = true;
          resolve("late");
        });
      }), "a slow call"),
      (e: unknown) => isMemzipError(e) && e.code === ErrorCode.TIMEOUT && /a slow call took longer than 20 ms/.test(e.message),
    );
    assert.ok(aborted);
    assert.equal(await withTimeout(0, async () => "done", "fast"), "done");
    const outer = new AbortController();
    let sawOuter = false;
    const pending = withTimeout(0, (signal) => new Promise<string>((resolve) => signal.addEventListener("abort", () => { sawOuter = true; resolve("stopped"); })), "cancellable", outer.signal);
    outer.abort();
    assert.equal(await pending, "stopped");
    assert.ok(sawOuter);
  });
});
