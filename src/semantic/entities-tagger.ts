import { readFileSync } from "node:fs";
import { ErrorCode, MemzipError } from "../errors.js";
import type { Entity, EntityExtractor, EntityType } from "./entities.js";
import { entityExtractor, fold, jiebaWords, loadCompromise, loadPersonNames, loadWorldPlaces, ZH_SURNAME_START, zhWordFrequencyOf } from "./entities-nlp.js";

/**
 * A small statistical tagger for the names (person, organisation, place) beside the rules: an
 * averaged perceptron over BIO labels, decoded greedily left to right. English tokens carry their
 * word shape, lower-case form, prefixes and suffixes, neighbours, compromise's tags, gazetteer hits
 * (world places, first names and surnames); Chinese characters carry jieba's word boundaries and
 * part-of-speech tags, the surname table, neighbours. Both carry the rules+nlp extractor's own
 * proposal, so the tagger learns where to trust it. Trained by `npm run train:entities` on the
 * team's labelled sets (deterministic, seeded); the weights are a committed asset
 * (assets/entity-tagger.json) loaded on first use.
 */

export const NAME_TYPES: readonly EntityType[] = ["person", "organization", "place"];
export const LABELS = ["O", ...NAME_TYPES.flatMap((type) => [`B-${type}`, `I-${type}`])] as const;
const isName = (type: EntityType) => NAME_TYPES.includes(type);

export interface Token {
  text: string;
  start: number;
  end: number;
  han: boolean;
}

/** Chinese characters one by one; runs of letters and digits (joined by hyphens); any other non-space character alone. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const match of text.matchAll(/\p{Script=Han}|(?:(?!\p{Script=Han})[\p{L}\p{M}\p{N}_])+(?:-(?:(?!\p{Script=Han})[\p{L}\p{M}\p{N}_])+)*|\S/gu)) {
    const start = match.index;
    tokens.push({ text: match[0], start, end: start + match[0].length, han: /^\p{Script=Han}$/u.test(match[0]) });
  }
  return tokens;
}

const shape = (word: string) =>
  word
    .replace(/\p{Lu}/gu, "X")
    .replace(/\p{Ll}/gu, "x")
    .replace(/\p{N}/gu, "d")
    .replace(/(.)\1+/gu, "$1$1");

const bucket = (n: number) => (n <= 0 ? "0" : String(Math.min(6, Math.floor(Math.log10(n)))));

/** The static features of every token of a text (the previous label's features are added while decoding). */
export function tokenFeatures(text: string, tokens: readonly Token[], proposal: readonly Entity[] = entityExtractor.extract(text)): string[][] {
  const latin = /[A-Za-z]{2}/.test(text);
  const han = /\p{Script=Han}/u.test(text);
  const terms: { start: number; end: number; tags: string[] }[] = [];
  if (latin) {
    const doc = loadCompromise()(text).json({ offset: true }) as { terms: { offset: { start: number; length: number }; tags: string[] }[] }[];
    for (const sentence of doc) for (const term of sentence.terms) terms.push({ start: term.offset.start, end: term.offset.start + term.offset.length, tags: term.tags });
  }
  const words = han ? jiebaWords(text) : [];
  const places = latin ? loadWorldPlaces() : undefined;
  const people = latin ? loadPersonNames() : undefined;
  const lower = tokens.map((t) => t.text.toLowerCase());
  const at = (i: number) => (i < 0 ? "<s>" : i >= tokens.length ? "</s>" : (lower[i] as string));
  const rules = proposalFeatures(tokens, proposal);
  return tokens.map((token, i) => {
    const f: string[] = ["b", `w=${at(i)}`, `w-1=${at(i - 1)}`, `w+1=${at(i + 1)}`, `w-2=${at(i - 2)}`, `w+2=${at(i + 2)}`, `w-1w=${at(i - 1)}|${at(i)}`, `ww+1=${at(i)}|${at(i + 1)}`];
    f.push(...(rules[i] as string[]));
    const previous = tokens[i - 1];
    if (!previous || /^[.!?;:。！？；：\n]$/u.test(previous.text)) f.push("first");
    if (token.han) {
      f.push(`c-1c=${at(i - 1)}${at(i)}`, `cc+1=${at(i)}${at(i + 1)}`, `c-1c+1=${at(i - 1)}|${at(i + 1)}`);
      if (ZH_SURNAME_START.test(token.text)) f.push("surname");
      if (i > 0 && ZH_SURNAME_START.test(tokens[i - 1]?.text ?? "")) f.push("surname-1");
      if (i > 1 && ZH_SURNAME_START.test(tokens[i - 2]?.text ?? "")) f.push("surname-2");
      const wordAt = words.findIndex((w) => w.start <= token.start && token.start < w.end);
      const word = words[wordAt];
      if (word) {
        const position = word.word.length === 1 ? "S" : word.start === token.start ? "B" : word.end === token.end ? "E" : "M";
        f.push(`jp=${position}`, `jt=${word.tag}`, `jpt=${position}|${word.tag}`, `jw=${word.word}`, `jf=${bucket(zhWordFrequencyOf(word.word))}|${word.word.length}`);
        f.push(`jt-1=${words[wordAt - 1]?.tag ?? "<s>"}`, `jt+1=${words[wordAt + 1]?.tag ?? "</s>"}`, `jw-1=${words[wordAt - 1]?.word ?? "<s>"}`, `jw+1=${words[wordAt + 1]?.word ?? "</s>"}`);
      }
    } else {
      const word = token.text;
      f.push(`s=${shape(word)}`, `p1=${word.slice(0, 1)}`, `p3=${lower[i]?.slice(0, 3)}`, `x2=${lower[i]?.slice(-2)}`, `x3=${lower[i]?.slice(-3)}`, `s-1=${previous ? shape(previous.text) : "<s>"}`, `s+1=${tokens[i + 1] ? shape(tokens[i + 1]?.text ?? "") : "</s>"}`);
      const term = terms.find((t) => t.start <= token.start && token.start < t.end);
      for (const tag of term?.tags ?? []) f.push(`t=${tag}`);
      if (places && /^\p{Lu}/u.test(word)) {
        const population = places.get(fold(word));
        if (population !== undefined) f.push(`gaz=${bucket(population)}`);
        const next = tokens[i + 1];
        if (next && places.has(fold(`${word} ${next.text}`))) f.push("gaz2=B");
        if (previous && places.has(fold(`${previous.text} ${word}`))) f.push("gaz2=I");
      }
      if (people?.first.has(word)) f.push("first-name");
      if (people?.last.has(word)) f.push("last-name");
    }
    return f;
  });
}

