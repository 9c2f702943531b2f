import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { MemoryFilterSchema, MemoryFilterTextShape, queryInteger, toMemoryFilter } from "../core/filter.js";
import { SEARCH_MODES } from "../core/vocabulary.js";
import { countUnreadable, type SearchHit } from "../search/search.js";
import { answerHits, UnreadableHitSchema } from "./hit-texts.js";
import type { ServerContext } from "./context.js";
import { namespaceNotFound, locateMemory, onMemory, readNamespaces, scopeOf, targetNamespace } from "./scope.js";
import { MemoryId, Namespace } from "./memories.js";
import type { RouteRegistry } from "./routes.js";

/** Characters of a hit's preview: enough to judge it, never a whole long text. */
export const PREVIEW_CHARS = 200;

const Hit = z.object({
  id: z.string(),
  namespace: z.string(),
  score: z.number().describe("RRF score: higher is better"),
  preview: z.string().describe(`the first ${PREVIEW_CHARS} characters of the text`),
  truncated: z.boolean().describe("the text is longer than the preview"),
  unreadable: UnreadableHitSchema,
});
const Hits = z.object({ hits: z.array(Hit) });
const SearchHits = Hits.extend({
  unsearchable: z.number().int().describe("memories of the searched namespaces left out because their text cannot be read now (tried again later); `memzip verify` or an admin key's `POST /v1/verify` names them"),
});

const Sizes = z.object({
  namespace: z.string().nullable().describe("null: the whole store"),
  memories: z.number().int(),
  expired: z.number().int().describe("of memories, those past their expiry that compact has not deleted yet: no read returns them, their bytes still count"),
  originalBytes: z.number().int(),
  envelopeBytes: z.number().int(),
  assetBytes: z.number().int(),
  storedBytes: z.number().int().describe("envelopes plus the assets they need: everything needed to rebuild the memories"),
  ratio: z.number(),
  bitsPerByte: z.number(),
  byCodec: z.record(z.string(), z.object({ memories: z.number().int(), originalBytes: z.number().int(), storedBytes: z.number().int() })),
});

/**
 * The first PREVIEW_CHARS characters (code points, as `Array.from` counts them: a surrogate pair is
 * one, a lone surrogate one too; so no emoji is cut in half). Walks the text once, no array.
 */
