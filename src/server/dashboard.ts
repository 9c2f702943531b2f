import type { FastifyInstance } from "fastify";
import type { ServerContext } from "./context.js";
import { DashboardData, DashboardQuery, dashboardData } from "./dashboard-data.js";
import { DASHBOARD_CSP, DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./dashboard-page.js";
import type { RouteRegistry } from "./routes.js";
import { scopeOf } from "./scope.js";

/**
 * The dashboard: `GET /` is a public shell with no data (it asks for a key); the figures come from
 * `GET /v1/dashboard`, inside the key's scope; the search box calls `POST /v1/search` (search.ts).
 */
export function registerDashboardRoutes(app: FastifyInstance, registry: RouteRegistry, context: ServerContext): void {
  const shell = (path: string, type: string, body: string) =>
    app.get(path, { config: { role: "public" } }, async (_request, reply) =>
      reply
        .header("content-type", type)
        .header("content-security-policy", DASHBOARD_CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("cache-control", "no-cache")
        .send(body),
    );
  shell("/", "text/html; charset=utf-8", DASHBOARD_HTML);
  shell("/dashboard/app.js", "text/javascript; charset=utf-8", DASHBOARD_JS);
  shell("/dashboard/app.css", "text/css; charset=utf-8", DASHBOARD_CSS);

  registry.add(app, {
    method: "GET",
    path: "/v1/dashboard",
    summary: "the dashboard's figures for the key's namespaces",
    description:
      "Text vs stored vs on-disk sizes, codec mix, text and envelope bytes per creation day (at most 10,000 memories read), recent imports, cache hit rate and semantic cost. docs/DASHBOARD.md says how each is computed.",
    tag: "dashboard",
    role: "read",
    query: DashboardQuery,
    response: DashboardData,
    handler: async ({ query, scope }) => dashboardData(context.engine, scopeOf(scope), query.namespace, context.shutdown),
  });
}
