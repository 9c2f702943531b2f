/** Helpers of the server tests: a server on loopback over a temp SQLite file, keys, SSE reading. */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Engine } from "../../src/engine.js";
import type { EngineOptions } from "../../src/engine-options.js";
import { createServer, type MemzipServer, type ServerOptions } from "../../src/server/app.js";
import { CLI } from "../helpers.js";

export interface Running {
  engine: Engine;
  server: MemzipServer;
  url: string;
  db: string;
  /** Every log line the server wrote. */
  logs: string[];
}

export async function startServer(dir: string, options: Partial<ServerOptions> = {}, engineOptions: EngineOptions = {}, name = "store.db"): Promise<Running> {
  const db = join(dir, name);
  const engine = Engine.open({ db, ...engineOptions });
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const server = await createServer({ engine, logLevel: "info", logStream, ...options });
  const url = await server.listen("127.0.0.1", 0);
  return { engine, server, url, db, logs };
}

export const bearer = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...extra });

export interface SseEvent {
  event: string;
  data: unknown;
}

/** Reads Server-Sent Events until the stream ends (the server ends it after the job's last event). */
export async function readEvents(response: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const text = await response.text();
  for (const block of text.split("\n\n")) {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) as unknown });
  }
  return events;
}

/** Polls `check` until it returns a value (generous bound: a loaded machine), then returns it. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, what: string, boundMs = 60_000): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A `memzip serve` process (the real CLI) and the URL it printed. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Spawns `memzip serve ARGS` and resolves once it prints `listening on` (60 s bound, for a broken start). */
export function spawnServe(args: string[], env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, "serve", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // Killed: left running, its pipes would keep the test process alive.
      child.kill("SIGKILL");
      reject(new Error(`memzip serve printed no "listening on" in 60 s:\n${stderr}`));
    }, 60_000);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] as string, stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`memzip serve exited with ${code} before listening:\n${stderr}`));
    });
  });
}
