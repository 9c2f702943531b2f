import type { Engine, KeyScope } from "../engine.js";
import type { SearchWarmReport } from "../search/search.js";
import type { WriteGate } from "./write-gate.js";

/** Bounds on what one request may send or ask for (413 / 400 beyond them). */
export interface ServerLimits {
  /** Bytes of a JSON request body. */
  bodyBytes: number;
  /** Bytes of an uploaded import (JSONL or Arrow), streamed. */
  uploadBytes: number;
  /** Bytes of one memory's text. */
  textBytes: number;
  /** Memories in one batch write. */
  batchItems: number;
  /** Most results a list, search or related call returns. */
  pageItems: number;
  /** Requests per second per key (token bucket; 0 turns it off), and the burst. */
  ratePerSecond: number;
  rateBurst: number;
  /**
   * Milliseconds a whole request (headers and body) may take to arrive, else 408 and the connection closes: fastify's
   * default is none, so a body trickled a byte at a time held its connection for ever (trial56). Ten minutes carry the
   * largest upload at ~1 MB/s; an answer (an import's progress stream) is not bounded by it.
   */
  requestMs: number;
  /** Write requests coded at once (503 with Retry-After beyond: the queue of writes stays bounded). */
  writesInFlight: number;
}

export const SERVER_LIMITS: ServerLimits = {
  bodyBytes: 8 << 20,
  uploadBytes: 512 << 20,
  textBytes: 1 << 20,
  batchItems: 1000,
  pageItems: 1000,
  ratePerSecond: 200,
  rateBurst: 400,
  writesInFlight: 64,
  requestMs: 600_000,
};

/** What every route module gets: the one engine, the limits, and the server's own settings. */
export interface ServerContext {
  engine: Engine;
  limits: ServerLimits;
  /** Admits write requests (at most `limits.writesInFlight` at once). */
  writes: WriteGate;
  /** Origins allowed by CORS; empty means CORS is off (no Access-Control headers at all). */
  corsOrigins: readonly string[];
  /** Aborted when the server starts shutting down (long streams end early). */
  shutdown: AbortSignal;
  /** `GET /metrics` needs no key (it needs an admin key otherwise). */
  metricsPublic: boolean;
  /** Memories decoded into the cache after listening (0: no warming), and the time bound of it. */
  warm: number;
  warmMs: number;
  /** Warm search after listening (`Engine.warmSearch`), then tell `onSearchWarmed`. */
  warmSearch: boolean;
  onSearchWarmed?: (report: SearchWarmReport | undefined) => void;
  /** The Redis of the store's import queue (`serve --queue`): JSONL imports go to the worker fleet. */
  queue: string | undefined;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated key's scope (routes with role "public" have none). */
    scope: KeyScope | undefined;
  }
  interface FastifyContextConfig {
    /** The least role a route needs, or "public" for no key at all. */
    role?: "public" | "read" | "write" | "admin";
  }
}
