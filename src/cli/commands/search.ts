import type { Command, CommandContext } from "../command.js";
import { FILTER_OPTIONS, ID_NAMESPACE, READ_NAMESPACE, STORE_OPTIONS } from "../command.js";
import { choices, SEARCH_MODES, type SearchMode } from "../../core/vocabulary.js";
import type { Engine } from "../../engine.js";
import { isOneMemoryError } from "../../errors.js";
import { countUnreadable, NGRAM_MIN_SIMILARITY, type IndexProgress, type SearchHit, type SearchIndex } from "../../search/search.js";
import { pairSafeEnd } from "../../core/text-cut.js";
import { ProgressBar } from "../progress.js";
import { emit, openEngine, parseChoice, parseFilter, parseInteger, requirePositional, terminalSafe, usage } from "../shared.js";

const PREVIEW_CHARS = 100;

const REINDEX_OPTION = { reindex: { type: "boolean", help: "rebuild the whole index first" } } as const;

const FLOOR_OPTION = {
  "min-similarity": {
    type: "string",
    value: "S",
    help: `a memory found by similarity alone is a hit only at or above cosine S, -1–1\n(default ${NGRAM_MIN_SIMILARITY} with the built-in n-gram embedder, 0 with a model; keyword matches always count)`,
  },
} as const;

/** `related` has no keyword side: every hit is one by similarity (newcomer trial of stop 63: the help said otherwise). */
const RELATED_FLOOR_OPTION = {
  "min-similarity": {
    type: "string",
    value: "S",
    help: `only memories at or above cosine S to ID, -1–1 (default ${NGRAM_MIN_SIMILARITY} with the built-in n-gram embedder,\n0 with a model; short or few memories may have none above it: --min-similarity 0 lists the nearest)`,
  },
} as const;

function floorOf(context: CommandContext): number | undefined {
  const value = context.values["min-similarity"];
  if (typeof value !== "string") return undefined;
  const floor = Number(value);
  if (value.trim() === "" || !Number.isFinite(floor) || floor < -1 || floor > 1) throw usage(`--min-similarity ${JSON.stringify(value)} is not a number from -1 to 1`);
  return floor;
}

const INDEX_HELP = `Memories not indexed yet are indexed first (once; a progress bar shows it on a terminal):
a vector of the summary and entities (or of the text, for memories without them), stored in 2 bits
a dimension unless the config's searchVectors says otherwise, and the keyword terms of the text,
summary and entities, kept in the store file. The embedder is named in --json output: ngram-256
(hashed character n-grams, no model needed, English and Chinese) unless the config's searchEmbedder
(or $MEMZIP_SEARCH_EMBEDDER) names a GGUF embedding model. A store this account may not write is searched
in a private copy (its index built there, the copy removed after the command; the store is not changed).
A memory whose text cannot be read (its model or asset missing, its payload damaged) is not indexed:
a warning names it (--json: "unsearchable"), and the next command tries it again.`;

