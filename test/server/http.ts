/** Helpers of the server tests: a server on loopback over a temp SQLite file, keys, SSE reading. */
import { join } from "node:path";
import { Writable } from "node:stream";
import { Engine } from "../../src/engine.js";
import type { EngineOptions } from "../../src/engine-options.js";
import { createServer, type MemzipServer, type ServerOptions } from "../../src/server/app.js";

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
