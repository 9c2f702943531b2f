import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { MemoryFilterSchema, toMemoryFilter } from "../core/filter.js";
import { MEMORY_KINDS, type MemorySummary, type StoredMemory } from "../core/store.js";
import { RECALL_MODES, SEARCH_MODES } from "../core/vocabulary.js";
import { allows, inScope, memoryTag, type Engine, type KeyScope } from "../engine.js";
import { ErrorCode, isMemzipError, MemzipError } from "../errors.js";
import { idProblem, LATEST_TIME_MS, MAX_ID_LENGTH, MEMORY_ID_PATTERN, MEMORY_ID_RULE, NAMESPACE_PATTERN } from "../pipeline/records.js";
import { countUnreadable, type SearchHit } from "../search/search.js";
import { answerHits, damagedPlaces, DamagedPlacesSchema, UnreadableHitSchema } from "./hit-texts.js";
import type { StoreStats } from "../engine-stats.js";
import { errorAnswer, forbidden } from "./errors.js";
import { checkTextSize } from "./memories.js";
import { inSeveral } from "./scope.js";
import { isHighSurrogate, isLowSurrogate, pairSafeEnd } from "../core/text-cut.js";

/**
 * Bounds on every answer, so a large store never floods an agent's context (docs/MCP.md lists them).
 * Characters are UTF-16 code units, as JavaScript counts them; a page never splits a surrogate pair.
 */
export const MCP_BOUNDS = {
  /** Characters of text shown per memory in search, list and related answers. */
  previewChars: 200,
  /** Results of search_memories and related_memories: default and most. */
  searchDefault: 10,
  searchMax: 50,
  /** Memories of one list_memories page: default and most. */
  listDefault: 20,
  listMax: 100,
  /** Characters of one recall page: default and most (a longer text comes in pages, `offset` / `nextOffset`). */
  recallDefault: 32_000,
  recallMax: 100_000,
  /** A memory's meta in recall is left out (metaOmitted) when its JSON is longer than this. */
  metaChars: 8_192,
  /** Characters of the JSON of the tags shown per memory in list_memories (the rest counted in tagsOmitted), and in recall. */
  listTagChars: 200,
  recallTagChars: 4_096,
  /** Namespaces memory_stats reports one by one. */
  statsNamespaces: 50,
} as const;

export interface McpServerOptions {
  engine: Engine;
  /** Who is asking: the key's role and namespaces (stdio: the --namespace and --role of `memzip mcp`). */
  scope: KeyScope;
  /** Bytes of one memory's text that remember and update_memory accept. */
  textBytes: number;
  /** Where failures that are not MemzipErrors are reported (their detail never reaches the agent). */
  onInternalError?: (error: unknown) => void;
  /** The server's bound on writes in flight (`--max-writes`), shared with REST; none over stdio. */
  writes?: { run<T>(work: () => Promise<T>): Promise<T> };
}

const Id = z
  .string()
  .min(1)
  .max(MAX_ID_LENGTH)
  .regex(MEMORY_ID_PATTERN, "valid Unicode (no lone surrogate), no control characters")
  .refine((id) => idProblem(id) === undefined, MEMORY_ID_RULE)
  .describe(`the memory's id, as remember or a search returned it (${MEMORY_ID_RULE})`);
const Namespace = z
  .string()
  .regex(NAMESPACE_PATTERN, "1–128 letters, digits or _ . : @ -")
  .describe("the namespace (one agent or user); default: the first namespace of this connection");
const Kind = z.enum(MEMORY_KINDS);
const Tags = z.array(z.string().min(1).max(128)).max(64);
// A top-level "__proto__" key is refused, not dropped: zod's record leaves it out of what it returns.
const Meta = z.preprocess((value, context) => {
  if (typeof value === "object" && value !== null && Object.hasOwn(value, "__proto__")) {
    context.addIssue({ code: "custom", message: "a meta key named __proto__ is refused; rename it (every other key is kept as sent)" });
  }
  return value;
}, z.record(z.string(), z.unknown()));

