/**
 * A throwaway `redis-server` for tests: loopback, a port probed at run time, no persistence, data
 * in a temporary folder. Missing binary: the test fails under CI and is skipped (naming the Debian
 * package) elsewhere, as the team rules say.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnBounded } from "../helpers.js";
import { freePort } from "./ports.js";

const BINARY = "redis-server";

/** `false` when redis-server can be run; else why the test is skipped. Under CI a missing binary is a failure, never a skip. */
export function redisSkip(): string | false {
  const found = spawnBounded(BINARY, ["--version"], { stdio: "ignore" }).status === 0;
  if (found) return false;
  if (process.env.CI) throw new Error(`${BINARY} is not installed; CI must install the Debian package redis-server (.ci/run)`);
  return `${BINARY} not installed (Debian package redis-server); skipped outside CI`;
}

export interface RedisService {
  url: `redis://${string}`;
  port: number;
  /** Stops the server (SIGTERM, SIGKILL after 10 s); safe to call twice. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop`). */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** SIGKILL, then the exit (a killed process always exits). */
async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await exited;
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`redis-server not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${String(code)}) before it was ready:\n${output}`));
    });
  });
}

/**
 * Starts a throwaway Redis and resolves when it accepts connections. A cache wants an LRU policy;
 * a queue wants `noeviction` (BullMQ's jobs must never be evicted; see docs/SCALE.md).
 */
export async function startRedis(
  options: {
    evictionPolicy?: "allkeys-lru" | "volatile-lru" | "noeviction";
    /** Tests of this helper only: another program in redis-server's place, and how long to wait for it. */
    binary?: string;
    readyTimeoutMs?: number;
  } = {},
): Promise<RedisService> {
  const dir = mkdtempSync(join(tmpdir(), "memzip-redis-"));
  let port = 0;
  let child: ChildProcess | undefined;
  // A test process that ends without stopping its server (a failed `before`, an uncaught error) kills it too.
  const killNow = () => void child?.kill("SIGKILL");
  process.once("exit", killNow);
  const launch = async () => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--maxmemory", "128mb", "--maxmemory-policy", options.evictionPolicy ?? "allkeys-lru"];
    const started = spawn(options.binary ?? BINARY, args, { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await waitForReady(started, options.readyTimeoutMs ?? 60_000);
    } catch (error) {
      // A server that was not ready in time is killed: left running, its pipe would keep this process alive for ever.
      await killAndWait(started);
      throw error;
    }
    child = started;
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGTERM");
    const timer = setTimeout(() => running.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  // A probed port can be taken before Redis binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      if (attempt >= 3) {
        process.removeListener("exit", killNow);
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    // The port lies outside the ephemeral range (ports.ts), so only a listener could have taken it meanwhile: a few tries.
    async start() {
      for (let attempt = 0; ; attempt++) {
        try {
          return await launch();
        } catch (error) {
          if (attempt >= 3) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    },
    async [Symbol.asyncDispose]() {
      await stop();
      process.removeListener("exit", killNow);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