/** The features that say what the rules+nlp extractor proposed at each token (names as BIO, other types as S-type). */
export function proposalFeatures(tokens: readonly Token[], proposal: readonly Entity[]): string[][] {
  const ruleLabel = tokens.map((token) => {
    const entity = proposal.find((e) => e.start < token.end && token.start < e.end);
    if (!entity) return "O";
    return isName(entity.type) ? `${entity.start >= token.start ? "B" : "I"}-${entity.type}` : `S-${entity.type}`;
  });
  return tokens.map((token, i) => {
    const rule = ruleLabel[i] as string;
    return [`r=${rule}`, `r-1=${ruleLabel[i - 1] ?? "<s>"}`, `r+1=${ruleLabel[i + 1] ?? "</s>"}`, `r|w=${rule}|${token.text.toLowerCase()}`];
  });
}

/** Label indexes allowed after a label: I-x only after B-x or I-x. */
const allowed = (previous: number, label: number) => {
  const name = LABELS[label] as string;
  if (!name.startsWith("I-")) return true;
  const before = LABELS[previous] ?? "O";
  return before.slice(2) === name.slice(2) && before !== "O";
};

export interface TaggerWeights {
  labels: readonly string[];
  /** Feature → one weight per label. */
  weights: Map<string, Float64Array | number[]>;
}

function decode(model: TaggerWeights, features: readonly string[][]): number[] {
  const labels: number[] = [];
  const scores = new Float64Array(LABELS.length);
  let previous = 0;
  for (const static_ of features) {
    scores.fill(0);
    for (const feature of [...static_, `y-1=${previous}`, `y-1|${static_[1]}=${previous}`]) {
      const w = model.weights.get(feature);
      if (w) for (let l = 0; l < scores.length; l++) scores[l] = (scores[l] as number) + (w[l] as number);
    }
    let best = 0;
    for (let l = 1; l < scores.length; l++) if (allowed(previous, l) && (scores[l] as number) > (scores[best] as number)) best = l;
    labels.push(best);
    previous = best;
  }
  return labels;
}