export function preview(text: string): { preview: string; truncated: boolean } {
  // Code points never outnumber UTF-16 units.
  if (text.length <= PREVIEW_CHARS) return { preview: text, truncated: false };
  let end = 0;
  for (let points = 0; points < PREVIEW_CHARS && end < text.length; points++) {
    const unit = text.charCodeAt(end);
    end += unit >= 0xd800 && unit <= 0xdbff && end + 1 < text.length && (text.charCodeAt(end + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return end < text.length ? { preview: text.slice(0, end), truncated: true } : { preview: text, truncated: false };
}

/** Search, related, stats and verify: each answers for the key's namespaces only. */
export function registerSearchRoutes(app: FastifyInstance, registry: RouteRegistry, context: ServerContext): void {
  const { engine, limits } = context;

  // A hit whose memory was deleted (or expired) between the ranking and its preview is left out (the search raced the delete).
  // The texts come from one batch read of the hits' rows.
  const withPreviews = async (hits: SearchHit[]) => ({
    hits: await answerHits(
      engine,
      hits,
      (hit, text) => ({ id: hit.id, namespace: hit.namespace, score: hit.score, ...preview(text) }),
      (hit, unreadable) => ({ id: hit.id, namespace: hit.namespace, score: hit.score, preview: "", truncated: false, unreadable }),
    ),
  });

  registry.add(app, {
    method: "POST",
    path: "/v1/search",
    summary: "search memories by meaning and keywords",
    description:
      "A key with several namespaces searches each of them and merges the hits by score; never another namespace. The filter fields (kind, tags, anyTags, created and updated ranges, meta) are applied before ranking.",
    tag: "search",
    role: "read",
    body: MemoryFilterSchema.extend({
      query: z.string().min(1).max(4096),
      namespace: Namespace.optional(),
      limit: z.number().int().min(1).max(limits.pageItems).default(10),
      mode: z.enum(SEARCH_MODES).default("hybrid"),
    }).strict(),
    response: SearchHits,
    handler: async ({ body, scope }) => {
      const namespaces = readNamespaces(scopeOf(scope), body.namespace);
      const filter = toMemoryFilter(body);
      // The key's namespaces are admitted before ranking: one ranking over all of them, nothing outside.
      const hits = await engine.searchMemories(body.query, {
        limit: body.limit,
        mode: body.mode,
        signal: context.shutdown,
        ...(namespaces === undefined ? {} : { namespaces }),
        ...(Object.keys(filter).length > 0 ? { filter } : {}),
      });
      const unsearchable = countUnreadable(await engine.unsearchable(namespaces === undefined ? {} : { namespaces }));
      return { ...(await withPreviews(hits)), unsearchable };
    },
  });

  registry.add(app, {
    method: "GET",
    path: "/v1/memories/:id/related",
    summary: "memories most like this one (of its namespace)",
    tag: "search",
    role: "read",
    params: z.object({ id: MemoryId }).strict(),
    query: z.object({ namespace: Namespace.optional(), limit: queryInteger(1, limits.pageItems).default(10), ...MemoryFilterTextShape }).strict(),
    response: Hits,
    handler: async ({ params, query, scope }) => {
      const namespace = await locateMemory(engine, scopeOf(scope), params.id, query.namespace);
      const filter = toMemoryFilter(query);
      const hits = await onMemory(params.id, () => engine.relatedMemories(params.id, { namespace, limit: query.limit, signal: context.shutdown, ...(Object.keys(filter).length > 0 ? { filter } : {}) }));
      // The index filters by namespace already; this keeps the rule visible where it matters.
      return withPreviews(hits.filter((hit) => hit.namespace === namespace));
    },
  });

  registry.add(app, {
    method: "GET",
    path: "/v1/stats",
    summary: "honest sizes of the key's namespaces: text, envelopes, assets, ratio, codec mix",
    description: "A key with several namespaces gets each and their sums; a key for every namespace (*) without ?namespace= gets the whole store.",
    tag: "operations",
    role: "read",
    query: z.object({ namespace: Namespace.optional() }).strict(),
    response: z.object({
      namespaces: z.array(Sizes),
      totals: z.object({ memories: z.number().int(), expired: z.number().int(), originalBytes: z.number().int(), storedBytes: z.number().int(), ratio: z.number() }),
    }),
    handler: async ({ query, scope }) => {
      const keyScope = scopeOf(scope);
      const namespaces = readNamespaces(keyScope, query.namespace);
      if (namespaces !== undefined && namespaces.length === 0) throw namespaceNotFound(query.namespace as string);
      const all = await Promise.all((namespaces ?? [undefined]).map((namespace) => engine.stats(namespace)));
      const sizes = all.map((s) => ({
        namespace: s.namespace,
        memories: s.memories,
        expired: s.expired,
        originalBytes: s.originalBytes,
        envelopeBytes: s.envelopeBytes,
        assetBytes: s.assetBytes,
        storedBytes: s.storedBytes,
        ratio: s.ratio,
        bitsPerByte: s.bitsPerByte,
        byCodec: Object.fromEntries(Object.entries(s.byCodec).map(([codec, c]) => [codec, { memories: c.memories, originalBytes: c.originalBytes, storedBytes: c.storedBytes }])),
      }));
      const totals = sizes.reduce((t, s) => ({ memories: t.memories + s.memories, expired: t.expired + s.expired, originalBytes: t.originalBytes + s.originalBytes, storedBytes: t.storedBytes + s.storedBytes }), {
        memories: 0,
        expired: 0,
        originalBytes: 0,
        storedBytes: 0,
      });
      return { namespaces: sizes, totals: { ...totals, ratio: totals.storedBytes > 0 ? totals.originalBytes / totals.storedBytes : 0 } };
    },
  });

  registry.add(app, {
    method: "POST",
    path: "/v1/verify",
    summary: "decode every memory of a namespace and check it against its checksum",
    description: "A key for every namespace (*) may omit the namespace to verify the whole store.",
    tag: "operations",
    role: "admin",
    body: z.object({ namespace: Namespace.optional() }).strict(),
    response: z.object({
      checked: z.number().int(),
      failed: z.number().int(),
      failures: z.array(
        z.object({
          id: z.string(),
          code: z.string(),
          message: z.string(),
          hint: z.string().optional().describe("what to do"),
          repairable: z.literal(true).optional().describe("writing the memory's text again with its id (an import of an export or backup holding it) mends it"),
        }),
      ),
      indexes: z
        .array(z.object({ where: z.string(), code: z.string(), message: z.string(), hint: z.string().optional() }))
        .optional()
        .describe("derived look-up structures that do not read back (no memory is lost; compact makes them again)"),
    }),
    handler: async ({ body, scope }) => {
      const keyScope = scopeOf(scope);
      const namespace = keyScope.namespaces === "*" && body.namespace === undefined ? undefined : targetNamespace(keyScope, body.namespace);
      const report = await engine.verify(namespace, undefined, context.shutdown);
      return { checked: report.checked, failed: report.failed, failures: report.failures.slice(0, limits.pageItems), ...(report.indexes ? { indexes: report.indexes } : {}) };
    },
  });
}

