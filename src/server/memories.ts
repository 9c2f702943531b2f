import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { MemoryFilterSchema, MemoryFilterTextShape, queryInteger, toMemoryFilter } from "../core/filter.js";
import { narrowsBeyondNamespaces, type MemorySummary, type StoredMemory } from "../core/store.js";
import { MEMORY_KINDS, RECALL_MODES } from "../core/vocabulary.js";
import { memoryTag, type RememberResult } from "../engine.js";
import { idProblem, LATEST_TIME_MS, MAX_ID_LENGTH, MAX_TAG_CHARS, MAX_TAGS, MEMORY_ID_PATTERN, MEMORY_ID_RULE, NAMESPACE_PATTERN } from "../pipeline/records.js";
import type { ServerContext } from "./context.js";
import { HttpError } from "./errors.js";
import { NOT_MODIFIED, type RouteRegistry } from "./routes.js";
import { locateMemory, onMemory, readNamespaces, scopeOf, targetNamespace } from "./scope.js";
import { damagedPlaces, DamagedPlacesSchema } from "./hit-texts.js";

export const Namespace = z.string().regex(NAMESPACE_PATTERN, "1–128 letters, digits or _.:@-").describe("a namespace the key may use");
export const MemoryId = z
  .string()
  .min(1)
  .max(MAX_ID_LENGTH)
  .regex(MEMORY_ID_PATTERN, "valid Unicode (no lone surrogate), no control characters")
  .refine((id) => idProblem(id) === undefined, MEMORY_ID_RULE)
  .describe(`the memory's id (unique within its namespace): ${MEMORY_ID_RULE}`);
const Kind = z.enum(MEMORY_KINDS);
const Tags = z.array(z.string().min(1).max(MAX_TAG_CHARS)).max(MAX_TAGS);
const Meta = z.record(z.string(), z.unknown()).describe("any JSON object kept with the memory");
const ExpiresAt = z
  .number()
  .int()
  .nonnegative()
  .max(LATEST_TIME_MS)
  .nullable()
  .describe("when the memory expires (ms since the epoch): reads leave it out from then on and compact deletes it; null: never; absent on a re-write: kept");

/** The body of POST /v1/memories and each item of a batch. */
export const NewMemory = z
  .object({
    text: z.string().describe("the exact text (UTF-8 once stored); at most limits.textBytes bytes"),
    id: MemoryId.optional().describe("kept when given; otherwise derived from the namespace and text"),
    namespace: Namespace.optional().describe("defaults to the key's only namespace"),
    kind: Kind.optional(),
    tags: Tags.optional(),
    meta: Meta.optional(),
    createdAt: z.number().int().min(-LATEST_TIME_MS).max(LATEST_TIME_MS).optional().describe("milliseconds since the epoch (before it: negative, as an import takes it); defaults to now"),
    expiresAt: ExpiresAt.optional(),
  })
  .strict();
type NewMemory = z.infer<typeof NewMemory>;

export const WriteResult = z.object({
  id: z.string(),
  namespace: z.string(),
  codec: z.string().describe("the codec of the stored envelope (empty when unchanged)"),
  originalBytes: z.number().int(),
  storedBytes: z.number().int().describe("envelope bytes this write added (0 when deduplicated or unchanged)"),
  status: z.enum(["stored", "updated", "unchanged"]),
  deduplicated: z.boolean().optional(),
  repaired: z.boolean().optional().describe("true when the same text was stored but no longer read back (a damaged envelope): this write coded it again"),
});

/** A memory without its text: list items, and the answer of PATCH. */
export const MemoryInfo = z.object({
  id: z.string(),
  namespace: z.string(),
  kind: Kind,
  tags: z.array(z.string()),
  meta: z.record(z.string(), z.unknown()),
  // Not .int(): a fractional time an older build imported must still be listed.
  createdAt: z.number().describe("milliseconds since the epoch"),
  // Not .int(): a row an older build wrote past the safe integers must still be listed (it is a number all the same).
  expiresAt: z.number().optional().describe("when the memory expires (ms since the epoch); absent: never"),
  codec: z.string(),
  language: z.string().nullable(),
  originalBytes: z.number().int(),
  storedBytes: z.number().int().optional().describe("envelope bytes (0 for a memory whose text another holds); not in lists"),
  etag: z.string().describe("the memory's tag (also the ETag header of GET and PATCH): send it as If-Match to PATCH only what you read"),
});

