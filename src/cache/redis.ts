import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { createRequire } from "node:module";
import type * as IoRedis from "ioredis";
import { CACHE_DEFAULTS, type AsyncCache, type CacheStats } from "./cache.js";

type Redis = IoRedis.Redis;

/** ioredis loads only when a Redis tier is configured (every CLI command pays for what it imports). */
function loadRedis(): typeof IoRedis.Redis {
  return (createRequire(import.meta.url)("ioredis") as typeof IoRedis).Redis;
}

export interface RedisCacheOptions {
  /** Put before every key, so stores sharing one Redis never read each other's entries (`redisPrefixFor`). */
  prefix: string;
  /** The largest value cached; a larger one is not written (Redis's `maxmemory` bounds the total). Defaults to 1 MiB. */
  maxEntryBytes?: number;
  /** Milliseconds an entry lives in Redis (`PX`); `0` keeps it until Redis evicts it. Defaults to the cache default (2 h). */
  ttlMs?: number;
  /** How long one command may take before it counts as a failure. Defaults to 250 ms. */
  commandTimeoutMs?: number;
}

/**
 * The key prefix of one store: a hash of where it lives. A connection string (Postgres) is the
 * same for every server sharing that store, so they share entries; a file path is qualified by
 * the host name, since the same path on two machines is two stores; an in-memory store gets a
 * fresh prefix, shared with nobody.
 */
export function redisPrefixFor(location: string): string {
  const identity = location === ":memory:" ? `memory:${randomUUID()}` : location.includes("://") ? location : `file:${hostname()}:${resolve(location)}`;
  return `memzip:${createHash("sha256").update(identity).digest("hex").slice(0, 16)}:`;
}

/**
 * The shared cache tier on Redis. Commands time out fast and are never queued while the server is
 * away (`enableOfflineQueue: false`, one retry): memzip keeps working on its in-process tier and
 * counts the failures; the client reconnects in the background and the tier comes back by itself.
 */
export class RedisCache implements AsyncCache {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly maxEntryBytes: number;
  private readonly ttlMs: number;
  private readonly counters = { hits: 0, misses: 0, evictions: 0, expirations: 0, failures: 0 };
  /** Entries and bytes this process wrote (Redis's own total is bounded by its `maxmemory`). */
  private written = { entries: 0, bytes: 0 };

  constructor(url: string, options: RedisCacheOptions) {
    this.prefix = options.prefix;
    this.maxEntryBytes = options.maxEntryBytes ?? 1 << 20;
    this.ttlMs = options.ttlMs ?? CACHE_DEFAULTS.ttlMs;
    const timeout = options.commandTimeoutMs ?? 250;
    const RedisClient = loadRedis();
    this.client = new RedisClient(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: timeout,
      connectTimeout: Math.max(1000, timeout * 4),
      // Reconnect forever, at most every 2 s: the tier comes back when Redis does.
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
      lazyConnect: false,
    });
    // Connection errors surface as failed commands (counted); the event itself must not crash the process.
    this.client.on("error", () => undefined);
    // Commands wait for the first connection (bounded by the connect timeout), so a process that
    // has just started does not count failures; after it, an absent server fails commands at once.
    const client = this.client;
    this.firstConnect = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        client.off("ready", done);
        client.off("error", done);
        this.firstConnect = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(1000, timeout * 4));
      client.once("ready", done);
      client.once("error", done);
      this.endFirstConnect = done;
    });
  }

  private firstConnect: Promise<void> | undefined;
  /** Ends the wait for the first connection (close: its timer must not keep the process alive). */
  private endFirstConnect: (() => void) | undefined;

  /** Resolves when the connection is up (tests and benches; the cache works without waiting). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.client.status !== "ready") {
      if (Date.now() > deadline) throw new Error(`Redis not ready after ${timeoutMs} ms (status ${this.client.status})`);
      await new Promise((done) => setTimeout(done, 20));
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      if (this.firstConnect) await this.firstConnect;
      const value = await this.client.getBuffer(this.prefix + key);
      if (value === null) {
        this.counters.misses++;
        return undefined;
      }
      this.counters.hits++;
      return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    } catch {
      this.counters.failures++;
      this.counters.misses++;
      return undefined;
    }
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    try {
      if (this.firstConnect) await this.firstConnect;
      if (value.length > this.maxEntryBytes) {
        await this.client.del(this.prefix + key);
        return;
      }
      const buffer = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (this.ttlMs > 0) await this.client.set(this.prefix + key, buffer, "PX", this.ttlMs);
      else await this.client.set(this.prefix + key, buffer);
      this.written = { entries: this.written.entries + 1, bytes: this.written.bytes + value.length };
    } catch {
      this.counters.failures++;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      if (this.firstConnect) await this.firstConnect;
      await this.client.del(this.prefix + key);
    } catch {
      this.counters.failures++;
    }
  }

  async clear(): Promise<void> {
    try {
      if (this.firstConnect) await this.firstConnect;
      let cursor = "0";
      do {
        const [next, keys] = await this.client.scan(cursor, "MATCH", `${this.prefix}*`, "COUNT", 500);
        if (keys.length) await this.client.del(...keys);
        cursor = next;
      } while (cursor !== "0");
      this.written = { entries: 0, bytes: 0 };
    } catch {
      this.counters.failures++;
    }
  }

  stats(): CacheStats {
    return { ...this.counters, ...this.written };
  }

  async close(): Promise<void> {
    this.endFirstConnect?.();
    this.client.disconnect();
  }
}
