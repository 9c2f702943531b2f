import { createRequire } from "node:module";
import type nlpType from "compromise";
import type * as JiebaModule from "@node-rs/jieba";
import type { Entity, EntityExtractor, EntityType } from "./entities.js";
import { LIBRARY_PRIORITY, resolveOverlaps, ruleCandidates, type Candidate } from "./entities-rules.js";
import { ZH_CLEAR_SURNAMES, ZH_COMPOUND_SURNAMES as ZH_COMPOUNDS } from "./zh-surnames.js";

const require = createRequire(import.meta.url);

/**
 * Entities v2: the rules for every structured type (formats, units, versions, paths, hashes, ids,
 * money) and, for people, organisations and places beyond any list, two NLP libraries — compromise
 * (English: people, places, organisations) and jieba (Chinese segmentation with part-of-speech
 * tags: nr person, ns place, nt organisation). The libraries load on first use (about a second
 * each), from their packages: no network. Rule spans win overlaps with library spans.
 */
export const entityExtractor: EntityExtractor = {
  name: "rules+nlp",
  extract(text) {
    const candidates = ruleCandidates(text);
    if (/[A-Za-z]{2}/.test(text)) candidates.push(...englishNames(text));
    if (/\p{Script=Han}/u.test(text)) candidates.push(...chineseNames(text));
    // A library name that continues a rule's name at the same start ("范文" → "范文静") takes the rule's place.
    for (const candidate of candidates) {
      if (candidate.priority < LIBRARY_PRIORITY || candidate.type !== "person" || !/^\p{Script=Han}+$/u.test(candidate.text)) continue;
      const shorter = candidates.find((c) => c.type === "person" && c.priority < LIBRARY_PRIORITY && c.start === candidate.start && c.end < candidate.end);
      if (shorter) candidate.priority = shorter.priority - 0.01;
    }
    // A library organisation that continues a rule's place ("中国移动" over "中国") takes its place.
    for (const candidate of candidates) {
      if (candidate.priority < LIBRARY_PRIORITY - 1 || candidate.type !== "organization") continue;
      const inner = candidates.find((c) => c.priority < LIBRARY_PRIORITY - 1 && c.type === "place" && c.start === candidate.start && c.end < candidate.end);
      if (inner) candidate.priority = inner.priority - 0.01;
    }
    return resolveOverlaps(/\p{Script=Han}/u.test(text) ? withoutCommonWordNames(text, candidates) : candidates);
  },
};

/** jieba's reading of a text: each word with its offsets and part-of-speech tag. */
export function jiebaWords(text: string): { word: string; tag: string; start: number; end: number }[] {
  const words: { word: string; tag: string; start: number; end: number }[] = [];
  let at = 0;
  for (const { word, tag } of loadJieba().tag(text, true)) {
    const start = text.indexOf(word, at);
    if (start < 0) continue;
    at = start + word.length;
    words.push({ word, tag, start, end: at });
  }
  return words;
}

/**
 * Drops Chinese person spans that jieba reads as a common word from their first character
 * ("许可证", "董事会", "谢谢", "桂林") or as a surname-like character before a place ("向/p 普洱/ns").
 */
function withoutCommonWordNames(text: string, candidates: Candidate[]): Candidate[] {
  const words = jiebaWords(text);
  return candidates.filter((c) => {
    if (c.type !== "person" || !/^\p{Script=Han}{2,}/u.test(c.text)) return true;
    if (new RegExp(`^(?:${ZH_COMPOUND_SURNAMES})`, "u").test(c.text)) return true;
    const first = words.find((w) => w.start === c.start);
    if (first && first.word.length >= 2 && !/^(?:nr|nrfg|nrt|x)$/.test(first.tag)) return false;
    // A place ("桂林", "石家庄") or a frequent word ("谢谢", "许可证") at the start: not a name.
    const frequency = zhWordFrequency?.get(c.text) ?? 0;
    if (zhPlaceStems?.has(c.text) || frequency >= (c.text.length === 2 ? 1000 : 200)) return false;
    const rest = words.find((w) => w.start === c.start + 1);
    return !(first?.word.length === 1 && !/^(?:nr|nrfg|nrt)$/.test(first.tag) && rest && /^(?:ns|nt)$/.test(rest.tag) && rest.end >= c.end);
  });
}

let compromise: typeof nlpType | undefined;
/** World cities (GeoNames, from city-timezones) and their provinces, folded to ASCII: name → population (0 for a province). */
let worldPlaces: Map<string, number> | undefined;
let jieba: JiebaModule.Jieba | undefined;
/** Chinese cities, provinces and counties: jieba's place words ending in 市, 省 or 县, without the suffix ("大连市" → "大连"). */
let zhPlaceStems: Set<string> | undefined;
/** jieba's dictionary frequency of its words of two to four characters ("谢谢" 1089, "李娜" 438, "市场" 26927). */
let zhWordFrequency: Map<string, number> | undefined;

export function loadCompromise(): typeof nlpType {
  compromise ??= require("compromise") as typeof nlpType;
  return compromise;
}

type EnglishDoc = ReturnType<typeof nlpType>;
let parseShare: { text: string; doc?: EnglishDoc } | undefined;

/**
 * Runs `work` (synchronous) with one compromise parse of `text` shared by every step that parses that text: the
 * proposal's names and the tagger's term tags read the same parse, which is the larger part of the time on long texts.
 * The parse is dropped when `work` returns.
 */
export function sharingEnglishParse<T>(text: string, work: () => T): T {
  const outer = parseShare;
  parseShare = { text };
  try {
    return work();
  } finally {
    parseShare = outer;
  }
}

/** compromise's parse of `text`: the shared one inside `sharingEnglishParse` of the same text, else a new one. */
export function parseEnglish(text: string): EnglishDoc {
  if (parseShare?.text === text) return (parseShare.doc ??= loadCompromise()(text));
  return loadCompromise()(text);
}

export const fold = (name: string) => name.normalize("NFD").replace(/\p{M}/gu, "");

