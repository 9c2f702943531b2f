import type { Command, CommandContext } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import type { Engine } from "../../engine.js";
import type { IndexProgress, SearchHit, SearchIndex } from "../../pipeline/search.js";
import { ProgressBar } from "../progress.js";
import { emit, openEngine, parseInteger, requirePositional, usage } from "../shared.js";

const PREVIEW_CHARS = 100;

const SEARCH_OPTIONS = {
  ...STORE_OPTIONS,
  limit: { type: "string", short: "k" },
  mode: { type: "string" },
  reindex: { type: "boolean" },
} as const;

const INDEX_HELP = `Memories not indexed yet are indexed first (once; a progress bar shows it on a terminal):
a vector of the summary and entities (or of the text, for memories without them), stored in 2 bits
a dimension unless the config's searchVectors says otherwise, and the keyword terms of the text,
summary and entities, kept in the store file. The embedder is named in --json output: ngram-256
(hashed character n-grams, no model needed, English and Chinese) unless the config's searchEmbedder
(or $MEMZIP_SEARCH_EMBEDDER) names a GGUF embedding model.`;

export const searchCommand: Command = {
  name: "search",
  summary: "find memories by meaning and keywords",
  usage: "memzip search QUERY [--limit K] [--mode hybrid|vector|keyword] [--db DB] [--json]",
  help: `Ranks memories by embedding similarity to QUERY and by keyword match (the rarer the query
words a memory holds, the higher; ties by similarity), fused by reciprocal rank (a memory both
find comes first). Words are searched as words: quotes and operators are not query syntax.
${INDEX_HELP}
  -k, --limit K      hits to show (default 10)
  --mode M           hybrid (default), vector or keyword
  --reindex          rebuild the whole index first
  -n, --namespace NS only memories of this namespace
With --json: {"query", "embedder", "indexed", "hits": [{"id", "namespace", "score", "similarity",
"vectorRank", "keywordRank", "preview"}]}.
${STORE_HELP}`,
  options: SEARCH_OPTIONS,
  async run(context) {
    const query = context.positionals.join(" ");
    if (query.trim() === "") throw usage("missing QUERY");
    const limit = parseInteger(context.values.limit, "limit", 1, 1000) ?? 10;
    const mode = parseMode(context.values.mode);
    const engine = openEngine(context);
    try {
      const index = await engine.searchIndex();
      const indexed = await refresh(context, index);
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      const hits = await index.search(query, { limit, mode, ...(namespace ? { namespace } : {}) });
      await report(context, engine, { query, embedder: index.embedderName, indexed }, hits);
      return 0;
    } finally {
      await engine.close();
    }
  },
};

export const relatedCommand: Command = {
  name: "related",
  summary: "list the memories most like one memory",
  usage: "memzip related ID [--limit K] [--db DB] [--json]",
  help: `Ranks memories by embedding similarity to the memory ID (itself left out).
${INDEX_HELP}
  -k, --limit K      memories to show (default 10)
  --reindex          rebuild the whole index first
  -n, --namespace NS only memories of this namespace
With --json: {"id", "embedder", "indexed", "hits": [{"id", "namespace", "score", "similarity", "vectorRank", "preview"}]}.
${STORE_HELP}`,
  options: SEARCH_OPTIONS,
  async run(context) {
    const id = requirePositional(context, 0, "ID");
    const limit = parseInteger(context.values.limit, "limit", 1, 1000) ?? 10;
    const engine = openEngine(context);
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      const home = await engine.locate(id, namespace);
      const index = await engine.searchIndex();
      const indexed = await refresh(context, index);
      const hits = await index.related(id, home, { limit, ...(namespace ? { namespace } : {}) });
      await report(context, engine, { id, embedder: index.embedderName, indexed }, hits);
      return 0;
    } finally {
      await engine.close();
    }
  },
};

function parseMode(value: unknown): "hybrid" | "vector" | "keyword" {
  if (value === undefined) return "hybrid";
  if (value === "hybrid" || value === "vector" || value === "keyword") return value;
  throw usage(`--mode must be hybrid, vector or keyword, not "${String(value)}"`);
}

function progressTo(context: CommandContext): (progress: IndexProgress) => void {
  const bar = new ProgressBar(context.stderr, "index", !context.json);
  return (p) => {
    bar.update(p.indexed, p.indexed, p.total);
    if (p.indexed >= p.total) bar.done();
  };
}

/** Indexes what is new (everything with --reindex); returns how many memories it indexed. */
async function refresh(context: CommandContext, index: SearchIndex): Promise<number> {
  if (context.values.reindex === true) await index.clear();
  return index.refresh(progressTo(context));
}

async function report(context: CommandContext, engine: Engine, head: Record<string, unknown>, hits: SearchHit[]): Promise<void> {
  const rows = [];
  for (const hit of hits) rows.push({ ...hit, preview: await preview(engine, hit.id) });
  const human = rows.length
    ? rows.map((r, i) => `${String(i + 1).padStart(2)}. ${r.id}  score ${r.score.toFixed(4)}  cos ${r.similarity.toFixed(3)}\n    ${r.preview}`).join("\n")
    : "no matches";
  emit(context, { ...head, hits: rows }, human);
}

/** The summary when the memory has one (cheap to read), else the start of its text. */
async function preview(engine: Engine, id: string): Promise<string> {
  const text = (await engine.semanticOf(id))?.summary ?? (await engine.recall(id));
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > PREVIEW_CHARS ? `${line.slice(0, PREVIEW_CHARS - 1)}…` : line;
}