export const FullMemory = MemoryInfo.extend({
  text: z.string().describe("mode exact: the exact text, byte for byte; summary / rebuilt: lossy"),
  mode: z.enum(RECALL_MODES),
  summary: z.string().optional(),
  entities: z.array(z.object({ type: z.string(), text: z.string() })).optional(),
});

/** One version of a memory's text (GET /v1/memories/{id}/history). */
const MemoryVersion = z.object({
  version: z.number().int().describe("1 for the first text; one more for each change of text"),
  text: z.string().describe("the exact text of that version"),
  kind: Kind,
  tags: z.array(z.string()),
  meta: z.record(z.string(), z.unknown()),
  language: z.string().nullable(),
  createdAt: z.number().int().describe("when this text became current (ms since the epoch)"),
  replacedAt: z.number().int().nullable().describe("when a later text replaced it; null for the current text"),
  originalBytes: z.number().int(),
  storedBytes: z.number().int().describe("bytes kept for it: the envelope (current) or the delta against its successor"),
});

const IdParams = z.object({ id: MemoryId }).strict();
const NamespaceQuery = z.object({ namespace: Namespace.optional() }).strict();


export function writeResult(result: RememberResult): z.infer<typeof WriteResult> {
  return {
    id: result.id,
    namespace: result.namespace,
    codec: result.codec,
    originalBytes: result.originalBytes,
    storedBytes: result.storedBytes,
    status: result.status,
    ...(result.deduplicated ? { deduplicated: true } : {}),
    ...(result.repaired ? { repaired: true } : {}),
  };
}

export function memoryInfo(memory: MemorySummary | StoredMemory): z.infer<typeof MemoryInfo> {
  const shared = memory.contentOf !== undefined && memory.contentOf !== null;
  const stored = "envelope" in memory ? memory.envelope.length : undefined;
  return {
    id: memory.id,
    namespace: memory.namespace,
    kind: memory.kind,
    tags: memory.tags,
    meta: memory.meta,
    createdAt: memory.createdAt,
    ...(memory.expiresAt === undefined ? {} : { expiresAt: memory.expiresAt }),
    codec: memory.codec,
    language: memory.language ?? null,
    originalBytes: memory.originalLength,
    ...(stored === undefined ? {} : { storedBytes: shared ? 0 : stored }),
    etag: memoryTag(memory),
  };
}

/** The headers of a conditional write: If-Match, one entity tag as the memory's ETag gave it (quotes included), or `*`. */
const Conditional = z.object({
  "if-match": z
    .string()
    .trim()
    .regex(/^(\*|"[\x21\x23-\x7e]{1,128}")$/, "one entity tag in double quotes, as the memory's ETag gave it, or * (not a list, not a weak W/ tag)")
    .optional()
    .describe("write only while the memory's tag is this one (the ETag of your read), else 412 E_PRECONDITION; * needs only that the memory exists"),
  // RFC 9110: `If-None-Match: *` on a write asks for it only where nothing exists. A PATCH or DELETE acts on a memory that
  // exists, so it is refused (412, nothing written) instead of ignored; a list of tags is refused as not supported.
  "if-none-match": z
    .string()
    .trim()
    .regex(/^\*$/, "only * on a PATCH or DELETE (never written: the memory exists); to write only what you read, send If-Match")
    .optional()
    .describe("* : never write (412 where the memory exists, 404 where it does not), as RFC 9110 asks of a write to an existing resource"),
});


/**
 * The header of a conditional read: If-None-Match, `*` or a list of entity tags (weak ones too: a read compares
 * weakly, RFC 9110 13.1.2). A memory whose tag is among them answers 304 with no body, and its text is not decoded.
 */
const CacheConditional = z.object({
  "if-none-match": z
    .string()
    .trim()
    .max(4096)
    .optional()
    .describe("the ETag of a copy you hold: 304 with no body while the memory's tag is still that one (mode exact only; the other modes answer in full)"),
});