export function loadWorldPlaces(): Map<string, number> {
  if (!worldPlaces) {
    worldPlaces = new Map();
    const { cityMapping } = require("city-timezones") as { cityMapping: { city: string; city_ascii: string; province: string; pop: number }[] };
    for (const { city, city_ascii: ascii, province, pop } of cityMapping) {
      for (const name of [city, ascii]) worldPlaces.set(fold(name), Math.max(pop, worldPlaces.get(fold(name)) ?? 0));
      // "Cluj-Napoca" is also "Cluj".
      const head = /^(\p{Lu}\p{Ll}{3,})-\p{Lu}/u.exec(fold(city))?.[1];
      if (head && !worldPlaces.has(head)) worldPlaces.set(head, pop);
      if (province && !worldPlaces.has(fold(province))) worldPlaces.set(fold(province), 0);
    }
  }
  return worldPlaces;
}

/** compromise's lexicon: lower-case word → its tags ("split" → "Singular", "oslo" → "City"). */
function englishLexicon(): Record<string, string | undefined> {
  return (loadCompromise() as unknown as { world: () => { model: { one: { lexicon: Record<string, string | undefined> } } } }).world().model.one.lexicon;
}

function loadJieba(): JiebaModule.Jieba {
  if (!jieba) {
    const { Jieba: JiebaClass } = require("@node-rs/jieba") as typeof JiebaModule;
    const { dict } = require("@node-rs/jieba/dict") as { dict: Uint8Array };
    jieba = JiebaClass.withDict(dict);
    zhPlaceStems = new Set();
    zhWordFrequency = new Map();
    for (const line of Buffer.from(dict).toString("utf8").split("\n")) {
      const [word, freq, tag] = line.split(" ");
      if (tag === "ns" && word && /^\p{Script=Han}{2,4}[市省县]$/u.test(word)) zhPlaceStems.add(word.slice(0, -1));
      if (word && /^\p{Script=Han}{2,4}$/u.test(word)) zhWordFrequency.set(word, Number(freq));
    }
  }
  return jieba;
}

const EN_PERSON_VERBS =
  "said|says|asked|asks|wants|wanted|thinks|thought|prefers|preferred|told|replied|promised|agreed|mentioned|suggested|emailed|flew|flies|wrote|is on leave|was on leave|" +
  "suspects|suspected|believes|believed|feels|felt|landed|lands|arrives|arrived|starts as|started as|is out|was out|is off|is moving|moves to|moved to|meets|met|meet|" +
  "likes|liked|loves|loved|hates|dislikes|lives|lived|joined|joins|will join|quit|resigned|retired|visited|is allergic|is vegetarian|is vegan|is pregnant|is sick|" +
  "is on holiday|is on vacation|was born|studies|studied|graduated|speaks|called|phoned|texted|promised|apologi[sz]ed|complained|volunteered|is travell?ing|took over|hands over|handed over";
const EN_RELATIONS = "daughter|son|wife|husband|partner|mother|father|manager|boss|colleague|friend|cat|dog|assistant|child|brother|sister|nanny|doctor|landlord|neighbour|neighbor|lead|mentor|dentist|lawyer|accountant|contact|coach|tutor|teacher|reviewer|owner";
const EN_NAME = "[A-Z][a-z]+(?:-[a-z]+)?";
const EN_PERSON_CUES = new RegExp(
  `\\b(${EN_NAME}(?:\\s${EN_NAME})?)(?=\\s(?:${EN_PERSON_VERBS})\\b)|\\b(${EN_NAME})(?=\\sand\\s${EN_NAME}\\s(?:${EN_PERSON_VERBS})\\b)|\\b(?:${EN_RELATIONS})(?:,?\\s|\\s(?:is|was)\\s)(${EN_NAME}(?:\\s${EN_NAME})?)\\b`,
  "g",
);

/** Words compromise takes for names that are not names in agent memories. */
const NOT_ENGLISH_NAMES = /^(?:I|We|You|They|He|She|It|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Today|Tomorrow|Yesterday|PM|AM|UTC|API|CI|PR|QA|OK)$/;