const Preview = z.object({
  id: z.string(),
  namespace: z.string(),
  preview: z.string().describe(`the first ${MCP_BOUNDS.previewChars} characters of the text ("…" when cut)`),
});
const Hit = Preview.extend({
  score: z.number().describe("rank fusion score; higher is better"),
  unreadable: UnreadableHitSchema,
});
const TagsOmitted = z.number().int().optional().describe("tags left out of this answer (their characters passed its bound; recall shows more, update_memory's tags replaces them all)");
const Unsearchable = z.number().int().describe("memories of these namespaces left out of the search because their text cannot be read now (tried again later)");
const Written = z.object({
  id: z.string(),
  namespace: z.string(),
  status: z.enum(["stored", "updated", "unchanged"]),
  codec: z.string(),
  originalBytes: z.number(),
  storedBytes: z.number(),
});
const Sizes = z.object({
  namespace: z.string().nullable().describe("null: the whole store"),
  memories: z.number(),
  expired: z.number().optional().describe("of memories, those past their expiry that compact has not deleted yet: no read returns them, their bytes still count"),
  originalBytes: z.number(),
  storedBytes: z.number().describe("envelopes plus the assets they need: everything needed to rebuild the texts"),
  ratio: z.number().describe("originalBytes / storedBytes"),
  bitsPerByte: z.number(),
  byCodec: z.record(z.string(), z.object({ memories: z.number(), originalBytes: z.number(), storedBytes: z.number() })),
  fileBytes: z.number().optional().describe("the store file on disk (keys for every namespace only)"),
});

const ExpiresAt = z.number().int().min(0).max(LATEST_TIME_MS).nullable().describe("when the memory expires (ms since 1970): it is then gone for every read; null: never; default: never (kept on a re-write)");

// Strict: an argument the tool does not take (a misspelt `txt`, a `ttl` it has not) is refused by name,
// not dropped while the call succeeds without it.
const INPUT = {
  remember: z.object({
    text: z.string().min(1).describe("the memory, stored exactly (byte for byte)"),
    namespace: Namespace.optional(),
    id: Id.optional().describe("an id of your choice; default: derived from namespace and text (the same text twice is one memory)"),
    kind: Kind.optional(),
    tags: Tags.optional(),
    meta: Meta.optional().describe("any JSON object kept with the memory"),
    expiresAt: ExpiresAt.optional(),
  }).strict(),
  recall: z.object({
    id: Id,
    namespace: Namespace.optional(),
    mode: z.enum(RECALL_MODES).optional().describe("exact (default): the original text; summary / rebuilt when semantic features are on"),
    offset: z.number().int().min(0).optional().describe("where this page starts (the previous answer's nextOffset)"),
    maxChars: z.number().int().min(1).max(MCP_BOUNDS.recallMax).optional().describe(`characters in this page (default ${MCP_BOUNDS.recallDefault})`),
  }).strict(),
  search: MemoryFilterSchema.extend({
    query: z.string().min(1).max(4_000),
    namespace: Namespace.optional().describe("only this namespace; default: every namespace of this connection"),
    limit: z.number().int().min(1).max(MCP_BOUNDS.searchMax).optional().describe(`hits (default ${MCP_BOUNDS.searchDefault})`),
    mode: z.enum(SEARCH_MODES).optional().describe("hybrid (default): keywords and meaning; keyword; vector"),
  }).strict(),
  related: MemoryFilterSchema.extend({
    id: Id,
    namespace: Namespace.optional(),
    limit: z.number().int().min(1).max(MCP_BOUNDS.searchMax).optional().describe(`hits (default ${MCP_BOUNDS.searchDefault})`),
  }).strict(),
  list: MemoryFilterSchema.extend({
    namespace: Namespace.optional().describe("only this namespace; default: every namespace of this connection"),
    limit: z.number().int().min(1).max(MCP_BOUNDS.listMax).optional().describe(`memories in this page (default ${MCP_BOUNDS.listDefault})`),
    cursor: z.string().max(1_000).optional().describe("the previous page's next"),
  }).strict(),
  update: z.object({
    id: Id,
    namespace: Namespace.optional(),
    text: z.string().min(1).optional().describe("the new text (default: unchanged)"),
    kind: Kind.optional(),
    tags: Tags.optional().describe("replaces the tags"),
    meta: Meta.optional().describe("a JSON merge patch (RFC 7396) of the meta: a key set to null is removed, an object merges key by key, keys not named stay"),
    expiresAt: ExpiresAt.optional().describe("when the memory expires (ms since 1970); null: never; default: unchanged"),
    ifMatch: z.string().min(1).max(130).optional().describe("the etag recall gave: change the memory only if it is still as you read it (else E_PRECONDITION, nothing written: recall it again)"),
  }).strict(),
  forget: z.object({
    id: Id,
    namespace: Namespace.optional(),
    ifMatch: z.string().min(1).max(130).optional().describe("the etag recall gave: delete only if the memory is still as you read it (else E_PRECONDITION, nothing deleted)"),
  }).strict(),
  stats: z.object({ namespace: Namespace.optional().describe("one namespace; default: each namespace of this connection") }).strict(),
};