/**
 * Whether an If-None-Match value names `tag` (weak comparison: a W/ prefix is ignored). Read leniently, as RFC 9110
 * asks of a list: empty elements are skipped, and a value that names no tag of ours is no match (a full answer).
 */
function namesTag(ifNoneMatch: string, tag: string): boolean {
  if (ifNoneMatch.trim() === "*") return true;
  return ifNoneMatch.split(",").some((listed) => listed.trim().replace(/^W\//, "") === tag);
}

/** Refuses a text over the server's limit before any work is done on it. */
export function checkTextSize(text: string, limit: number, where = "text", hint = "Split the text into several memories, or raise the server's limit (memzip serve --max-text)."): void {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limit) {
    throw new HttpError(413, "E_TOO_LARGE", `${where} is ${bytes} bytes, over the limit of ${limit}`, hint);
  }
}

/**
 * The memory routes: create (one or a batch), read, patch, delete and list, each acting only inside
 * the key's namespaces.
 */
export function registerMemoryRoutes(app: FastifyInstance, registry: RouteRegistry, context: ServerContext): void {
  const { engine, limits, writes } = context;

  /**
   * A write's `If-None-Match: *`: refused (412, nothing written) where the memory exists, looked up within the key's
   * scope first, so a memory the key may not see is 404, never 412.
   */
  const refuseIfNoneMatch = async (headers: { "if-none-match"?: string | undefined }, id: string, namespace: string): Promise<void> => {
    if (headers["if-none-match"] === undefined) return;
    await onMemory(id, () => engine.memory(id, namespace));
    throw new HttpError(412, "E_PRECONDITION", `memory ${JSON.stringify(id)} exists and If-None-Match is *: nothing was written`, "Leave If-None-Match out to change a memory that exists; send If-Match with your read's ETag to change only what you read.");
  };

  const toInput = (item: NewMemory, namespace: string) => {
    checkTextSize(item.text, limits.textBytes);
    const { namespace: _named, ...rest } = item;
    return { ...rest, namespace };
  };

  registry.add(app, {
    method: "POST",
    path: "/v1/memories",
    summary: "store one memory",
    tag: "memories",
    role: "write",
    body: NewMemory,
    response: WriteResult,
    status: 201,
    handler: async ({ body, scope }) => {
      const namespace = targetNamespace(scopeOf(scope), body.namespace);
      const input = toInput(body, namespace);
      // Coded on the engine's worker threads: the event loop keeps answering reads meanwhile.
      return writeResult(await writes.run(() => engine.remember(input, { namespace, offload: true })));
    },
  });

  registry.add(app, {
    method: "POST",
    // `::` is fastify's escape for a literal colon: the route is POST /v1/memories:batch.
    path: "/v1/memories::batch",
    summary: "store many memories in one transaction (all or none)",
    description: `At most ${limits.batchItems} items (413 beyond). Results come in the order of the items.`,
    tag: "memories",
    role: "write",
    body: z.object({ items: z.array(NewMemory).min(1) }).strict(),
    response: z.object({ items: z.array(WriteResult) }),
    status: 201,
    handler: async ({ body, scope }) => {
      if (body.items.length > limits.batchItems) {
        throw new HttpError(413, "E_TOO_LARGE", `a batch of ${body.items.length} items is over the limit of ${limits.batchItems}`, `Send at most ${limits.batchItems} items per batch.`);
      }
      const keyScope = scopeOf(scope);
      const inputs = body.items.map((item, index) => {
        try {
          return toInput(item, targetNamespace(keyScope, item.namespace));
        } catch (error) {
          if (error instanceof Error) error.message = `items.${index}: ${error.message}`;
          throw error;
        }
      });
      return { items: (await writes.run(() => engine.rememberMany(inputs, { offload: true }))).map(writeResult) };
    },
  });

  registry.add(app, {
    method: "GET",
    path: "/v1/memories/:id",
    summary: "read one memory: its exact text (or a lossy form) and metadata",
    description: "With `If-None-Match: <the ETag of a copy you hold>` (mode exact), 304 with no body while the memory is still as that copy (its text is not decoded).",
    tag: "memories",
    role: "read",
    params: IdParams,
    query: z.object({ namespace: Namespace.optional(), mode: z.enum(RECALL_MODES).default("exact") }).strict(),
    response: FullMemory,
    headers: CacheConditional,
    handler: async ({ params, query, headers, scope, reply }) => {
      const namespace = await locateMemory(engine, scopeOf(scope), params.id, query.namespace);
      const memory = await onMemory(params.id, () => engine.memory(params.id, namespace));
      const info = memoryInfo(memory);
      if (query.mode === "exact") {
        // The client's copy is current: nothing decoded (a cold read would load the namespace's model first).
        const ifNoneMatch = headers["if-none-match"];
        if (ifNoneMatch !== undefined && namesTag(ifNoneMatch, info.etag)) {
          reply.header("etag", info.etag);
          return NOT_MODIFIED;
        }
        // The text of the row just read: one read, and text, metadata and ETag of the same version.
        const text = await onMemory(params.id, () => engine.textOf(memory));
        reply.header("etag", info.etag);
        return { ...info, text, mode: query.mode };
      }
      const text = await engine.recall(params.id, { namespace, mode: query.mode });
      const semantic = await engine.semanticOf(params.id, namespace);
      // Set once the answer is made (an error answer carries no ETag); the row was read before the text, so at worst it is older.
      reply.header("etag", info.etag);
      return {
        ...info,
        text,
        mode: query.mode,
        ...(semantic ? { summary: semantic.summary, entities: semantic.entities.map((e) => ({ type: e.type, text: e.text })) } : {}),
      };
    },
  });

  registry.add(app, {
    method: "POST",
    // The route is POST /v1/memories:delete (`::` escapes the colon).
    path: "/v1/memories::delete",
    summary: "delete every memory a filter matches, within the key's namespaces (dryRun: count only)",
    description: "Filters combine with AND. A filter that narrows nothing is refused (400) unless `all` is true. A namespace outside the key's scope matches nothing. Each memory's history goes with it.",
    tag: "memories",
    role: "write",
    body: MemoryFilterSchema.extend({
      namespace: Namespace.optional(),
      dryRun: z.boolean().default(false).describe("count and list, delete nothing"),
      all: z.boolean().default(false).describe("allow a filter that matches every memory of the key's namespaces"),
    }).strict(),
    response: z.object({ count: z.number().int(), ids: z.array(z.object({ namespace: z.string(), id: z.string() })).describe("the first 100 matched"), dryRun: z.boolean() }),
    handler: async ({ body, scope }) => {
      const { namespace, dryRun, all } = body;
      const conditions = toMemoryFilter(body);
      const narrowed = namespace !== undefined || narrowsBeyondNamespaces(conditions);
      if (!narrowed && !all) throw new HttpError(400, "E_USAGE", "refusing to delete by an empty filter: it matches every memory of the key's namespaces", "Narrow the filter, or send all: true.");
      const namespaces = readNamespaces(scopeOf(scope), namespace);
      if (namespaces?.length === 0) return { count: 0, ids: [], dryRun };
      return engine.forgetWhere({ ...conditions, ...(namespaces ? { namespaces } : {}) }, { dryRun, all: true });
    },
  });

  registry.add(app, {
    method: "GET",
    path: "/v1/memories/:id/history",
    summary: "every version of a memory's text, oldest first, each exact (the last is the current text)",
    description: "A version is kept each time an update or a re-add gives the memory another text; metadata changes alone make none.",
    tag: "memories",
    role: "read",
    params: IdParams,
    query: NamespaceQuery,
    response: z.object({ id: z.string(), namespace: z.string(), versions: z.array(MemoryVersion) }),
    handler: async ({ params, query, scope }) => {
      const namespace = await locateMemory(engine, scopeOf(scope), params.id, query.namespace);
      const versions = await onMemory(params.id, () => engine.history(params.id, namespace));
      return { id: params.id, namespace, versions: versions.map((v) => ({ ...v, language: v.language ?? null })) };
    },
  });

  registry.add(app, {
    method: "PATCH",
    path: "/v1/memories/:id",
    summary: "change a memory's text, kind, tags, meta or expiry (fields left out stay; meta is a JSON merge patch; createdAt is kept)",
    description:
      "`meta` is a JSON merge patch (RFC 7396): a key set to null is removed, an object merges key by key, any other value replaces the key's value; keys not named stay. `tags` replaces the tag list. The same semantics as MCP `update_memory` and `memzip update --meta`. With `If-Match: <the ETag of your read>` the patch applies only while the memory is as you read it (text, kind, tags, meta, expiry), else 412 `E_PRECONDITION` and nothing is written.",
    tag: "memories",
    role: "write",
    params: IdParams,
    query: NamespaceQuery,
    body: z.object({ text: z.string().optional(), kind: Kind.optional(), tags: Tags.optional(), meta: Meta.optional(), expiresAt: ExpiresAt.optional() }).strict(),
    response: MemoryInfo,
    headers: Conditional,
    handler: async ({ params, query, body, headers, scope, reply }) => {
      const ifMatch = headers["if-match"];
      const namespace = await locateMemory(engine, scopeOf(scope), params.id, query.namespace);
      await refuseIfNoneMatch(headers, params.id, namespace);
      if (body.text !== undefined) checkTextSize(body.text, limits.textBytes);
      const { text, kind, tags, meta, expiresAt } = body;
      const patch = { ...(text === undefined ? {} : { text }), ...(kind ? { kind } : {}), ...(tags ? { tags } : {}), ...(meta ? { meta } : {}), ...(expiresAt === undefined ? {} : { expiresAt }) };
      await writes.run(() => onMemory(params.id, () => engine.update(params.id, patch, namespace, { offload: true, ...(ifMatch === undefined ? {} : { ifMatch }) })));
      const info = memoryInfo(await onMemory(params.id, () => engine.memory(params.id, namespace)));
      reply.header("etag", info.etag);
      return info;
    },
  });

  registry.add(app, {
    method: "DELETE",
    path: "/v1/memories/:id",
    summary: "delete a memory",
    description: "With `If-Match: <the ETag of your read>` only while the memory is as you read it, else 412 `E_PRECONDITION` and nothing is deleted.",
    tag: "memories",
    role: "write",
    params: IdParams,
    query: NamespaceQuery,
    headers: Conditional,
    response: z.undefined(),
    status: 204,
    handler: async ({ params, query, headers, scope }) => {
      const ifMatch = headers["if-match"];
      const namespace = await locateMemory(engine, scopeOf(scope), params.id, query.namespace);
      await refuseIfNoneMatch(headers, params.id, namespace);
      await onMemory(params.id, () => engine.forget(params.id, namespace, ifMatch === undefined ? {} : { ifMatch }));
      return undefined;
    },
  });

  registry.add(app, {
    method: "GET",
    path: "/v1/memories",
    summary: "list memories (without their text) in insertion order, a page at a time",
    description: "Filters combine with AND. Pass the page's `next` back as `cursor` for the following page; `next` is null on the last one.",
    tag: "memories",
    role: "read",
    query: z
      .object({
        namespace: Namespace.optional(),
        ...MemoryFilterTextShape,
        limit: queryInteger(1, limits.pageItems).default(Math.min(100, limits.pageItems)),
        cursor: z.string().max(1024).optional().describe("the `next` of the previous page"),
      })
      .strict(),
    response: z.object({ items: z.array(MemoryInfo), next: z.string().nullable(), damaged: DamagedPlacesSchema }),
    handler: async ({ query, scope }) => {
      const namespaces = readNamespaces(scopeOf(scope), query.namespace);
      if (namespaces !== undefined && namespaces.length === 0) return { items: [], next: null };
      const page = await engine.page(
        {
          ...(namespaces ? { namespaces } : {}),
          ...toMemoryFilter(query),
          ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
          limit: query.limit,
        },
        { skipDamaged: true },
      );
      return { items: page.items.map(memoryInfo), next: page.next, ...damagedPlaces(page.damaged) };
    },
  });
}