export const searchCommand: Command = {
  name: "search",
  summary: "find memories by meaning and keywords",
  usage: `memzip search QUERY [--limit K] [--mode ${SEARCH_MODES.join("|")}] [-n NS] [--kind K] [--tag T …] [--since TIME] [--until TIME] [--min-similarity S] [--db DB] [--json]`,
  help: `Ranks memories by embedding similarity to QUERY and by keyword match (the rarer the query
words a memory holds, the higher; ties by similarity), fused by reciprocal rank (a memory both
find comes first). Words are searched as words: quotes and operators are not query syntax.
Filters (-n, --kind, --tag, --since, --until) apply before ranking; "no matches" when nothing
reaches the similarity floor and no keyword matches.
${INDEX_HELP}
With --json: {"query", "embedder", "indexed", "unsearchable": [{"id", "namespace", "code", "message"}],
"hits": [{"id", "namespace", "score", "similarity", "vectorRank", "keywordRank", "preview", "previewOf"}]}:
previewOf "summary" (lossy), "text", or "unreadable" (preview holds the error).`,
  options: {
    limit: { type: "string", short: "k", value: "K", help: "hits to show (default 10)" },
    mode: { type: "string", value: "M", help: `${choices(SEARCH_MODES)} (default ${SEARCH_MODES[0]})` },
    ...FILTER_OPTIONS,
    ...FLOOR_OPTION,
    ...REINDEX_OPTION,
    ...READ_NAMESPACE,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const query = context.positionals.join(" ");
    if (query.trim() === "") throw usage("missing QUERY");
    const limit = parseInteger(context.values.limit, "limit", 1, 1000) ?? 10;
    const mode: SearchMode = parseChoice(SEARCH_MODES, context.values.mode, "mode", SEARCH_MODES[0]);
    const filter = parseFilter(context);
    const minSimilarity = floorOf(context);
    const engine = openEngine(context, {}, { readOnly: true, searchable: true });
    try {
      const index = await engine.searchIndex();
      const indexed = await refresh(context, index);
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      const hits = await engine.searchMemories(query, { limit, mode, filter, ...(namespace ? { namespace } : {}), ...(minSimilarity === undefined ? {} : { minSimilarity }) });
      await report(context, engine, { query, embedder: index.embedderName, indexed, unsearchable: await unsearchable(context, engine, namespace) }, hits);
      return 0;
    } finally {
      await engine.close();
    }
  },
};