const OUTPUT = {
  remember: Written,
  recall: z.object({
    id: z.string(),
    namespace: z.string(),
    kind: z.string(),
    tags: z.array(z.string()),
    tagsOmitted: TagsOmitted,
    meta: Meta.optional(),
    metaOmitted: z.boolean().optional().describe(`true when meta was longer than ${MCP_BOUNDS.metaChars} characters of JSON`),
    createdAt: z.string().describe("ISO 8601"),
    mode: z.enum(RECALL_MODES),
    text: z.string().describe("the text from offset, at most maxChars characters (but one whole character at least: maxChars 1 at an emoji gives its 2)"),
    offset: z.number(),
    totalChars: z.number(),
    nextOffset: z.number().nullable().describe("where the next page starts; null when this page ends the text"),
    note: z.string().optional().describe("present when the text continues past this page: how to get the rest"),
    etag: z.string().describe("the memory's tag: pass it as update_memory's ifMatch to change only what you read"),
  }),
  search: z.object({ hits: z.array(Hit), unsearchable: Unsearchable }),
  related: z.object({ id: z.string(), namespace: z.string(), hits: z.array(Hit) }),
  list: z.object({
    memories: z.array(Preview.extend({ kind: z.string(), tags: z.array(z.string()), tagsOmitted: TagsOmitted, createdAt: z.string(), originalBytes: z.number(), unreadable: UnreadableHitSchema })),
    next: z.string().nullable().describe("pass as cursor for the next page; null on the last"),
    damaged: DamagedPlacesSchema,
  }),
  update: Written.extend({ etag: z.string().describe("the memory's tag after this update (for the next ifMatch)") }),
  forget: z.object({ id: z.string(), namespace: z.string(), forgotten: z.literal(true) }),
  stats: z.object({ namespaces: z.array(Sizes), more: z.number().describe("namespaces of this connection left out (beyond the first 50)") }),
};

export { MCP_TOOLS } from "./mcp-tools.js";

/** A tool's answer: the JSON for programs (structuredContent) and the same as text for hosts that show only text. */
function answer(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: value };
}

const notFound = (id: string) =>
  new MemzipError(ErrorCode.NOT_FOUND, `no memory ${JSON.stringify(id)}`, { hint: "Check the id with search_memories or list_memories (ids are case-sensitive)." });

/** Cuts a text to a preview; never splits a surrogate pair. */
export function preview(text: string, chars: number = MCP_BOUNDS.previewChars): string {
  if (text.length <= chars) return text;
  return `${text.slice(0, pairSafeEnd(text, chars))}…`;
}

/**
 * A memory's tags within `chars` characters of their JSON (quotes, escapes and commas counted: 256 one-character tags
 * are 1,025), in order, with how many were left out (none: no `tagsOmitted`).
 */
export function boundedTags(tags: readonly string[], chars: number): { tags: string[]; tagsOmitted?: number } {
  let used = 2;
  let shown = 0;
  const cost = (tag: string) => JSON.stringify(tag).length + 1;
  while (shown < tags.length && used + cost(tags[shown] as string) <= chars) used += cost(tags[shown++] as string);
  return shown === tags.length ? { tags: [...tags] } : { tags: tags.slice(0, shown), tagsOmitted: tags.length - shown };
}

/**
 * The page of `text` a recall answers: from `offset` (moved back to the start of a surrogate pair it falls inside),
 * at most `maxChars` UTF-16 units, ending before a pair it would split — but always at least one whole character, so
 * that following `nextOffset` ends (a page of maxChars 1 at an emoji holds its pair: two units).
 */
export function recallPage(text: string, from: number, maxChars: number): { offset: number; end: number } {
  let offset = Math.min(from, text.length);
  if (offset > 0 && offset < text.length && isLowSurrogate(text.charCodeAt(offset)) && isHighSurrogate(text.charCodeAt(offset - 1))) offset--;
  let end = pairSafeEnd(text, offset + maxChars);
  if (end <= offset && offset < text.length) end = Math.min(text.length, offset + 2);
  return { offset, end };
}