/** Spans of BIO labels over tokens. */
function spans(text: string, tokens: readonly Token[], labels: readonly number[]): Entity[] {
  const found: Entity[] = [];
  let open: { type: EntityType; start: number; end: number } | undefined;
  const close = () => {
    if (open) found.push({ ...open, text: text.slice(open.start, open.end) });
    open = undefined;
  };
  tokens.forEach((token, i) => {
    const label = LABELS[labels[i] as number] as string;
    if (label === "O") return close();
    const type = label.slice(2) as EntityType;
    if (label.startsWith("B-") || open?.type !== type) {
      close();
      open = { type, start: token.start, end: token.end };
    } else {
      open.end = token.end;
    }
  });
  close();
  return found;
}

/** The names the tagger finds in a text from its tokens' static features. */
export function namesOf(model: TaggerWeights, text: string, tokens: readonly Token[], features: readonly string[][]): Entity[] {
  return spans(text, tokens, decode(model, features));
}

/** The names the tagger finds in a text, with the rules+nlp proposal it read. */
export function tagNames(model: TaggerWeights, text: string): { names: Entity[]; proposal: Entity[] } {
  const proposal = entityExtractor.extract(text);
  const tokens = tokenize(text);
  return { names: namesOf(model, text, tokens, tokenFeatures(text, tokens, proposal)), proposal };
}

/** The entities of a text from the rules+nlp proposal and the tagger's names, in a mode. */
export function combine(proposal: readonly Entity[], names: readonly Entity[], mode: TaggerMode): Entity[] {
  const kept = mode === "tagger" ? proposal.filter((e) => !isName(e.type)) : proposal;
  const added = names.filter((n) => !kept.some((e) => e.start < n.end && n.start < e.end));
  return [...kept, ...added].sort((a, b) => a.start - b.start);
}

/**
 * `tagger`: the rules keep the structured types and the tagger decides the names; `union`: the
 * rules+nlp entities, plus the tagger's names that overlap none of them.
 */
export type TaggerMode = "tagger" | "union";

export function taggedExtractor(model: () => TaggerWeights, mode: TaggerMode = "tagger"): EntityExtractor {
  return {
    name: mode === "tagger" ? "rules+tagger" : "rules+nlp+tagger",
    extract(text) {
      const { names, proposal } = tagNames(model(), text);
      return combine(proposal, names, mode);
    },
  };
}

/** The weights file's JSON: the labels, then each feature with its non-zero weights as "label:weight …", scaled by `scale` and rounded. */
export interface TaggerFile {
  version: 1;
  labels: string[];
  scale: number;
  weights: Record<string, string>;
}

export function weightsFromFile(file: TaggerFile): TaggerWeights {
  if (file.version !== 1 || file.labels.join(" ") !== LABELS.join(" ")) {
    throw new MemzipError(ErrorCode.VERSION, `the entity tagger's weights (version ${String(file.version)}, labels ${file.labels.join(" ")}) are not this tagger's`, {
      hint: "rebuild assets/entity-tagger.json with `npm run train:entities`",
    });
  }
  const weights = new Map<string, Float64Array>();
  for (const [feature, sparse] of Object.entries(file.weights)) {
    const w = new Float64Array(LABELS.length);
    for (const pair of sparse.split(" ")) {
      const [label, value] = pair.split(":");
      w[Number(label)] = Number(value) / file.scale;
    }
    weights.set(feature, w);
  }
  return { labels: file.labels, weights };
}

export const TAGGER_ASSET = new URL("../../../assets/entity-tagger.json", import.meta.url);
let loaded: TaggerWeights | undefined;
/** The committed weights, read on first use (no network). */
export function loadTagger(): TaggerWeights {
  loaded ??= weightsFromFile(JSON.parse(readFileSync(TAGGER_ASSET, "utf8")) as TaggerFile);
  return loaded;
}

/**
 * The rules+nlp entities plus the names the trained tagger finds that overlap none of them (from
 * the committed weights): the mode cross-validation chose (`npm run train:entities -- --cv`).
 */
export const taggerEntityExtractor: EntityExtractor = taggedExtractor(loadTagger, "union");
