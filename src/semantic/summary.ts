/**
 * The semantic form of a memory: a bounded summary plus typed entities. Lossy by design — the
 * exact text is always stored beside it by an exact codec. This module is pure: prompts, the JSON
 * schema the model's answer must follow, and the validation of that answer.
 */
import { MemzipError, ErrorCode } from "../errors.js";
import type { ChatMessage } from "../model/backend.js";
import { ENTITY_TYPES, type Entity, type EntityType } from "./entities.js";
import { languageName } from "./language.js";
import { parseLooseJson } from "../codec/json-repair.js";

export interface SemanticRecord {
  summary: string;
  entities: Entity[];
  /** `backend/model` that wrote the summary. */
  source: string;
}

export interface SummaryOptions {
  /** Longest summary kept, in characters. Defaults to 280. */
  maxChars?: number;
  /** The system prompt; `{maxChars}` is replaced. */
  prompt?: string;
  /** The memory's language ("zh", "en", …); the prompt asks for the summary in it. "und" or none: not named. */
  language?: string;
}

/** The sentence that asks for an answer in the memory's language, when it is known. */
function inLanguage(what: string, language: string | undefined): string {
  return language && language !== "und" ? ` Write ${what} in ${languageName(language)}, the language of the memory.` : "";
}

export const DEFAULT_SUMMARY_PROMPT =
  "You compress an AI agent's memory. Reply with JSON only: a summary of at most {maxChars} characters that keeps every fact an agent " +
  "would need later, in the memory's own language, and the entities it names (people, organizations, places, dates and times, numbers, " +
  "amounts, emails, URLs, code identifiers), each copied exactly as written.";

/** The JSON schema the model's answer is constrained to (grammar for llama, `format` for Ollama, `response_format` for OpenAI). */
export function summarySchema(maxChars: number): Record<string, unknown> {
  return {
    type: "object",
    properties: {
      summary: { type: "string", maxLength: maxChars },
      entities: {
        type: "array",
        maxItems: 32,
        items: {
          type: "object",
          properties: { type: { enum: [...ENTITY_TYPES] }, text: { type: "string", maxLength: 200 } },
          required: ["type", "text"],
          additionalProperties: false,
        },
      },
    },
    required: ["summary", "entities"],
    additionalProperties: false,
  };
}

export function summaryMessages(text: string, options: SummaryOptions = {}): ChatMessage[] {
  const maxChars = options.maxChars ?? 280;
  return [
    { role: "system", content: (options.prompt ?? DEFAULT_SUMMARY_PROMPT).replaceAll("{maxChars}", String(maxChars)) + inLanguage("the summary", options.language) },
    { role: "user", content: text },
  ];
}

/**
 * Checks a model's answer after parsing, whatever the backend promised: JSON of the schema's
 * shape, the summary cut to `maxChars`, and only entities whose text occurs in the memory (with
 * their offsets) — the model may not invent them. Merges the rule-based entities in.
 */
export function parseSummaryAnswer(answer: string, original: string, ruleEntities: readonly Entity[], source: string, maxChars = 280): SemanticRecord {
  return parseSummaryAnswerLoose(answer, original, ruleEntities, source, maxChars).record;
}

/**
 * `parseSummaryAnswer`, also telling whether the JSON had to be repaired first (code fences,
 * single quotes, trailing commas, an object cut off: see `parseLooseJson`). Throws
 * `E_BACKEND_REJECTED` when it cannot be repaired or does not follow the schema.
 */
export function parseSummaryAnswerLoose(answer: string, original: string, ruleEntities: readonly Entity[], source: string, maxChars = 280): { record: SemanticRecord; repaired: boolean } {
  let parsed: unknown;
  let repaired: boolean;
  try {
    ({ value: parsed, repaired } = parseLooseJson(answer));
  } catch (cause) {
    throw new MemzipError(ErrorCode.BACKEND_REJECTED, `the model's summary is not JSON: ${answer.slice(0, 80)}`, { cause, hint: "Use a model that follows JSON schemas, or a stricter prompt." });
  }
  const object = parsed as { summary?: unknown; entities?: unknown };
  if (typeof object !== "object" || object === null || typeof object.summary !== "string" || !Array.isArray(object.entities)) {
    throw new MemzipError(ErrorCode.BACKEND_REJECTED, "the model's summary does not follow the schema (summary string, entities array)");
  }
  // Well-formed and well-formed only: a lone surrogate would be stored as U+FFFD, a summary the model did not write.
  const summary = Array.from(object.summary.trim()).slice(0, maxChars).join("");
  if (summary === "" || /[\uD800-\uDFFF]/u.test(summary)) {
    throw new MemzipError(ErrorCode.BACKEND_REJECTED, summary === "" ? "the model's summary is empty" : "the model's summary holds half of a surrogate pair", {
      hint: "The next backend or the local fallback describes the memory; a model that keeps answering so needs a stricter prompt.",
    });
  }
  const entities: Entity[] = [...ruleEntities];
  for (const item of object.entities as unknown[]) {
    const { type, text } = (item ?? {}) as { type?: unknown; text?: unknown };
    if (typeof text !== "string" || text.trim() === "" || !(ENTITY_TYPES as readonly unknown[]).includes(type)) continue;
    const start = wholeOccurrence(original, text);
    if (start === -1) continue;
    const end = start + text.length;
    if (entities.some((e) => e.start < end && start < e.end)) continue;
    entities.push({ type: type as EntityType, text, start, end });
  }
  entities.sort((a, b) => a.start - b.start);
  return { record: { summary, entities, source }, repaired };
}

/**
 * Letters and digits of scripts that write a space between words. Han, kana and Thai write none, and Korean attaches
 * particles to a name ("서울에서"): there an entity may touch the characters around it.
 */
const SPACED_WORD_CHAR = /[\p{Script=Latin}\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Georgian}\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Devanagari}\p{Nd}]/u;

/**
 * Where `text` first occurs in `original` as a whole: not inside a word ("a" in "case2" is no entity). A letter or digit
 * of a space-separated script at the entity's edge may not touch one outside it.
 */
function wholeOccurrence(original: string, text: string): number {
  const first = String.fromCodePoint(text.codePointAt(0) as number);
  const last = Array.from(text).at(-1) as string;
  const cuts = (inside: string, outside: string | undefined) => outside !== undefined && SPACED_WORD_CHAR.test(inside) && SPACED_WORD_CHAR.test(outside) && /[\p{L}\p{N}]/u.test(inside);
  for (let start = original.indexOf(text); start !== -1; start = original.indexOf(text, start + 1)) {
    const before = start > 0 ? Array.from(original.slice(Math.max(0, start - 2), start)).at(-1) : undefined;
    const after = original.codePointAt(start + text.length);
    if (!cuts(first, before) && !cuts(last, after === undefined ? undefined : String.fromCodePoint(after))) return start;
  }
  return -1;
}

/** The prompt that asks a model to write a memory back out from its summary and entities (lossy). */
export function rebuildMessages(record: SemanticRecord, language?: string): ChatMessage[] {
  return [
    { role: "system", content: "Rewrite the memory in full from its summary and entities. Keep every entity exactly as given. Reply with the memory text only." + inLanguage("it", language) },
    { role: "user", content: `Summary: ${record.summary}\nEntities: ${record.entities.map((e) => `${e.type}: ${e.text}`).join("; ")}` },
  ];
}

/** Text the keyword index and embeddings see for a memory: the summary and the entities. */
export function indexText(record: Pick<SemanticRecord, "summary" | "entities">): string {
  return [record.summary, ...record.entities.map((e) => e.text)].filter(Boolean).join("\n");
}