/**
 * The MCP server of one connection: 8 tools over the engine facade, acting only in `scope`'s
 * namespaces (another namespace's memory is "not found", exactly as a missing one).
 * Failures come back as tool errors (`isError`) whose text is `CODE: message` and the fix.
 */
export function createMcpServer(options: McpServerOptions): McpServer {
  const { engine, scope } = options;
  const gated = <T>(work: () => Promise<T>): Promise<T> => (options.writes ? options.writes.run(work) : work());
  const server = new McpServer({ name: "memzip", version: "0.1.0" }, { instructions: INSTRUCTIONS });
  typeArgumentErrors(server);
  const namespaces = scope.namespaces === "*" ? undefined : scope.namespaces;
  const defaultNamespace = namespaces?.[0] ?? engine.options.namespace;

  const run =
    <A>(needsWrite: boolean, handler: (args: A) => Promise<Record<string, unknown>>) =>
    async (args: A): Promise<CallToolResult> => {
      try {
        if (needsWrite && !allows(scope, "write")) throw forbidden("write");
        return answer(await handler(args));
      } catch (error) {
        return failure(error, options.onInternalError);
      }
    };

  /** The namespace a write goes to: given and in scope, or the connection's first; a connection for every namespace names one, as REST's `*` key does. */
  const writeNamespace = (namespace: string | undefined): string => {
    if (namespace === undefined && namespaces === undefined) {
      throw new MemzipError(ErrorCode.USAGE, "this connection acts in any namespace: name the namespace to write to", {
        hint: 'Pass namespace (1–128 letters, digits or _ . : @ -), e.g. namespace: "notes".',
      });
    }
    const target = namespace ?? defaultNamespace;
    if (!inScope(scope, target)) {
      throw new MemzipError(ErrorCode.USAGE, `this connection may not use namespace ${JSON.stringify(target)}`, {
        hint: `Use one of: ${(namespaces ?? []).join(", ")} (or leave namespace out).`,
      });
    }
    return target;
  };

  /**
   * A memory in scope: with a namespace, only there; without, in the connection's namespaces, where an id two of them
   * hold is refused (naming them), as REST refuses it: the first one's was updated or forgotten in silence.
   */
  const find = async (id: string, namespace: string | undefined): Promise<StoredMemory> => {
    const candidates = namespace !== undefined ? (inScope(scope, namespace) ? [namespace] : []) : namespaces;
    if (candidates === undefined) {
      return engine.memory(id).catch((error: unknown) => {
        throw isMemzipError(error, ErrorCode.USAGE) ? inSeveral(error, (ns) => `namespace: ${JSON.stringify(ns)}`) : rethrowNotFound(id)(error);
      });
    }
    const rows: StoredMemory[] = [];
    for (const ns of candidates) {
      const row = await engine.memory(id, ns).catch((error: unknown) => {
        if (isMemzipError(error) && error.code === ErrorCode.NOT_FOUND) return undefined;
        throw error;
      });
      if (row) rows.push(row);
    }
    if (rows.length > 1) {
      const held = rows.map((row) => row.namespace);
      throw new MemzipError(ErrorCode.USAGE, `memory ${JSON.stringify(id)} exists in several of this connection's namespaces: ${held.join(", ")}`, {
        hint: `Name one with the namespace argument, e.g. namespace: ${JSON.stringify(held[0])}.`,
      });
    }
    if (rows[0]) return rows[0];
    throw notFound(id);
  };

  // One batch read of the hits' texts; a hit deleted or expired between the ranking and its preview is left out (as REST does).
  const withPreviews = (hits: readonly SearchHit[]) =>
    answerHits(
      engine,
      hits,
      (hit, text) => ({ id: hit.id, namespace: hit.namespace, score: hit.score, preview: preview(text) }),
      (hit, unreadable) => ({ id: hit.id, namespace: hit.namespace, score: hit.score, preview: "", unreadable }),
    );

  const sizes = (stats: StoreStats, whole: boolean): z.infer<typeof Sizes> => ({
    namespace: stats.namespace,
    memories: stats.memories,
    expired: stats.expired,
    originalBytes: stats.originalBytes,
    storedBytes: stats.storedBytes,
    ratio: stats.ratio,
    bitsPerByte: stats.bitsPerByte,
    byCodec: Object.fromEntries(Object.entries(stats.byCodec).map(([codec, c]) => [codec, { memories: c.memories, originalBytes: c.originalBytes, storedBytes: c.storedBytes }])),
    // The file holds every namespace: only a key for all of them sees its size.
    ...(whole ? { fileBytes: stats.fileBytes } : {}),
  });

  // E_TOO_LARGE, as REST answers the same text (a stdio connection has no --max-text to raise).
  const checkText = (text: string) => checkTextSize(text, options.textBytes, "the text", "Split the text into several memories.");

  const written = (r: { id: string; namespace: string; status: string; codec: string; originalBytes: number; storedBytes: number }) => ({
    id: r.id,
    namespace: r.namespace,
    status: r.status,
    codec: r.codec,
    originalBytes: r.originalBytes,
    storedBytes: r.storedBytes,
  });

  const rememberTool = server.registerTool(
    "remember",
    {
      title: "Remember",
      description:
        "Store a memory (a note, a fact, a chat turn, a document) exactly as given; it comes back byte for byte with recall. Returns its id. Storing the same text twice in a namespace gives the same id and stores it once.",
      inputSchema: INPUT.remember,
      outputSchema: OUTPUT.remember,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    },
    run(true, async (args: z.infer<typeof INPUT.remember>) => {
      checkText(args.text);
      const namespace = writeNamespace(args.namespace);
      const result = await gated(() => engine.remember({ text: args.text, namespace, ...(args.id ? { id: args.id } : {}), ...(args.kind ? { kind: args.kind } : {}), ...(args.tags ? { tags: args.tags } : {}), ...(args.meta ? { meta: args.meta } : {}), ...(args.expiresAt === undefined ? {} : { expiresAt: args.expiresAt }) }, { namespace, offload: true }));
      return written(result);
    }),
  );

  server.registerTool(
    "recall",
    {
      title: "Recall",
      description: `Get a memory's exact text by id, with its kind, tags, meta and time. A text longer than ${MCP_BOUNDS.recallDefault} characters comes in pages: call again with offset = nextOffset until nextOffset is null.`,
      inputSchema: INPUT.recall,
      outputSchema: OUTPUT.recall,
      annotations: { readOnlyHint: true },
    },
    run(false, async (args: z.infer<typeof INPUT.recall>) => {
      const row = await find(args.id, args.namespace);
      const mode = args.mode ?? "exact";
      const text = await engine.recall(row.id, { namespace: row.namespace, mode });
      const { offset, end } = recallPage(text, args.offset ?? 0, args.maxChars ?? MCP_BOUNDS.recallDefault);
      const metaJson = JSON.stringify(row.meta);
      return {
        id: row.id,
        namespace: row.namespace,
        kind: row.kind,
        ...boundedTags(row.tags, MCP_BOUNDS.recallTagChars),
        ...(metaJson.length <= MCP_BOUNDS.metaChars ? { meta: row.meta } : { metaOmitted: true }),
        createdAt: new Date(row.createdAt).toISOString(),
        mode,
        text: text.slice(offset, end),
        offset,
        totalChars: text.length,
        nextOffset: end < text.length ? end : null,
        ...(end < text.length ? { note: `characters ${offset}–${end} of ${text.length}; call recall again with offset ${end} for the rest` } : {}),
        etag: memoryTag(row),
      };
    }),
  );

  server.registerTool(
    "search_memories",
    {
      title: "Search memories",
      description: `Find memories by keywords and meaning (hybrid search; English, Chinese and other languages). Returns ids with a ${MCP_BOUNDS.previewChars}-character preview and a score, best first; recall an id for the whole text.`,
      inputSchema: INPUT.search,
      outputSchema: OUTPUT.search,
      annotations: { readOnlyHint: true },
    },
    run(false, async (args: z.infer<typeof INPUT.search>) => {
      const limit = args.limit ?? MCP_BOUNDS.searchDefault;
      const mode = args.mode ?? "hybrid";
      if (args.namespace !== undefined && !inScope(scope, args.namespace)) return { hits: [], unsearchable: 0 };
      // The scope's namespaces are admitted before ranking: one ranking over all of them, nothing outside.
      const only = args.namespace !== undefined ? [args.namespace] : namespaces;
      const filter = toMemoryFilter(args);
      const hits = await engine.searchMemories(args.query, { limit, mode, ...(only === undefined ? {} : { namespaces: only }), ...(Object.keys(filter).length > 0 ? { filter } : {}) });
      const unsearchable = countUnreadable(await engine.unsearchable(only === undefined ? {} : { namespaces: only }));
      return { hits: await withPreviews(hits), unsearchable };
    }),
  );

  server.registerTool(
    "related_memories",
    {
      title: "Related memories",
      description: `Memories of the same namespace most like a given one (by meaning). Returns ids with a ${MCP_BOUNDS.previewChars}-character preview, best first.`,
      inputSchema: INPUT.related,
      outputSchema: OUTPUT.related,
      annotations: { readOnlyHint: true },
    },
    run(false, async (args: z.infer<typeof INPUT.related>) => {
      const row = await find(args.id, args.namespace);
      const filter = toMemoryFilter(args);
      const hits = await engine.relatedMemories(row.id, { namespace: row.namespace, limit: args.limit ?? MCP_BOUNDS.searchDefault, ...(Object.keys(filter).length > 0 ? { filter } : {}) });
      return { id: row.id, namespace: row.namespace, hits: await withPreviews(hits.filter((hit) => inScope(scope, hit.namespace))) };
    }),
  );

  server.registerTool(
    "list_memories",
    {
      title: "List memories",
      description: `List memories, oldest first, with filters (namespace, kind, tags all/any, created / updated time range, meta equality): ids, kinds, tags, times and a ${MCP_BOUNDS.previewChars}-character preview. At most ${MCP_BOUNDS.listMax} a page; pass next as cursor for the following page.`,
      inputSchema: INPUT.list,
      outputSchema: OUTPUT.list,
      annotations: { readOnlyHint: true },
    },
    run(false, async (args: z.infer<typeof INPUT.list>) => {
      if (args.namespace !== undefined && !inScope(scope, args.namespace)) return { memories: [], next: null };
      const only = args.namespace !== undefined ? [args.namespace] : namespaces;
      const page = await engine.page(
        {
          limit: args.limit ?? MCP_BOUNDS.listDefault,
          ...(only ? { namespaces: only } : {}),
          ...toMemoryFilter(args),
          ...(args.cursor !== undefined ? { cursor: args.cursor } : {}),
        },
        { skipDamaged: true },
      );
      const listed = (m: MemorySummary) => ({ id: m.id, namespace: m.namespace, kind: m.kind, ...boundedTags(m.tags, MCP_BOUNDS.listTagChars), createdAt: new Date(m.createdAt).toISOString(), originalBytes: m.originalLength });
      // One batch read for the page's texts; a memory that cannot be read is listed with why, not failing the page.
      const memories = await answerHits(
        engine,
        page.items,
        (m, text) => ({ ...listed(m), preview: preview(text) }),
        (m, why) => ({ ...listed(m), preview: "", unreadable: why }),
      );
      return { memories, next: page.next, ...damagedPlaces(page.damaged) };
    }),
  );

  const updateTool = server.registerTool(
    "update_memory",
    {
      title: "Update memory",
      description:
        "Change a memory's text, kind, tags, meta or expiry (fields left out stay as they are). tags replaces the tag list; meta is a JSON merge patch (RFC 7396): a key set to null is removed, an object merges key by key, keys not named stay. The id and creation time stay. Pass recall's etag as ifMatch to change it only if nobody changed it since you read it.",
      inputSchema: INPUT.update,
      outputSchema: OUTPUT.update,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    },
    run(true, async (args: z.infer<typeof INPUT.update>) => {
      if (args.text !== undefined) checkText(args.text);
      const row = await find(args.id, args.namespace);
      const { text, kind, tags, meta, expiresAt, ifMatch } = args;
      const patch = { ...(text === undefined ? {} : { text }), ...(kind ? { kind } : {}), ...(tags ? { tags } : {}), ...(meta ? { meta } : {}), ...(expiresAt === undefined ? {} : { expiresAt }) };
      const result = await gated(() => engine.update(row.id, patch, row.namespace, { offload: true, ...(ifMatch === undefined ? {} : { ifMatch }) }));
      return { ...written(result), etag: result.etag ?? memoryTag(row) };
    }),
  );

  const forgetTool = server.registerTool(
    "forget",
    {
      title: "Forget",
      description: "Delete a memory for good. Pass recall's etag as ifMatch to delete it only if nobody changed it since you read it.",
      inputSchema: INPUT.forget,
      outputSchema: OUTPUT.forget,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    },
    run(true, async (args: z.infer<typeof INPUT.forget>) => {
      const row = await find(args.id, args.namespace);
      await engine.forget(row.id, row.namespace, args.ifMatch === undefined ? {} : { ifMatch: args.ifMatch });
      return { id: row.id, namespace: row.namespace, forgotten: true };
    }),
  );
  // A key (or `memzip mcp --role read`) that may not write is not offered the writing tools: tools/list leaves them out,
  // and a call of one is "no tool here" (it listed all eight, and a call answered E_FORBIDDEN naming a key's role).
  if (!allows(scope, "write")) for (const tool of [rememberTool, updateTool, forgetTool]) tool.disable();

  server.registerTool(
    "memory_stats",
    {
      title: "Memory stats",
      description: "How many memories there are and how small memzip keeps them: text bytes, stored bytes, ratio and codec mix, per namespace.",
      inputSchema: INPUT.stats,
      outputSchema: OUTPUT.stats,
      annotations: { readOnlyHint: true },
    },
    run(false, async (args: z.infer<typeof INPUT.stats>) => {
      if (args.namespace !== undefined) {
        // Another namespace counts as an empty one: nothing tells whether it holds memories.
        if (!inScope(scope, args.namespace)) return { namespaces: [{ namespace: args.namespace, memories: 0, expired: 0, originalBytes: 0, storedBytes: 0, ratio: 0, bitsPerByte: 0, byCodec: {} }], more: 0 };
        return { namespaces: [sizes(await engine.stats(args.namespace), namespaces === undefined)], more: 0 };
      }
      if (namespaces === undefined) return { namespaces: [sizes(await engine.stats(), true)], more: 0 };
      const shown = namespaces.slice(0, MCP_BOUNDS.statsNamespaces);
      const each: z.infer<typeof Sizes>[] = [];
      for (const ns of shown) each.push(sizes(await engine.stats(ns), false));
      return { namespaces: each, more: namespaces.length - shown.length };
    }),
  );

  return server;
}

