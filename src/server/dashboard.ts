import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { SEARCH_MODES } from "../core/vocabulary.js";
import { isMemzipError } from "../errors.js";
import type { SearchHit } from "../search/search.js";
import type { ServerContext } from "./context.js";
import { DashboardData, DashboardQuery, dashboardData, namespacesFor } from "./dashboard-data.js";
import { DASHBOARD_CSP, DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./dashboard-page.js";
import { HttpError } from "./errors.js";
import type { RouteRegistry } from "./routes.js";

/** Characters of a memory a search hit shows (never the whole text of a long memory). */
export const PREVIEW_CHARS = 200;
const SEARCH_LIMIT = 50;

const SearchBody = z.object({
  query: z.string().trim().min(1).max(1000),
  namespace: z.string().min(1).max(128).optional().describe("one namespace of the key; each of the key's namespaces when absent"),
  limit: z.number().int().min(1).max(SEARCH_LIMIT).default(10),
  mode: z.enum(SEARCH_MODES).default("hybrid"),
});

const SearchAnswer = z.object({
  hits: z.array(z.object({ id: z.string(), namespace: z.string(), score: z.number(), preview: z.string(), truncated: z.boolean() })),
});

/** The first PREVIEW_CHARS code points of a text, and whether it was cut. */
function preview(text: string): { preview: string; truncated: boolean } {
  const points = Array.from(text.slice(0, PREVIEW_CHARS * 2));
  return points.length > PREVIEW_CHARS || text.length > PREVIEW_CHARS * 2 ? { preview: points.slice(0, PREVIEW_CHARS).join(""), truncated: true } : { preview: text, truncated: false };
}

/**
 * The dashboard: `GET /` is a public shell with no data (it asks for a key); the figures come from
 * `GET /v1/dashboard` and the search box from `POST /v1/dashboard/search`, both inside the key's scope.
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
      "Text vs stored vs on-disk sizes, codec mix, text and envelope bytes per creation day (at most 100,000 memories read), recent imports, cache hit rate and semantic cost. docs/DASHBOARD.md says how each is computed.",
    tag: "dashboard",
    role: "read",
    query: DashboardQuery,
    response: DashboardData,
    handler: async ({ query, scope }) => {
      if (!scope) throw new HttpError(401, "E_UNAUTHORIZED", "missing API key");
      return dashboardData(context.engine, scope, query.namespace, context.shutdown);
    },
  });

  registry.add(app, {
    method: "POST",
    path: "/v1/dashboard/search",
    summary: "the dashboard's search box: hits with a short preview, inside the key's namespaces",
    tag: "dashboard",
    role: "read",
    body: SearchBody,
    response: SearchAnswer,
    handler: async ({ body, scope }) => {
      if (!scope) throw new HttpError(401, "E_UNAUTHORIZED", "missing API key");
      const { engine } = context;
      const { selected } = await namespacesFor(engine, scope, body.namespace);
      const options = { limit: body.limit, mode: body.mode, signal: context.shutdown };
      // A "*" key searches the whole store at once; any other key once per namespace (a search takes
      // one namespace or all), so no hit of another namespace can come back.
      const hits: SearchHit[] = [];
      if (scope.namespaces === "*" && body.namespace === undefined) hits.push(...(await engine.searchMemories(body.query, options)));
      else for (const namespace of selected) hits.push(...(await engine.searchMemories(body.query, { ...options, namespace })));
      hits.sort((a, b) => b.score - a.score || b.similarity - a.similarity);
      const shown = await Promise.all(
        hits.slice(0, body.limit).map(async (hit) => {
          // A memory forgotten since the index was read is left out.
          const text = await engine.recall(hit.id, { namespace: hit.namespace }).catch((error: unknown) => {
            if (isMemzipError(error, "E_NOT_FOUND")) return undefined;
            throw error;
          });
          return text === undefined ? undefined : { id: hit.id, namespace: hit.namespace, score: hit.score, ...preview(text) };
        }),
      );
      return { hits: shown.filter((hit) => hit !== undefined) };
    },
  });
}
