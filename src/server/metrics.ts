/**
 * `GET /metrics` in the Prometheus text format, from a registry of the server's own (never
 * prom-client's global one). Labels are route patterns, methods and statuses: never an id, a key,
 * a namespace or any text.
 */
import type { FastifyInstance } from "fastify";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { z } from "zod";
import { loadedLlamas } from "../model/llama.js";
import type { ServerContext } from "./context.js";
import type { RouteRegistry } from "./routes.js";
import { HttpError } from "./errors.js";
import { scopeOf } from "./scope.js";

/** The route pattern a request matched (`/v1/memories/:id`), or "unmatched": never the URL itself. */
function routeOf(url: string | undefined): string {
  return url ?? "unmatched";
}

export function registerMetricsRoutes(app: FastifyInstance, registry: RouteRegistry, context: ServerContext): void {
  const { engine } = context;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: "memzip_" });

  const requests = new Counter({ name: "memzip_http_requests_total", help: "HTTP requests answered, by route pattern, method and status", labelNames: ["route", "method", "status"], registers: [metrics] });
  const latency = new Histogram({
    name: "memzip_http_request_duration_seconds",
    help: "time to answer a request, by route pattern and method",
    labelNames: ["route", "method"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [metrics],
  });
  const bytesIn = new Counter({ name: "memzip_http_request_bytes_total", help: "request body bytes (Content-Length), by route pattern", labelNames: ["route"], registers: [metrics] });
  const bytesOut = new Counter({ name: "memzip_http_response_bytes_total", help: "response body bytes with a Content-Length, by route pattern", labelNames: ["route"], registers: [metrics] });

  app.addHook("onResponse", async (request, reply) => {
    const route = routeOf(request.routeOptions.url);
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    const received = Number(request.headers["content-length"]);
    if (received > 0) bytesIn.inc({ route }, received);
    const sent = Number(reply.getHeader("content-length"));
    if (sent > 0) bytesOut.inc({ route }, sent);
  });

  // Engine counters since the engine opened, read at each scrape.
  new Gauge({
    name: "memzip_engine_events",
    help: "engine counters since the process started (memoriesStored, originalBytes, storedBytes, llmAttempts, llmTimeouts, verifyFailures, …)",
    labelNames: ["counter"],
    registers: [metrics],
    collect() {
      this.reset();
      for (const [counter, value] of Object.entries(engine.metricsSnapshot())) this.set({ counter }, value);
    },
  });
  new Gauge({
    name: "memzip_compression_ratio",
    help: "original bytes over stored bytes of what this process wrote (0 before the first write)",
    registers: [metrics],
    collect() {
      const counters = engine.metricsSnapshot();
      this.set(counters.storedBytes > 0 ? counters.originalBytes / counters.storedBytes : 0);
    },
  });
  new Gauge({
    name: "memzip_cache",
    help: "the decoded-text cache: hits, misses, evictions, expirations, entries, bytes",
    labelNames: ["stat"],
    registers: [metrics],
    collect() {
      for (const [stat, value] of Object.entries(engine.cacheStats())) this.set({ stat }, value);
    },
  });
  new Gauge({
    name: "memzip_semantic_cost",
    help: "semantic features: total cost, local cost, its cloud equivalent and the savings (in the configured price unit)",
    labelNames: ["part"],
    registers: [metrics],
    async collect() {
      this.reset();
      const costs = await engine.semanticCosts().catch(() => undefined);
      if (!costs) return;
      this.set({ part: "total" }, costs.total);
      this.set({ part: "local" }, costs.local.cost);
      this.set({ part: "cloud_equivalent" }, costs.local.cloudEquivalent);
      this.set({ part: "local_savings" }, costs.local.savings);
    },
  });
  // GPU memory only from a node-llama-cpp instance already loaded by real work: a scrape never loads one.
  new Gauge({
    name: "memzip_vram_bytes",
    help: "GPU memory node-llama-cpp reports (total, used), by backend; absent until a model ran on a GPU",
    labelNames: ["backend", "state"],
    registers: [metrics],
    async collect() {
      this.reset();
      for (const llama of loadedLlamas()) {
        if (llama.gpu === false) continue;
        const vram = await llama.getVramState().catch(() => undefined);
        if (!vram) continue;
        this.set({ backend: llama.gpu, state: "total" }, vram.total);
        this.set({ backend: llama.gpu, state: "used" }, vram.used);
      }
    },
  });

  registry.add(app, {
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics: requests, latencies, bytes, ratio, cache, engine counters, semantic cost, VRAM, process CPU and memory",
    description:
      "Needs an admin key for every namespace (*) unless the server runs with metrics public (`memzip serve --metrics-public`): the figures are the whole server's, every namespace's requests and sizes.",
    tag: "operations",
    role: context.metricsPublic ? "public" : "admin",
    response: z.string().describe("Prometheus text format"),
    streams: true,
    contentType: "text/plain; version=0.0.4",
    handler: async ({ reply, scope }) => {
      if (!context.metricsPublic && scopeOf(scope).namespaces !== "*") {
        throw new HttpError(403, "E_FORBIDDEN", "GET /metrics counts every namespace's requests and sizes: this key is for some namespaces only", "Use an admin key for every namespace (`memzip keys create --namespace '*' --role admin`), or serve with --metrics-public.");
      }
      const text = await metrics.metrics();
      return reply.code(200).type(metrics.contentType).send(text);
    },
  });
}