function rethrowNotFound(id: string) {
  return (error: unknown): never => {
    throw isMemzipError(error) && error.code === ErrorCode.NOT_FOUND ? notFound(id) : error;
  };
}

/**
 * The SDK checks a call's arguments against the tool's input schema before memzip's handler runs, and answers a refusal
 * as a tool error reading "MCP error -32602: Input validation error: Invalid arguments for tool T: …", with no code and
 * no fix; a call of a tool it does not have reads "MCP error -32602: Tool T not found". Such answers get memzip's shape (`E_USAGE: …` and the fix, as every other tool error). The SDK builds them in
 * one method of the server (`createToolError`, not part of its typed API: test/server/mcp.test.ts fails if that moves).
 */
function typeArgumentErrors(server: McpServer): void {
  const target = server as unknown as { createToolError?: (message: string) => CallToolResult };
  // Not the SDK's typed API: where a release moved it, its own answers stay (mcp.test.ts then fails and says so).
  if (typeof target.createToolError !== "function") return;
  const sdkToolError = target.createToolError.bind(server);
  target.createToolError = (message: string): CallToolResult => {
    const unknown = /^MCP error -32602: Tool (\S+) (not found|disabled)$/.exec(message);
    if (unknown) {
      return failure(new MemzipError(ErrorCode.USAGE, `there is no tool ${JSON.stringify(unknown[1])} here`, { hint: "tools/list names the tools this server offers to your key (a read-only key has no writing tools)." }), undefined);
    }
    const refused = /^MCP error -32602: Input validation error: Invalid arguments for tool (\S+): ([\s\S]*)$/.exec(message);
    if (!refused) return sdkToolError(message);
    const [, tool, issues] = refused;
    return failure(new MemzipError(ErrorCode.USAGE, `invalid arguments for ${tool}: ${(issues ?? "").split("\n").join("; ")}`, { hint: `tools/list gives ${tool}'s input schema.` }), undefined);
  };
}

function failure(error: unknown, onInternalError: ((error: unknown) => void) | undefined): CallToolResult {
  const { status, body } = errorAnswer(error);
  if (status >= 500 && onInternalError) onInternalError(error);
  const { code, message, hint } = body.error;
  return { isError: true, content: [{ type: "text", text: `${code}: ${message}${hint ? `\nfix: ${hint}` : ""}` }] };
}

const INSTRUCTIONS = `memzip keeps memories exactly (byte for byte) and small. remember stores a text and returns its id;
search_memories and list_memories return ids with short previews; recall returns the whole text (in pages when it is long).
Every answer is bounded in size.`;