function englishNames(text: string): Candidate[] {
  const doc = parseEnglish(text);
  const found: Candidate[] = [];
  const add = (type: EntityType, views: { text: string; offset: { start: number; length: number } }[]) => {
    for (const view of views) {
      let start = view.offset.start;
      let span = text.slice(start, start + view.offset.length);
      // Trailing punctuation and possessives belong to the sentence, not the name.
      span = span.replace(/\s*\(.*$/u, "").replace(/(?:['’]s)?[^\p{L}\p{N}.)]*$/u, "").replace(/\.$/, (dot) => (/\b(?:Inc|Ltd|Corp|Co|Jr|Sr|St)\.$/.test(span) ? dot : ""));
      const lead = /^(?:the|The)\s+/.exec(span)?.[0].length ?? 0;
      start += lead;
      span = span.slice(lead);
      if (type === "organization" && (/^[A-Z]{1,3}$/.test(span) || /\s\p{Ll}+$/u.test(span))) continue;
      // compromise often keeps only the surname of a first name it does not know: "Camille Martin".
      const left = type === "person" ? /(?:^|[^\p{L}.])(\p{Lu}\p{Ll}+)\s+$/u.exec(text.slice(Math.max(0, start - 30), start)) : null;
      if (left && !NOT_ENGLISH_NAMES.test(left[1] as string) && !/^(?:Ping|Email|Mail|Call|Ask|Tell|Met|Meet|With|From|By|For|And|The|Thanks|Dear|Hi|Hello|Cc)$/.test(left[1] as string)) {
        const word = left[1] as string;
        start -= word.length + (left[0].length - (left[0].startsWith(word) ? 0 : 1) - word.length);
        span = text.slice(start, start + span.length + (view.offset.start - start));
      }
      if (!/^\p{Lu}/u.test(span) || NOT_ENGLISH_NAMES.test(span) || /[\p{Script=Han}]/u.test(span)) continue;
      found.push({ type, text: span, start, end: start + span.length, priority: LIBRARY_PRIORITY });
    }
  };
  add("person", doc.people().json({ offset: true }) as never);
  // A capitalised word that says, asks or wants something, or that a relation names: a person.
  for (const match of text.matchAll(EN_PERSON_CUES)) {
    let name = (match[1] ?? match[2] ?? match[3]) as string;
    // "Yesterday Anna said": a first word the lexicon knows, and not as a name, is no part of the name.
    const first = name.split(" ")[0] as string;
    const tag = englishLexicon()[first.toLowerCase()];
    if (!name.includes(" ") && tag !== undefined && !EN_NAME_TAGS.test(tag)) continue;
    if (name.includes(" ") && ((tag !== undefined && !EN_NAME_TAGS.test(tag)) || /^(?:Ping|Email|Mail|Call|Ask|Tell|Met|Meet|With|From|By|For|And|Thanks|Dear|Hi|Hello|Cc|Today|Yesterday|Tomorrow)$/.test(first))) name = name.slice(first.length + 1);
    if (NOT_ENGLISH_NAMES.test(name) || /^(?:The|This|That|It|He|She|We|They|User|Customer|Team|Everyone|Nobody)$/.test(name)) continue;
    const start = (match.index as number) + match[0].lastIndexOf(name);
    found.push({ type: "person", text: name, start, end: start + name.length, priority: LIBRARY_PRIORITY + 0.1 });
  }
  add("place", doc.places().json({ offset: true }) as never);
  add("organization", doc.organizations().json({ offset: true }) as never);
  found.push(...gazetteerPlaces(text));
  found.push(...listedPeople(text));
  found.push(...cuedOrganizations(text, found));
  return found;
}

let personNames: { first: Set<string>; last: Set<string> } | undefined;

/**
 * First names and surnames in Latin script from every locale of @faker-js/faker 9 (72 locales; its CommonJS build, so Node before 20.19 loads it too: names
 * from Ghana, Nigeria, South Africa, Spain, Sweden, Russia in transliteration …), loaded on first use.
 */
export function loadPersonNames(): { first: Set<string>; last: Set<string> } {
  if (!personNames) {
    const { allLocales } = require("@faker-js/faker") as { allLocales: Record<string, { person?: { first_name?: unknown; last_name?: unknown } }> };
    personNames = { first: new Set(), last: new Set() };
    const collect = (into: Set<string>, value: unknown) => {
      const names = Array.isArray(value) ? value : value && typeof value === "object" ? Object.values(value).flat() : [];
      for (const name of names) if (typeof name === "string" && /^\p{Lu}[\p{Ll}'’]+(?:-\p{Lu}?\p{Ll}+)?$/u.test(name) && /^[\p{Script=Latin}'’-]+$/u.test(name)) into.add(name);
    };
    for (const locale of Object.values(allLocales)) {
      collect(personNames.first, locale.person?.first_name);
      collect(personNames.last, locale.person?.last_name);
    }
  }
  return personNames;
}

/** Words after a lone first name that make it a person: a verb of saying or doing, "from" or "at" a company, a possessive. */
const EN_AFTER_FIRST_NAME = new RegExp(`^(?:\\s(?:${EN_PERSON_VERBS}|took|takes|needs|needed|runs|ran|reports|reported|confirmed|confirms|signed|booked|sent|shared|approved|owns|leads|handles)\\b|\\s(?:from|at|of)\\s\\p{Lu}|['’]s\\b)`, "u");
/** Words before a lone first name that make it a person. */
const EN_BEFORE_FIRST_NAME = /\b(?:with|and|told|tell|ask|asked|remind|reminded|email|emailed|ping|pinged|call|called|copied|cc|cc'd|thank|thanked|met|meet|for|by|invite|invited|Dear|Hi|Hello)\s$/iu;

/**
 * People by the name lists: a known first name and a capitalised word after it ("Pilar Echeverría",
 * "Tomás Herrera"), a capitalised word before a known surname, or a lone first name with a cue
 * ("Kofi took", "copied Linh", "Svetlana at Volga Pharma"). A first name that the English
 * lexicon knows as another word ("May", "Will", "Grace") needs a surname after it.
 */
function listedPeople(text: string): Candidate[] {
  const { first, last } = loadPersonNames();
  const lexicon = englishLexicon();
  const people: Candidate[] = [];
  const places = loadWorldPlaces();
  // "in Milan", "to Chiang Mai": a place the gazetteer names, after a word of place, is no person.
  const placeHere = (name: string, start: number) => places.has(fold(name)) && EN_PLACE_CUE.test(text.slice(Math.max(0, start - 20), start));
  const wordOnly = (w: string) => {
    const tag = lexicon[w.toLowerCase()];
    return tag !== undefined && !EN_NAME_TAGS.test(tag);
  };
  for (const run of text.matchAll(/(?<![\p{L}\d])\p{Lu}[\p{Ll}'’]+(?:-\p{Lu}?\p{Ll}+)?(?:\s\p{Lu}[\p{Ll}'’]+(?:-\p{Lu}?\p{Ll}+)?)*/gu)) {
    const words = run[0].split(" ");
    let offset = run.index as number;
    for (let i = 0; i < words.length; i++) {
      const word = words[i] as string;
      const next = words[i + 1];
      const start = offset;
      offset += word.length + 1;
      if (NOT_ENGLISH_NAMES.test(word) || LEAD_WORD.test(word)) continue;
      const pair = next !== undefined && !ORG_WORD.test(next) && !LEAD_WORD.test(next) && (first.has(word) ? !wordOnly(next) || last.has(next) : last.has(next) && !wordOnly(word) && !wordOnly(next));
      if (pair && !placeHere(`${word} ${next}`, start)) {
        const name = `${word} ${next}`;
        // A third word that is no company word ends nothing: "Mary Ann Lee" is rare, "Anna Berg Consulting" is a company.
        if (words[i + 2] !== undefined && ORG_WORD.test(words[i + 2] as string)) break;
        people.push({ type: "person", text: name, start, end: start + name.length, priority: LIBRARY_PRIORITY - 0.25 });
        offset += (next as string).length + 1;
        i++;
        continue;
      }
      // Two words no list and no lexicon knows, before "from <Name>" or a verb of a person: "Thandiwe Mokoena from Baobab Solar".
      // A plural ("Action Items") is no name unless it is a known surname ("Evans").
      const unknown = (w: string) => lexicon[w.toLowerCase()] === undefined && !places.has(fold(w)) && !ORG_WORD.test(w) && !LEAD_WORD.test(w) && !NOT_ENGLISH_NAMES.test(w) && (!/[^s]s$/.test(w) || last.has(w));
      if (i === 0 && words.length === 2 && next !== undefined && unknown(word) && unknown(next)) {
        const name = `${word} ${next}`;
        const after = text.slice(start + name.length, start + name.length + 30);
        const before = text.slice(Math.max(0, start - 20), start);
        if (/^\s(?:from|of|at)\s\p{Lu}/u.test(after) || new RegExp(`^\\s(?:${EN_PERSON_VERBS})\\b`, "u").test(after) || /\b(?:with|met|meet|told|tell|ask|asked|email|emailed|call|called|cc|copied)\s$/u.test(before)) {
          people.push({ type: "person", text: name, start, end: start + name.length, priority: LIBRARY_PRIORITY - 0.25 });
          break;
        }
      }
      if (first.has(word) && !wordOnly(word) && (next === undefined || i === words.length - 1) && !placeHere(word, start) && !places.has(fold(word))) {
        const after = text.slice(start + word.length, start + word.length + 30);
        const before = text.slice(Math.max(0, start - 20), start);
        if (EN_AFTER_FIRST_NAME.test(after) || EN_BEFORE_FIRST_NAME.test(before)) people.push({ type: "person", text: word, start, end: start + word.length, priority: LIBRARY_PRIORITY - 0.25 });
      }
    }
  }
  return people;
}

/** Capitalised words that open a sentence or a request rather than a name. */
const LEAD_WORD = /^(?:Ping|Email|Mail|Call|Ask|Tell|Met|Meet|With|From|By|For|And|The|Thanks|Dear|Hi|Hello|Cc|Customer|Client|Vendor|Supplier|Our|Your|My|Lunch|Dinner|Prof|Dr|Mr|Mrs|Ms|Today|Yesterday|Tomorrow|Sent|Pay|Paid|Invoice|Refund|Order)$/;
/** Words that make a capitalised run a company, not a person. */
const ORG_WORD = /^(?:Inc|Ltd|LLC|GmbH|AG|Corp|Co|Company|Group|Labs?|Systems|Technologies|Solutions|Partners|Holdings|Capital|Ventures|Bank|University|Institute|Foundation|Hospital|Clinic|Studio|Studios|Games|Legal|Consulting|Logistics|Robotics|Pharma|Health|Energy|Solar|Mills|Traders|Couriers|Plastics|Coffee|Fintech|Microfinance|Insurance|Seguros|Media|Software|Networks|Motors|Foods|Properties|Marine|Airlines|Records|Press)$/;

/** Nouns of paying for a service: "the Hetzner bill", "licence for Datadog", "pricing at Backblaze". */
const EN_BILLING = "bills?|invoices?|seats?|subscriptions?|licen[cs]es?|plans?|accounts?|contracts?|renewals?|charges?|fees?|quotes?|pricing|tier|credits?|support|outage|status page|dashboard|API keys?";
const EN_ORG_AFTER = new RegExp(`^\\s(?:${EN_BILLING})\\b`, "u");
const EN_ORG_BEFORE = new RegExp(`\\b(?:(?:${EN_BILLING})\\s(?:for|at|with|from)|works?\\s(?:for|at)|working\\s(?:for|at)|worked\\s(?:for|at)|consults?\\sfor|consulting\\sfor|joined|joins|customers?\\sof|(?:team|teams|lawyers|engineers|people|folks|someone|rep|sales|support|contact)\\s(?:at|from)|migrated\\s(?:\\w+\\s)?from|switch(?:ed)?\\s(?:\\w+\\s)?(?:from|to))\\s$`, "u");
const EN_NAME_TAGS = /Person|FirstName|LastName|MaleName|FemaleName|City|Country|Place|Region/;

/**
 * Organisations by their context: a capitalised name after a person and "from" ("Anja Weber from
 * Bergwerk Maschinenbau"), after "works for", "team at", "licence for", or before "bill",
 * "invoice", "seat" ("the Hetzner bill"); or linked to one by "from … to" ("from Stripe to Adyen").
 */
function cuedOrganizations(text: string, found: readonly Candidate[]): Candidate[] {
  const places = loadWorldPlaces();
  const lexicon = englishLexicon();
  const orgs: Candidate[] = [];
  for (const run of text.matchAll(/(?<![\p{L}\d])(?:\p{Lu}|\d\p{Lu})[\p{L}\d&'’.-]*[\p{L}\d](?:\s\p{Lu}[\p{L}\d&'’.-]*[\p{L}\d]){0,2}/gu)) {
    let name = run[0];
    let start = run.index as number;
    // "Vendor Copperleaf Studios": the name starts after a lead word.
    const lead = /^(?:Vendor|Supplier|Client|Customer|Partner|Contractor|Our|The|Ping|Email|Call|Ask|Pay|Paid)\s/.exec(name);
    if (lead) {
      name = name.slice(lead[0].length);
      start += lead[0].length;
    }
    if (name === "" || places.has(fold(name)) || /^(?:I|A|An|The|We|You|UTC|API|CI|PR|QA|OK)$/.test(name)) continue;
    const before = text.slice(Math.max(0, start - 40), start);
    const after = text.slice(start + name.length, start + name.length + 20);
    const words = name.split(" ");
    const known = lexicon[(words[0] as string).toLowerCase()];
    const afterPerson = /\s(?:from|at|of|with)\s(?:the\s)?$/.test(before) && found.some((c) => c.type === "person" && c.end <= start && c.end >= start - 12);
    // Before "bill", "seat"…: not a word opening the sentence ("Renewal quote", "Support contract").
    const opensSentence = opensSentenceAt(text, start);
    const cue = afterPerson || EN_ORG_BEFORE.test(before) || (EN_ORG_AFTER.test(after) && !opensSentence) || (/\bfrom\s$/.test(before) && /^\sto\s\p{Lu}/u.test(after));
    const linked = /\bfrom\s\p{Lu}[\p{L}\d]+\sto\s$/u.test(before) && orgs.some((o) => o.end >= start - 5);
    if (!cue && !linked) continue;
    if (words.length === 1 && known !== undefined && EN_NAME_TAGS.test(known)) continue;
    if (words.length > 1 && found.some((c) => c.type === "place" && c.start === start && c.end === start + name.length && c.priority < LIBRARY_PRIORITY)) continue;
    orgs.push({ type: "organization", text: name, start, end: start + name.length, priority: LIBRARY_PRIORITY - 0.3 });
  }
  return orgs;
}

/**
 * Whether `start` opens a sentence: the text's start, or sentence punctuation and then only white space before it. It
 * looks back from `start` only; a regular expression anchored at the end of `text.slice(0, start)` scanned the whole
 * prefix for each capitalised word, which made long texts quadratic.
 */
export function opensSentenceAt(text: string, start: number): boolean {
  if (start === 0) return true;
  let at = start;
  while (at > 0 && /\s/u.test(text[at - 1] as string)) at--;
  return at > 0 && ".!?:;".includes(text[at - 1] as string);
}

/** Words before a place: "in Kigali", "from Split to Hvar", "based in", "flew to". */
const EN_PLACE_CUE = /(?:\b(?:in|from|to|at|near|via|outside|around|across|visit|visiting|visited|toward|towards|between|and)|[–—-])\s(?:the\s)?$/u;
const EN_PLACE_STRONG_CUE = /(?:\b(?:in|near|based in|lives in|living in)|\bfrom\s\p{Lu}[\p{L}-]+\s(?:to|and)|\b(?:flew|fly|flying|flies|moved|moving|move|travel|travelling|traveling|trip|train|ferry|flight|flights|shipping|drive|driving|relocate|relocating)\s(?:to|from))\s$/u;
/** Gazetteer names that are mostly English words at the start of a run. */
const EN_NOT_PLACES = /^(?:I|A|The|Mon|Sun|Bank|Union|Police|University|May|Jan|Bay|Hall|Mountain|Park|Fort|Lake|Port|Sale|Page|Price|Mobile|Split|Reading|Nice|Bath|Temple|Independence|Gap|Derby|Orange|Victoria|Opportunity|Progress|Enterprise|Liberty|Commerce|Friendly|Hope|Marathon|Normal|Ideal)$/;
const EN_PLACE_TAGS = /^(?:City|Country|Place|Region|Town|Island|ProperNoun)(?:,|$)/;

/**
 * Places from a world gazetteer (GeoNames cities over 1,000 people and their provinces): a
 * capitalised run that names one counts where the place is large (100,000 people) or a cue
 * precedes it, unless it opens the sentence or is an English word or name (compromise's lexicon:
 * "Split", "Victoria", "Mobile") with no cue before it. A capitalised word linked to a place ("from
 * Split to Hvar", "Vienna–Budapest") is a place too.
 */
function gazetteerPlaces(text: string): Candidate[] {
  const places = loadWorldPlaces();
  const lexicon = englishLexicon();
  const found: Candidate[] = [];
  for (const run of text.matchAll(/\p{Lu}[\p{L}'’.-]*\p{L}(?:\s\p{Lu}[\p{L}'’.-]*\p{L})*/gu)) {
    const words = run[0].split(" ");
    // The longest run of words from each start that the gazetteer names.
    for (let i = 0; i < words.length; i++) {
      for (let j = words.length; j > i; j--) {
        const name = words.slice(i, j).join(" ");
        const population = places.get(fold(name));
        if (population === undefined) continue;
        const start = (run.index as number) + words.slice(0, i).join(" ").length + (i > 0 ? 1 : 0);
        const before = text.slice(Math.max(0, start - 40), start);
        // Inside a longer capitalised run ("Aisha Bello"), only after a sentence word ("Visit Lisbon").
        if (i > 0 && !/^(?:The|In|From|To|At|Visit|Visiting|Fly|Flew|Near|Via|Our|My|Both|Since|Until|Ping|Email|Call|Ask|Tell|Met|Meet|Leave|Leaving|Arrive|Arriving)$/.test(words[i - 1] as string)) continue;
        const cue = EN_PLACE_CUE.test(before);
        const opensSentence = opensSentenceAt(text, start);
        const tag = lexicon[name.toLowerCase()];
        const placeWord = tag !== undefined && EN_PLACE_TAGS.test(tag);
        // A word the lexicon knows as a name ("Jordan", "Austin") needs a cue of going or being somewhere.
        const personWord = tag !== undefined && /Person|Name/.test(tag);
        const ok = personWord ? EN_PLACE_STRONG_CUE.test(before) : cue || placeWord || (tag === undefined && !opensSentence && population >= 100_000);
        if (ok && (cue || !EN_NOT_PLACES.test(name))) {
          found.push({ type: "place", text: name, start, end: start + name.length, priority: LIBRARY_PRIORITY - 0.2 });
          const onward = /^\s?(?:to|and|or|–|—|-)\s?(\p{Lu}\p{Ll}+(?:[\s-]\p{Lu}\p{Ll}+)?)\b/u.exec(text.slice(start + name.length));
          const next = onward?.[1];
          if (next && !places.has(fold(next)) && !/^(?:Person|FirstName|LastName|MaleName|FemaleName|Organization)/.test(lexicon[next.toLowerCase()] ?? "")) {
            const at = start + name.length + (onward as RegExpExecArray)[0].length - next.length;
            found.push({ type: "place", text: next, start: at, end: at + next.length, priority: LIBRARY_PRIORITY - 0.15 });
          }
          i = j - 1;
          break;
        }
      }
    }
  }
  return found;
}

/** Surnames that are rarely anything else at the start of a word, beyond the hundred commonest. */
const ZH_SURNAMES_RARE = "卜鲁傅詹阎庄柴庞申纪舒屠荣翁惠甄芮储靳邴糜巫焦牧宓栾厉戎符景束幸韶郜蓟薄蒲邰鄂籍赖蔺郁胥贡姬冉宰郦雍桑濮扈冀农晏瞿慕茹古庾衡耿弘匡寇阙蔚巩晁阚蒯荆竺逯桓";
export const ZH_SURNAME_START = new RegExp(`^[王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧${ZH_SURNAMES_RARE}${ZH_CLEAR_SURNAMES}]`, "u");
/** Characters that end a segment jieba did not split: a verb or particle glued to a name. */
const ZH_GLUED = "去问说和与在将把的对来也已会要写提起答给跟找让请";

export const ZH_TRADE_WORDS = "律师事务所|会计师事务所|事务所|科技|证券|汽车|航空|保险|软件|网络|电子|传媒|物流|医药|能源|控股|资本|基金|信托|智能|数据|文化|咨询|地产|重工|海运|航运|动画|影视|游戏|制药|生物|电器|家电|食品|饮料|服饰|快递|化工|钢铁|建设|建筑|置业|实业|投资|创投|出版|教育|医疗|健康|半导体|芯片|光电|通信|机器人|新能源|电池|机械|矿业|集团|股份|银行|律所";
const ZH_TRADE_AFTER = new RegExp(`^(?:${ZH_TRADE_WORDS})`, "u");
const ZH_SURNAMES_MORE =
  "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤" +
  "温靳麦柯申卓易左谷常乔文牛焦殷施洪鲍童颜梅盛骆甘滕卞苗凌翁尚葛庞祝褚樊邢屈柴霍宁栾仇伍岳裴聂欧鞠晏蓝阮蒲饶伏岑容艾涂齐季喻祁庄" +
  ZH_SURNAMES_RARE +
  ZH_CLEAR_SURNAMES;
/** Roles and relations written right before a name: "物业经理庞国栋", "她的副手是严浩然". */
const ZH_ROLES = "客户|用户|顾客|买家|卖家|联系人|对接人|负责人|经理|总监|主管|老师|医生|律师|同事|老板|助理|副手|工程师|设计师|专员|主任|教授|博士|会计|顾问|师傅|司机|房东|邻居|朋友|儿子|女儿|妻子|丈夫|老婆|老公|妈妈|爸爸|CEO|CTO";
/** A name: after the start, a non-Han character or a word that introduces a person; before a verb, a time or punctuation. */
const ZH_NAME_IN_CONTEXT = new RegExp(
  `(?:^|(?<=[^\\p{Script=Han}]|[和与、，：:的由是给向跟找问让请见复对叫约]|${ZH_ROLES}|周[一二三四五六日末]|[天午晚]))((?:${ZH_COMPOUNDS.join("|")}|[${ZH_SURNAMES_MORE}])\\p{Script=Han}{1,2}?)` +
    `(?=$|[^\\p{Script=Han}]|说|去|住|在|和|与|把|让|给|跟|找|问|负责|提醒|反馈|已|会|要|想|喜欢|买|从|调|是|的|觉|签|批|交代|休|评|需|以|回|见|约|发|开|到|为|被|请|帮|能|可|都|还|就|只|再|先|对|向|将|也|来|写|答|接受|担任|确认|同意|安排|参加|表示|提出|收到|通知|联系|拒绝|飞|落地|离开|搬|加入|离职|入职|出差|请假|退休|开始|周[一二三四五六日末]|下[周午个]|上[周午个]|明[天早]|今[天晚]|昨天)`,
  "gu",
);
/** What may follow a name: a verb, a time, a particle or punctuation. */
const ZH_FOLLOWS = new RegExp(
  "^(?:$|[^\\p{Script=Han}]|说|去|住|在|和|与|把|让|给|跟|找|问|负责|提醒|反馈|已|会|要|想|喜欢|买|从|调|是|的|觉|签|批|交代|休|评审|评|需|以|回|见|约|发|开|到|为|被|请|帮|能|可|都|还|就|只|再|先|对|向|将|也|来|写|答|" +
    "代表|汇总|建议|认为|希望|打算|准备|决定|计划|接受|担任|确认|同意|安排|参加|表示|提出|收到|通知|联系|拒绝|飞|落地|离开|搬|加入|离职|入职|出差|请假|退休|开始|告诉|提到|周[一二三四五六日末]|下[周午个]|上[周午个]|明[天早]|今[天晚]|昨天)",
  "u",
);
const ZH_TITLES = "先生|女士|小姐|经理|总监|总(?![部结共体计额数线裁统之])|老师|医生|大夫|教授|博士|律师|主任|师傅|工程师|会计|处长|科长|局长|院长|校长|所长|部长|董事长|阿姨";
/** A surname and maybe a given name before a title, or after 小 / 老; not inside a longer word. */
const ZH_TITLED = new RegExp(
  `(?:^|(?<=[^\\p{Script=Han}]|[和与、，：:的由是给向跟找问让请见复对叫约送抄]))((?:(?:${ZH_COMPOUNDS.join("|")}|[${ZH_CLEAR_SURNAMES}])\\p{Script=Han}{0,2}?(?:${ZH_TITLES}))|[小老][${ZH_CLEAR_SURNAMES}](?=$|[^\\p{Script=Han}]|说|的|和|去|在|也|会|要|让|给))`,
  "gu",
);
/** What follows a name: a verb of saying, going, having, a time, punctuation. */
const ZH_NAME_FOLLOWERS = /^(?:[，。、：:（(]|说|去|住|在|和|与|把|让|给|跟|找|问|负责|提醒|反馈|下周|明天|今天|昨天|上周|周[一二三四五六日末]|已经|会|要|想|喜欢|买|从|调|是|的)/u;
const ZH_PLACE_SUFFIX = /[省市县区镇村州岛湾港山湖河路街]$/u;
/** A place follows a verb of going or being somewhere ("飞往", "位于", "在"), or precedes a site. */
const ZH_PLACE_BEFORE = /(?:去|到|飞|往|赴|抵达|在|从|来自|位于|住在|回|离开|途经|经)$/u;
const ZH_PLACE_AFTER = /^(?:办公室|分公司|总部|机房|数据中心|站|酒店|出差|的客户|见面|开会|团队|分部|门店|仓库|试点|现场|分行|的(?:用户|客户|团队|现场|同事|仓库|办公室|机房|服务器|门店|工厂|分部|节点|VPN|\s?VPN))/u;
/** Words before a company's name: "供应商铜叶动画", "客户". */
const ZH_SUPPLIER_BEFORE = /(?:供应商|服务商|客户|合作方|甲方|乙方|厂商|承包商)$/u;
const ZH_ORG_SUFFIX = /(?:公司|集团|大学|学院|银行|研究所|研究院|委员会|协会|医院|基金会|中心|交易所|事务所)$/u;
const ZH_KNOWN_ORGS = /^(?:华为|阿里巴巴|阿里云|腾讯|百度|字节跳动|小米|京东|美团|网易|滴滴|蚂蚁集团|拼多多|携程|比亚迪|宁德时代|联想|中兴|大疆|中国移动|中国电信|中国联通|国家电网|招商银行|工商银行|建设银行|中国银行|顺丰)$/u;
/** Words jieba tags as names or places that are common nouns or verbs in agent memories (seen on the dev corpus). */
const ZH_COMMON_WORDS = new Set(
  `日志 加密 中断 关联 延时 长度 入口 东西 云 英雄 青春 内建 中路 之城 索引 操作符 子目录 格式化 安全性 贡献者 国际化 通信协议 明文 克隆 智能化 元字符 余弦 比特 维基 多达 令人
   周密 高速 高效 高级 高峰 方案 方式 方面 金额 马上 白天 江湖 向前 于是 万一 钱包 石油 夏天 程序 任务 任何 林间 龙头 段落 雷达 孔径 万元 付款 付费 陈述 叶子 严重 严格 江南 明星 朝 东 西 南 北 中 美`.split(/\s+/),
);

const ZH_ORGS_IN_TEXT = new RegExp(
  "字节跳动|阿里巴巴|阿里云|腾讯云|腾讯|百度智能云|百度|华为云|华为|小米|京东|美团|网易|滴滴|蚂蚁集团|拼多多|携程|比亚迪|宁德时代|联想|中兴|大疆|蔚来|小鹏|理想汽车|" +
    "东方航空|南方航空|国航|中国国际航空|海南航空|中国移动|中国电信|中国联通|国家电网|招商银行|工商银行|建设银行|农业银行|中国银行|顺丰|火山引擎|快手|哔哩哔哩|知乎|小红书|微博|新浪|搜狐|金山|科大讯飞|商汤",
  "gu",
);
/** Two-character surnames, which jieba splits off as a word of their own. */
const ZH_COMPOUND_SURNAMES = ZH_COMPOUNDS.join("|");

function chineseNames(text: string): Candidate[] {
  const found: Candidate[] = [];
  for (const match of text.matchAll(ZH_ORGS_IN_TEXT)) found.push({ type: "organization", text: match[0], start: match.index, end: match.index + match[0].length, priority: LIBRARY_PRIORITY - 0.1 });
  for (const match of text.matchAll(new RegExp(`(?:${ZH_COMPOUND_SURNAMES})\\p{Script=Han}{1,2}`, "gu"))) {
    // The given name is as long as a verb, a time or punctuation lets it be: "羊舌慧评审" is 羊舌慧.
    const rest = (span: string) => text.slice(match.index + span.length);
    let span = match[0];
    if (span.length === 4 && !ZH_FOLLOWS.test(rest(span)) && ZH_FOLLOWS.test(rest(span.slice(0, 3)))) span = span.slice(0, 3);
    else if (ZH_GLUED.includes(span.at(-1) as string) || /[下上周明今昨]$/u.test(span)) span = span.slice(0, -1);
    if (span.length >= 3) found.push({ type: "person", text: span, start: match.index, end: match.index + span.length, priority: LIBRARY_PRIORITY });
  }
  // A surname with a title ("窦经理", "缪启航教授", "欧阳先生") or a familiar prefix ("小蔺", "老王").
  for (const match of text.matchAll(ZH_TITLED)) {
    const start = match.index + match[0].indexOf(match[1] as string);
    const name = match[1] as string;
    found.push({ type: "person", text: name, start, end: start + name.length, priority: LIBRARY_PRIORITY - 0.06 });
  }
  let at = 0;
  const tokens = loadJieba().tag(text, true);
  found.push(...tradeOrganizations(jiebaWords(text)));
  // Names by surname and context, vetoed where jieba reads the same span as one common word ("温度", "申请", "周末").
  const commonWords = new Set(tokens.filter((t) => !/^(?:nr|nrfg|nrt|x)$/.test(t.tag)).map((t) => t.word));
  for (const match of text.matchAll(ZH_NAME_IN_CONTEXT)) {
    const name = match[1] as string;
    const start = (match.index as number) + match[0].indexOf(name);
    if (commonWords.has(name) || ZH_COMMON_WORDS.has(name) || ZH_PLACE_SUFFIX.test(name) || /\d\s?$/.test(text.slice(Math.max(0, start - 2), start))) continue;
    found.push({ type: "person", text: name, start, end: start + name.length, priority: LIBRARY_PRIORITY - 0.02 });
  }
  for (const [i, { word, tag }] of tokens.entries()) {
    const start = text.indexOf(word, at);
    if (start < 0) continue;
    at = start + word.length;
    // "24 万条": a count, not a name.
    if (!/^\p{Script=Han}+$/u.test(word) || /\d\s?$/.test(text.slice(Math.max(0, start - 2), start))) continue;
    let type: EntityType | undefined;
    let span = word;
    const before = text.slice(Math.max(0, start - 3), start);
    const after = text.slice(at, at + 6);
    // A surname jieba split from the given name ("杜/nr 明远/a", "何/r 宇航/nr"): joined when a verb or a time follows.
    const next = tokens[i + 1];
    const following = tokens[i + 2]?.word ?? "";
    if (word.length === 1 && ZH_SURNAME_START.test(word) && next && /^\p{Script=Han}{1,2}$/u.test(next.word) && text.startsWith(next.word, at) && (start === 0 || !/\p{Script=Han}/u.test(text[start - 1] as string) || "和与、，：".includes(text[start - 1] as string))) {
      if (following === "" || ZH_NAME_FOLLOWERS.test(following)) {
        found.push({ type: "person", text: word + next.word, start, end: at + next.word.length, priority: LIBRARY_PRIORITY });
        continue;
      }
    }
    if (ZH_COMMON_WORDS.has(word)) continue;
    if (ZH_KNOWN_ORGS.test(word)) {
      found.push({ type: "organization", text: word, start, end: at, priority: LIBRARY_PRIORITY });
      continue;
    }
    if ((tag === "nr" || tag === "nrfg" || tag === "x") && ZH_SURNAME_START.test(word) && word.length >= 2 && word.length <= 4) {
      // jieba's person tag, or a word it did not know (its HMM found it) that starts with a
      // surname: a name, or a name with a verb glued on ("张伟去").
      span = word.length >= 3 && ZH_GLUED.includes(word.at(-1) as string) ? word.slice(0, -1) : word;
      if (ZH_PLACE_SUFFIX.test(span)) type = "place";
      else if (span.length >= 2 && span.length <= 3) type = "person";
    } else if (tag === "ns" || tag === "nr" || tag === "nrt" || tag === "nz") {
      // jieba tags many common words as places: a place needs a place suffix or a cue around it.
      if ((tag === "ns" && (ZH_PLACE_SUFFIX.test(word) || zhPlaceStems?.has(word)) && word.length >= 2) || ZH_PLACE_BEFORE.test(before) || ZH_PLACE_AFTER.test(after)) type = word.length >= 2 ? "place" : undefined;
    } else if (tag === "nt" && ((ZH_ORG_SUFFIX.test(word) && word.replace(ZH_ORG_SUFFIX, "").length >= 2) || (word.length >= 3 && !ZH_ORG_SUFFIX.test(word) && !/[馆店部组科处室厅队局]$/u.test(word)))) {
      type = "organization";
    } else if (zhPlaceStems?.has(word) && (!/^(?:v|vn|vd|a|ad|an|m|q|t|f|p|c|u\w*|r|d)$/.test(tag) || ZH_PLACE_AFTER.test(after) || ZH_PLACE_BEFORE.test(before) || /^(?:的|那边|这边|一带|当地|本地|工厂|[，。、；]|$)/u.test(after))) {
      type = "place";
    }
    // A company named by its trade: "汇智/x 科技/n", "长安/ns 汽车/n".
    const trade = ZH_TRADE_AFTER.exec(text.slice(at))?.[0];
    if (trade && word.length >= 2 && word.length <= 4 && /^(?:x|nz|nr|nrt|ns|nt|j|n)$/.test(tag) && !ZH_COMMON_WORDS.has(word) && !(tag === "n" && !/^(?:x|nz)$/.test(tokens[i - 1]?.tag ?? "") && !ZH_SUPPLIER_BEFORE.test(before))) {
      found.push({ type: "organization", text: word + trade, start, end: at + trade.length, priority: LIBRARY_PRIORITY - 0.05 });
      continue;
    }
    if (type) found.push({ type, text: span, start, end: start + span.length, priority: LIBRARY_PRIORITY });
  }
  return found;
}

/** A trade or an institution after a company's name: "禾丰农业", "樱桥商事", "华西医院", "瑞幸咖啡". */
const ZH_ORG_TRADE = new RegExp(
  `^(?:${ZH_TRADE_WORDS.replace(/\|(?:数据|文化|教育|医疗|健康|智能)(?=\||$)/gu, "")}|农业|餐饮|快运|速运|商事|通商|商社|电器|茶业|金融|咖啡|通讯|出行|医院|诊所|药房|药业|餐厅|酒店|旅行社|物业|商贸|贸易|纺织|服装|家居|环保|水务|燃气|电力|光伏|材料|仪器|设备|酒业|乳业|安防|工作室|实验室|研究所|研究院|基金会|协会|委员会|律所)$`,
  "u",
);
/** Part-of-speech tags that end a company's name looking back: particles, prepositions, pronouns, numbers, times, adverbs, verbs. */
const ZH_NOT_IN_NAME = /^(?:p|c|u\w*|r|d|m|q|t|f|y|e|o|w|v|vn|vd|ad|l|i|zg)$/;

/**
 * Companies by their trade: the words before a trade word ("农业", "商事", "医院") that jieba reads
 * as a name (a proper noun or a word it did not know) or as a rare word, two to four characters.
 */
function tradeOrganizations(words: ReturnType<typeof jiebaWords>): Candidate[] {
  const found: Candidate[] = [];
  for (const [i, trade] of words.entries()) {
    // One word that jieba knows as a company's name and ends in a trade: "格力电器/nz", "中兴通讯/nt".
    const tail = /^(?:nt|nz)$/.test(trade.tag) && trade.word.length >= 4 ? trade.word.slice(-2) : "";
    if (tail && ZH_ORG_TRADE.test(tail)) found.push({ type: "organization", text: trade.word, start: trade.start, end: trade.end, priority: LIBRARY_PRIORITY - 0.12 });
    if (!ZH_ORG_TRADE.test(trade.word)) continue;
    let j = i;
    while (j > 0) {
      const w = words[j - 1] as (typeof words)[number];
      const proper = /^(?:x|nr|nrt|nrfg|ns|nt|nz|j)$/.test(w.tag);
      const rare = (zhWordFrequency?.get(w.word) ?? 0) < 1000 && !ZH_NOT_IN_NAME.test(w.tag);
      if (!/^\p{Script=Han}+$/u.test(w.word) || w.end !== (words[j] as (typeof words)[number]).start || !(proper || rare || (w.word.length === 1 && /^(?:a|n|ng)$/.test(w.tag)))) break;
      if (trade.start - w.start > 4) break;
      j--;
    }
    const first = words[j] as (typeof words)[number];
    if (j === i || trade.start - first.start < 2) continue;
    found.push({ type: "organization", text: first.word === trade.word ? trade.word : words.slice(j, i + 1).map((w) => w.word).join(""), start: first.start, end: trade.end, priority: LIBRARY_PRIORITY - 0.12 });
  }
  return found;
}

/** Entities in a text, with the library spans: `entityExtractor.extract`. */
export function extractEntities(text: string): Entity[] {
  return entityExtractor.extract(text);
}

/** jieba's dictionary frequency of a word of two to four Chinese characters (0 when it is not there). */
export function zhWordFrequencyOf(word: string): number {
  loadJieba();
  return zhWordFrequency?.get(word) ?? 0;
}

/** Chinese cities, provinces and counties from jieba's dictionary, without their 市/省/县 suffix, in dictionary order ("大连"). */
export function zhPlaceNames(): string[] {
  loadJieba();
  return [...(zhPlaceStems ?? [])];
}