export const relatedCommand: Command = {
  name: "related",
  positionals: 1,
  summary: "list the memories most like one memory",
  usage: "memzip related ID [--limit K] [-n NS] [--kind K] [--tag T …] [--since TIME] [--until TIME] [--min-similarity S] [--db DB] [--json]",
  help: `Ranks memories by embedding similarity to the memory ID (itself left out).
${INDEX_HELP}
With --json: {"id", "embedder", "indexed", "unsearchable": [{"id", "namespace", "code", "message"}], "hits": [{"id",
"namespace", "score", "similarity", "vectorRank", "preview", "previewOf"}]}: previewOf "summary" (lossy), "text", or "unreadable" (preview holds the error).`,
  options: {
    limit: { type: "string", short: "k", value: "K", help: "memories to show (default 10)" },
    ...FILTER_OPTIONS,
    ...RELATED_FLOOR_OPTION,
    ...REINDEX_OPTION,
    namespace: { ...ID_NAMESPACE.namespace, help: "ID's namespace, and only its memories are listed (default: the one\nnamespace that holds ID; hits from every namespace)" },
    ...STORE_OPTIONS,
  },
  async run(context) {
    const id = requirePositional(context, 0, "ID");
    const limit = parseInteger(context.values.limit, "limit", 1, 1000) ?? 10;
    const filter = parseFilter(context);
    const minSimilarity = floorOf(context);
    const engine = openEngine(context, {}, { readOnly: true, searchable: true });
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      const index = await engine.searchIndex();
      const indexed = await refresh(context, index);
      const hits = await engine.relatedMemories(id, { limit, filter, ...(namespace ? { namespace } : {}), ...(minSimilarity === undefined ? {} : { minSimilarity }) });
      await report(context, engine, { id, embedder: index.embedderName, indexed, unsearchable: await unsearchable(context, engine, namespace) }, hits);
      if (hits.length === 0 && minSimilarity === undefined && !context.json) {
        context.stderr.write(`memzip: no memory is at or above the default similarity floor to ${JSON.stringify(id)}; \`--min-similarity 0\` lists the nearest anyway\n`);
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};

function progressTo(context: CommandContext): (progress: IndexProgress) => void {
  const bar = new ProgressBar(context.stderr, "index", !context.json);
  return (p) => {
    const done = p.indexed + p.unreadable;
    bar.update(done, done, p.total);
    if (done >= p.total) bar.done();
  };
}

/** Memories shown in the warning about those search left out; --json lists them all. */
const UNSEARCHABLE_SHOWN = 3;

/**
 * The memories (of `namespace`, or all) that search left out because their text could not be read:
 * listed in --json (`unsearchable`), and a warning on stderr names the first of them and the fix.
 */
async function unsearchable(context: CommandContext, engine: Engine, namespace: string | undefined): Promise<{ id: string; namespace: string; code: string; message: string; memories?: number }[]> {
  const left = await engine.unsearchable(namespace === undefined ? {} : { namespace });
  if (left.length > 0 && !context.json) {
    const shown = left.slice(0, UNSEARCHABLE_SHOWN).map((m) => `"${m.id}" (namespace ${JSON.stringify(m.namespace)}): ${m.code}: ${m.message}`);
    const more = left.length > UNSEARCHABLE_SHOWN ? `; and ${left.length - UNSEARCHABLE_SHOWN} more` : "";
    const fixes = [...new Set(left.map((m) => m.hint ?? "run `memzip verify` for what each needs"))].slice(0, UNSEARCHABLE_SHOWN);
    const count = countUnreadable(left);
    const what = count === 1 ? "1 memory was not searched: its text cannot be read" : `${count} memories were not searched: their texts cannot be read`;
    context.stderr.write(`memzip: warning: ${what}: ${shown.join("; ")}${more}\n${fixes.map((fix) => `  fix: ${fix}\n`).join("")}`);
  }
  return left.map(({ id, namespace: ns, code, message, memories }) => ({ id, namespace: ns, code, message, ...(memories === undefined ? {} : { memories }) }));
}

/** Indexes what is new (everything with --reindex); returns how many memories it indexed. */
async function refresh(context: CommandContext, index: SearchIndex): Promise<number> {
  if (context.values.reindex === true) await index.clear();
  return index.refresh(progressTo(context));
}

async function report(context: CommandContext, engine: Engine, head: Record<string, unknown>, hits: SearchHit[]): Promise<void> {
  const rows: (SearchHit & Preview)[] = [];
  for (const hit of hits) rows.push({ ...hit, ...(await preview(engine, hit.id, hit.namespace)) });
  // A summary is lossy: it is marked as one, never shown as the memory's text.
  // A memory's text is shown in a listing with its control characters escaped: an escape sequence in it reached the terminal.
  const shown = (r: Preview) => terminalSafe(r.previewOf === "summary" ? `(summary) ${r.preview}` : r.previewOf === "unreadable" ? `(cannot read it: ${r.preview})` : r.preview);
  const human = rows.length
    ? rows.map((r, i) => `${String(i + 1).padStart(2)}. ${r.id}  score ${r.score.toFixed(4)}  cos ${r.similarity.toFixed(3)}\n    ${shown(r)}`).join("\n")
    : "no matches";
  emit(context, { ...head, hits: rows }, human);
}

interface Preview {
  preview: string;
  previewOf: "summary" | "text" | "unreadable";
}

/**
 * The summary when the memory has one (cheap to read; `previewOf: "summary"`), else the start of its text; a memory
 * whose text cannot be read (its model or asset gone, its payload damaged) is listed with the error, not failing the
 * whole search (`previewOf: "unreadable"`).
 */
async function preview(engine: Engine, id: string, namespace: string): Promise<Preview> {
  const summary = (await engine.semanticOf(id, namespace))?.summary;
  let text: string;
  try {
    text = summary ?? (await engine.recall(id, { namespace }));
  } catch (error) {
    if (!isOneMemoryError(error)) throw error;
    return { preview: `${error.code}: ${error.message}`, previewOf: "unreadable" };
  }
  const line = text.replace(/\s+/g, " ").trim();
  return { preview: line.length > PREVIEW_CHARS ? `${line.slice(0, pairSafeEnd(line, PREVIEW_CHARS - 1))}…` : line, previewOf: summary === undefined ? "text" : "summary" };
}

