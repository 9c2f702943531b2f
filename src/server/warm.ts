/**
 * Predictive cache warming: after the server listens, in the background, it decodes the memories
 * most likely to be recalled first into the engine's cache: the most often recalled ones of the
 * previous run (counted from this server's own traffic, kept beside the store on shutdown), then
 * the newest. Decoding the first memory of a namespace loads its active snapshots and derived
 * model state too. Bounded in count and time, cancelled by shutdown; it never fails the server.
 */
import type { FastifyInstance } from "fastify";
import type { Engine } from "../engine.js";
import type { ServerContext } from "./context.js";

const COUNTS_FILE = "recall-counts.json";
/** Distinct memories whose recalls are counted (the least recalled are dropped past it). */
const TRACKED = 10_000;

export interface WarmReport {
  decoded: number;
  failed: number;
  ms: number;
  stopped: "done" | "count" | "time" | "shutdown";
}

/** Recall counts per memory from this server's own traffic, bounded; no text, ids only in memory and in the derived folder. */
export class RecallCounts {
  private readonly counts = new Map<string, { namespace: string; id: string; count: number }>();

  record(namespace: string, id: string): void {
    const key = `${namespace}\u0000${id}`;
    const entry = this.counts.get(key);
    if (entry) {
      entry.count++;
      return;
    }
    if (this.counts.size >= TRACKED) this.dropHalf();
    this.counts.set(key, { namespace, id, count: 1 });
  }

  /** The `limit` most recalled, most first. */
  top(limit: number): { namespace: string; id: string; count: number }[] {
    return [...this.counts.values()].sort((a, b) => b.count - a.count).slice(0, limit);
  }

  load(entries: unknown): void {
    if (!Array.isArray(entries)) return;
    for (const entry of entries.slice(0, TRACKED)) {
      const { namespace, id, count } = (entry ?? {}) as { namespace?: unknown; id?: unknown; count?: unknown };
      if (typeof namespace === "string" && typeof id === "string" && typeof count === "number" && count > 0) {
        this.counts.set(`${namespace}\u0000${id}`, { namespace, id, count: Math.floor(count) });
      }
    }
  }

  private dropHalf(): void {
    const keep = this.top(TRACKED / 2);
    this.counts.clear();
    for (const entry of keep) this.counts.set(`${entry.namespace}\u0000${entry.id}`, entry);
  }
}

/** Decodes up to `count` memories into the cache: the most recalled first, then the newest; stops at `timeMs` or `signal`. */
export async function warmCache(engine: Engine, options: { count: number; timeMs: number; signal: AbortSignal; counts?: RecallCounts }): Promise<WarmReport> {
  const started = performance.now();
  const report: WarmReport = { decoded: 0, failed: 0, ms: 0, stopped: "done" };
  const seen = new Set<string>();
  const stop = (): WarmReport["stopped"] | undefined => {
    if (options.signal.aborted) return "shutdown";
    if (report.decoded >= options.count) return "count";
    if (performance.now() - started > options.timeMs) return "time";
    return undefined;
  };
  const decode = async (namespace: string, id: string): Promise<boolean> => {
    const reason = stop();
    if (reason) {
      report.stopped = reason;
      return false;
    }
    const key = `${namespace}\u0000${id}`;
    if (seen.has(key)) return true;
    seen.add(key);
    try {
      await engine.recallBytes(id, namespace);
      report.decoded++;
    } catch {
      report.failed++; // forgotten since it was counted, or unreadable: a recall will say why
    }
    return true;
  };
  warm: {
    for (const { namespace, id } of options.counts?.top(options.count) ?? []) if (!(await decode(namespace, id))) break warm;
    if (stop()) break warm;
    const total = (await engine.stats()).memories;
    const newest = await engine.list({ offset: Math.max(0, total - options.count), limit: options.count }, { skipDamaged: true });
    for (let i = newest.length - 1; i >= 0; i--) {
      const memory = newest[i] as (typeof newest)[number];
      if (!(await decode(memory.namespace, memory.id))) break warm;
    }
  }
  report.stopped = stop() ?? report.stopped;
  if (report.stopped === "count" && report.decoded < options.count) report.stopped = "done";
  report.ms = Math.round(performance.now() - started);
  return report;
}

/**
 * Counts recalls (`GET /v1/memories/:id` answered 200), warms the cache once the server listens
 * (when `context.warm` > 0), and keeps the counts beside the store on close for the next start.
 */
export function registerWarming(app: FastifyInstance, context: ServerContext): void {
  const { engine } = context;
  const counts = new RecallCounts();
  const file = engine.derived?.open(COUNTS_FILE);
  if (file) {
    try {
      const bytes = new Uint8Array(Math.min(file.size, 4 << 20));
      file.read(bytes, 0);
      counts.load(JSON.parse(new TextDecoder().decode(bytes)));
    } catch {
      // A damaged counts file only costs the warming its order.
    } finally {
      file.close();
    }
  }
  app.addHook("onResponse", async (request, reply) => {
    // A 304 is a reader of the memory too (its client revalidated a copy it holds).
    if (request.method !== "GET" || (reply.statusCode !== 200 && reply.statusCode !== 304) || request.routeOptions.url !== "/v1/memories/:id") return;
    const id = (request.params as { id?: unknown }).id;
    const named = (request.query as { namespace?: unknown }).namespace;
    const scope = request.scope;
    const namespace = typeof named === "string" ? named : scope && scope.namespaces !== "*" && scope.namespaces.length === 1 ? scope.namespaces[0] : undefined;
    if (typeof id === "string" && namespace !== undefined) counts.record(namespace, id);
  });
  let warming: Promise<void> | undefined;
  let searchWarming: Promise<void> | undefined;
  app.addHook("onListen", async () => {
    if (context.warmSearch && !searchWarming) {
      // In the background: searches are answered meanwhile (between two terms read ahead); stopped by shutdown (the engine closes the thread).
      searchWarming = engine.warmSearch({ signal: context.shutdown }).then(
        (report) => {
          // Stopped by shutdown part way: not "warmed".
          if (context.shutdown.aborted) return;
          app.log.info({ searchWarm: report }, "search warmed");
          context.onSearchWarmed?.(report);
        },
        (error: unknown) => {
          if (!context.shutdown.aborted) app.log.warn({ err: error }, "search warming stopped");
        },
      );
    }
    if (context.warm <= 0 || warming) return;
    warming = warmCache(engine, { count: context.warm, timeMs: context.warmMs, signal: context.shutdown, counts }).then(
      (report) => app.log.info({ warm: report }, "cache warmed"),
      (error: unknown) => app.log.warn({ err: error }, "cache warming stopped"),
    );
  });
  app.addHook("onClose", async () => {
    await warming;
    const top = counts.top(TRACKED / 2);
    if (top.length > 0) engine.derived?.write(COUNTS_FILE, () => [new TextEncoder().encode(JSON.stringify(top))]);
  });
}
