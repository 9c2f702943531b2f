import { readFileSync } from "node:fs";
import { ErrorCode, isMemzipError, MemzipError } from "../errors.js";
import type { Entity, EntityExtractor, EntityType } from "./entities.js";
import { entityExtractor, fold, jiebaWords, loadPersonNames, parseEnglish, sharingEnglishParse, loadWorldPlaces, ZH_SURNAME_START, ZH_TRADE_WORDS, zhPlaceNames, zhWordFrequencyOf } from "./entities-nlp.js";
import { ZH_KNOWN_ORG_NAMES } from "./zh-orgs.js";
import { ZH_KNOWN_PLACE_NAMES } from "./zh-places.js";
import { ZH_COMPOUND_SURNAMES } from "./zh-surnames.js";
import { EN_TRAVEL, followGuide } from "./entities-guide.js";

/**
 * A small statistical tagger for the names (person, organisation, place) beside the rules: an
 * averaged perceptron over BIO labels, decoded by a constrained Viterbi search (no I-x but after B-x or I-x). English tokens carry their
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

/** Words that end a Chinese organisation's name: the rules' trade words and institutions, shops and workshops. */
export const ZH_ORG_ENDS = new Set([
  ...ZH_TRADE_WORDS.split("|"),
  ..."公司 有限公司 集团 大学 学院 银行 研究所 研究院 实验室 医院 诊所 药房 大药房 中心 交易所 交易中心 协会 基金会 委员会 农商行 商行 快运 快递 速运 茶业 乳业 贸易 物产 置业 勘察院 设计院 旅行社 酒店 餐厅 小馆 饭店 火锅 坊 馆 厂 店 行 社 院 所 站".split(" "),
  // Institutions, services and shops, from general usage.
  ..."俱乐部 工作室 观测站 气象站 监测站 总局 局 厅 署 法院 检察院 派出所 海关 政府 居委会 村委会 小学 中学 幼儿园 卫生院 中医院 附属医院 保健院 眼科 口腔 牙科 产险 寿险 财险 支付 航空 轮渡 冷链 农机 配件 港口 码头 文创 地图 出行 租车 外卖 商城 超市 便利店 药店 影城 影院 剧院 酒厂 酒业 水饺 面馆 烧烤 奶茶 咖啡 餐饮 云 网盘 笔记 文档 出版社 报社 电视台 研究中心 合作社 农场 牧场 牧业 渔业 林场 车队 车行 车厂 船厂 船务 货运 航运 建材 家居 家具 装饰 装修 物业 中介 猎头 人力 商贸 百货 广场 商场".split(" "),
]);
let zhPlaces: Set<string> | undefined;
const ZH_COMPOUND_SET = new Set(ZH_COMPOUND_SURNAMES);

/** Chinese features from word lists, per character: organisation ends (start, inside, end; how far the next one starts), places (begin, inside, end), compound surnames. */
function zhListFeatures(tokens: readonly Token[]): string[][] {
  zhPlaces ??= new Set(zhPlaceNames().flatMap((p) => [p, `${p}市`, `${p}县`, `${p}省`]));
  const chars = tokens.map((t) => (t.han ? t.text : " "));
  const features = tokens.map((): string[] => []);
  const orgStarts = new Set<number>();
  for (let i = 0; i < chars.length; i++) {
    for (let n = 5; n >= 1; n--) {
      const word = chars.slice(i, i + n).join("");
      if (word.length !== n || word.includes(" ")) continue;
      if (ZH_ORG_ENDS.has(word)) {
        orgStarts.add(i);
        features[i]?.push(`zo=B${n}`);
        for (let k = i + 1; k < i + n; k++) features[k]?.push(k === i + n - 1 ? "zo=E" : "zo=I");
      }
      if (n >= 2 && zhPlaces.has(word)) {
        features[i]?.push(`zp=B${n}`);
        for (let k = i + 1; k < i + n; k++) features[k]?.push(k === i + n - 1 ? "zp=E" : "zp=I");
      }
      if (n === 2 && ZH_COMPOUND_SET.has(word)) features[i]?.push("zcs");
    }
  }
  for (let i = 0; i < chars.length; i++) {
    for (let d = 1; d <= 4; d++) {
      if (orgStarts.has(i + d) && chars.slice(i, i + d).every((c) => c !== " ")) {
        features[i]?.push(`zo>${d}`);
        break;
      }
    }
    if (features[i - 2]?.includes("zcs")) features[i]?.push("zcs-2");
    if (features[i - 1]?.includes("zcs")) features[i]?.push("zcs-1");
  }
  return features;
}

/**
 * Words around a Chinese organisation's name in agent memories, from general usage (not from any labelled set): what a company
 * does or has after its name (发布, 收购, 旗下, 的客服, 官网, 门店, 股价), and what takes a company before it (加入, 入职, 收购,
 * 跳槽到, 投资, 起诉, 合作). A token gets `zcR` when such a word starts within the next four characters (Han only between), and
 * `zcL` when one ends within the four before: the name's context, whatever jieba made of the name itself.
 */
const ZH_ORG_AFTER = (
  "发布 推出 上线 宣布 收购 并购 起诉 旗下 总部 官网 官方 客服 售后 门店 专卖店 旗舰店 股价 股票 财报 融资 上市 裁员 招聘 校招 社招 员工 " +
  "会员 App APP app 小程序 公众号 网盘 外卖 打车 商城 股份 面试 offer 出品 研发 生产 代工 工厂 回应 声明 道歉 涨价 降价 开店 开业 倒闭 " +
  "扣了 扣费 账单 接口 试用 退款 通知 订单 专业版 团队版 企业版 个人版 年费 月费 续费 定金 优惠券 积分 配送 骑手 工作人员 值班 热线 营业"
).split(" ");
const ZH_ORG_BEFORE = "加入 入职 收购 并购 投资 起诉 合作 跳槽到 跳槽去 离职 供职 任职 就职 签约 对接 竞品 品牌 厂商 供应商 服务商 运营商 服务于 任职于 就职于 来自 改用 换用 通过 换到 迁到 订在 下单".split(" ");

const byHead = (cues: readonly string[]) => {
  const map = new Map<string, string[]>();
  for (const cue of cues) map.set(cue.slice(0, 1), [...(map.get(cue.slice(0, 1)) ?? []), cue]);
  return map;
};
const CUES_AFTER_BY_HEAD = byHead(ZH_ORG_AFTER);
const CUES_BEFORE_BY_HEAD = byHead(ZH_ORG_BEFORE);

function zhCueFeatures(tokens: readonly Token[]): string[][] {
  const features = tokens.map((): string[] => []);
  const texts = tokens.map((t) => t.text);
  const startsAt = (j: number, cue: string) => {
    let joined = "";
    for (let k = j; k < tokens.length && joined.length < cue.length; k++) joined += texts[k] as string;
    return joined.startsWith(cue) && joined.length >= cue.length;
  };
  const afterAt = new Map<number, string>();
  const beforeEnd = new Map<number, string>();
  for (let j = 0; j < tokens.length; j++) {
    const head = (texts[j] as string).slice(0, 1);
    for (const cue of CUES_AFTER_BY_HEAD.get(head) ?? []) if (!afterAt.has(j) && startsAt(j, cue)) afterAt.set(j, cue);
    // Keyed by the cue's last token (the cues before a name are Han characters, one token each).
    for (const cue of CUES_BEFORE_BY_HEAD.get(head) ?? []) if (startsAt(j, cue)) beforeEnd.set(j + cue.length - 1, cue);
  }
  for (let i = 0; i < tokens.length; i++) {
    if (!tokens[i]?.han) continue;
    for (let d = 1; d <= 4; d++) {
      const cue = afterAt.get(i + d);
      if (cue !== undefined) {
        features[i]?.push(`zcR${d}`, `zcR=${cue}`);
        break;
      }
      if (!tokens[i + d]?.han) break;
    }
    for (let d = 1; d <= 4; d++) {
      const cue = beforeEnd.get(i - d);
      if (cue !== undefined) {
        features[i]?.push(`zcL${d}`, `zcL=${cue}`);
        break;
      }
      if (!tokens[i - d]?.han) break;
    }
  }
  return features;
}

let knownOrgs = new Set(ZH_KNOWN_ORG_NAMES);
let knownPlaces = new Set(ZH_KNOWN_PLACE_NAMES);
const longest = (names: readonly string[]) => Math.max(...names.map((name) => name.length));
const KNOWN_ORG_LONGEST = longest(ZH_KNOWN_ORG_NAMES);
const KNOWN_PLACE_LONGEST = longest(ZH_KNOWN_PLACE_NAMES);

/**
 * Leaves names out of the well-known organisations the `zk` feature reads (for cross-validation only: the held-out sets'
 * organisations are left out, so that the list cannot give them away); none given: the whole list again.
 */
export function leaveOutKnownOrgs(names: Iterable<string> = []): void {
  const out = new Set(names);
  knownOrgs = new Set(ZH_KNOWN_ORG_NAMES.filter((name) => !out.has(name)));
}

/** The same for the well-known places the `zl` feature reads (src/semantic/zh-places.ts): the held-out sets' places left out in cross-validation; none given: the whole list. */
export function leaveOutKnownPlaces(names: Iterable<string> = []): void {
  const out = new Set(names);
  knownPlaces = new Set(ZH_KNOWN_PLACE_NAMES.filter((name) => !out.has(name)));
}

/** `P=B` / `P=I` / `P=E` on the characters of a listed name (the longest at each start, left to right). */
function zhListedNameFeatures(tokens: readonly Token[], names: ReadonlySet<string>, most: number, prefix: string): string[][] {
  const features = tokens.map((): string[] => []);
  for (let i = 0; i < tokens.length; ) {
    let found = 0;
    if (tokens[i]?.han) {
      let word = "";
      for (let n = 1; n <= most && tokens[i + n - 1]?.han; n++) {
        word += tokens[i + n - 1]?.text as string;
        if (n >= 2 && names.has(word)) found = n;
      }
    }
    if (found === 0) {
      i++;
      continue;
    }
    for (let k = 0; k < found; k++) features[i + k]?.push(`${prefix}=${k === 0 ? "B" : k === found - 1 ? "E" : "I"}`);
    i += found;
  }
  return features;
}

/** `zk=B` / `zk=I` / `zk=E` on the characters of a well-known organisation's name (src/semantic/zh-orgs.ts). */
const zhKnownOrgFeatures = (tokens: readonly Token[]) => zhListedNameFeatures(tokens, knownOrgs, KNOWN_ORG_LONGEST, "zk");
/** `zl=B` / `zl=I` / `zl=E` on the characters of a well-known place's name (src/semantic/zh-places.ts). */
const zhKnownPlaceFeatures = (tokens: readonly Token[]) => zhListedNameFeatures(tokens, knownPlaces, KNOWN_PLACE_LONGEST, "zl");

/** A token's character class: H Han, L letters, D digits, P punctuation, S other, # none (the text's ends). */
const classOf = (token: Token | undefined) =>
  !token ? "#" : token.han ? "H" : /^\p{L}/u.test(token.text) ? "L" : /^\p{N}/u.test(token.text) ? "D" : /^\p{P}$/u.test(token.text) ? "P" : "S";

/**
 * For each UTF-16 position of a text, the index of the first span (in array order) that covers it, or -1: one pass over
 * the spans instead of a scan of them per token, which made long texts quadratic.
 */
function firstCovering(spans: readonly { start: number; end: number }[], length: number): Int32Array {
  const covering = new Int32Array(length).fill(-1);
  for (let k = spans.length - 1; k >= 0; k--) {
    const span = spans[k] as { start: number; end: number };
    // (fill reads a negative end from the array's end: an empty or inverted span covers nothing)
    if (span.start < span.end && span.end > 0) covering.fill(k, Math.max(0, span.start), Math.min(length, span.end));
  }
  return covering;
}

const bucket = (n: number) => (n <= 0 ? "0" : String(Math.min(6, Math.floor(Math.log10(n)))));

/** The static features of every token of a text (the previous label's features are added while decoding). */
export function tokenFeatures(text: string, tokens: readonly Token[], proposal: readonly Entity[] = entityExtractor.extract(text)): string[][] {
  const latin = /[A-Za-z]{2}/.test(text);
  const han = /\p{Script=Han}/u.test(text);
  const terms: { start: number; end: number; tags: string[] }[] = [];
  if (latin) {
    const doc = parseEnglish(text).json({ offset: true }) as { terms: { offset: { start: number; length: number }; tags: string[] }[] }[];
    for (const sentence of doc) for (const term of sentence.terms) terms.push({ start: term.offset.start, end: term.offset.start + term.offset.length, tags: term.tags });
  }
  const words = han ? jiebaWords(text) : [];
  const termAt = firstCovering(terms, text.length);
  const wordIndexAt = firstCovering(words, text.length);
  const places = latin ? loadWorldPlaces() : undefined;
  const people = latin ? loadPersonNames() : undefined;
  const lower = tokens.map((t) => t.text.toLowerCase());
  const at = (i: number) => (i < 0 ? "<s>" : i >= tokens.length ? "</s>" : (lower[i] as string));
  const rules = proposalFeatures(tokens, proposal);
  const zhLists = han ? zhListFeatures(tokens) : [];
  const zhCues = han ? zhCueFeatures(tokens) : [];
  const zhKnown = han ? zhKnownOrgFeatures(tokens) : [];
  const zhPlacesKnown = han ? zhKnownPlaceFeatures(tokens) : [];
  return tokens.map((token, i) => {
    const f: string[] = ["b", `w=${at(i)}`, `w-1=${at(i - 1)}`, `w+1=${at(i + 1)}`, `w-2=${at(i - 2)}`, `w+2=${at(i + 2)}`, `w-1w=${at(i - 1)}|${at(i)}`, `ww+1=${at(i)}|${at(i + 1)}`];
    f.push(...(rules[i] as string[]));
    const previous = tokens[i - 1];
    if (!previous || /^[.!?;:。！？；：\n]$/u.test(previous.text)) f.push("first");
    if (token.han) {
      // (The character bigrams are `w-1w` and `ww+1` above; a second copy of them under other names only doubled their weight and the asset's size.)
      f.push(`c-1c+1=${at(i - 1)}|${at(i + 1)}`);
      // Character classes around it (Han, Latin, digits, punctuation, the ends of the text): names meet numbers, codes and punctuation.
      f.push(`k=${classOf(tokens[i - 2])}${classOf(previous)}_${classOf(tokens[i + 1])}${classOf(tokens[i + 2])}`);
      if (ZH_SURNAME_START.test(token.text)) f.push("surname");
      if (i > 0 && ZH_SURNAME_START.test(tokens[i - 1]?.text ?? "")) f.push("surname-1");
      if (i > 1 && ZH_SURNAME_START.test(tokens[i - 2]?.text ?? "")) f.push("surname-2");
      f.push(...(zhLists[i] ?? []), ...(zhCues[i] ?? []), ...(zhKnown[i] ?? []), ...(zhPlacesKnown[i] ?? []));
      const wordAt = wordIndexAt[token.start] ?? -1;
      const word = words[wordAt];
      if (word) {
        const position = word.word.length === 1 ? "S" : word.start === token.start ? "B" : word.end === token.end ? "E" : "M";
        f.push(`jp=${position}`, `jt=${word.tag}`, `jpt=${position}|${word.tag}`, `jw=${word.word}`, `jf=${bucket(zhWordFrequencyOf(word.word))}|${word.word.length}`);
        f.push(`jt-1=${words[wordAt - 1]?.tag ?? "<s>"}`, `jt+1=${words[wordAt + 1]?.tag ?? "</s>"}`, `jw-1=${words[wordAt - 1]?.word ?? "<s>"}`, `jw+1=${words[wordAt + 1]?.word ?? "</s>"}`);
      }
    } else {
      const word = token.text;
      f.push(`s=${shape(word)}`, `p1=${word.slice(0, 1)}`, `p3=${lower[i]?.slice(0, 3)}`, `x2=${lower[i]?.slice(-2)}`, `x3=${lower[i]?.slice(-3)}`, `s-1=${previous ? shape(previous.text) : "<s>"}`, `s+1=${tokens[i + 1] ? shape(tokens[i + 1]?.text ?? "") : "</s>"}`);
      const term = terms[termAt[token.start] ?? -1];
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

/**
 * The index of the first span (in array order) that overlaps a range, or -1: the smallest index that covers one of the
 * range's positions (spans filled in from the last, so the first one covering a position is the one left there); an
 * empty span is checked one by one. One pass over the spans instead of a scan of them per token.
 */
export function firstOverlappingSpan(spans: readonly { start: number; end: number }[], length: number): (range: { start: number; end: number }) => number {
  const covering = firstCovering(spans, length);
  const empty = spans.flatMap((s, k) => (s.start >= s.end ? [k] : []));
  return (range) => {
    let first = -1;
    for (let p = Math.max(0, range.start); p < Math.min(length, range.end); p++) {
      const k = covering[p] as number;
      if (k >= 0 && (first < 0 || k < first)) first = k;
    }
    for (const k of empty) {
      const s = spans[k] as { start: number; end: number };
      if (s.start < range.end && range.start < s.end && (first < 0 || k < first)) first = k;
    }
    return first;
  };
}

/** The features that say what the rules+nlp extractor proposed at each token (names as BIO, other types as S-type). */
export function proposalFeatures(tokens: readonly Token[], proposal: readonly Entity[]): string[][] {
  const firstOverlapping = firstOverlappingSpan(proposal, tokens.reduce((end, token) => Math.max(end, token.end), 0));
  const ruleLabel = tokens.map((token) => {
    const entity = proposal[firstOverlapping(token)];
    if (!entity) return "O";
    return isName(entity.type) ? `${entity.start >= token.start ? "B" : "I"}-${entity.type}` : `S-${entity.type}`;
  });
  return tokens.map((token, i) => {
    const rule = ruleLabel[i] as string;
    return [`r=${rule}`, `r-1=${ruleLabel[i - 1] ?? "<s>"}`, `r+1=${ruleLabel[i + 1] ?? "</s>"}`, `r|w=${rule}|${token.text.toLowerCase()}`];
  });
}

/** Label indexes allowed after a label: I-x only after B-x or I-x. */
export const allowed = (previous: number, label: number) => {
  const name = LABELS[label] as string;
  if (!name.startsWith("I-")) return true;
  const before = LABELS[previous] ?? "O";
  return before.slice(2) === name.slice(2) && before !== "O";
};

export interface TaggerWeights {
  labels: readonly string[];
  /** Feature → one weight per label. */
  weights: Map<string, Float64Array | number[]>;
  /** How labels are chosen: `greedy` left to right, or `viterbi` (the best label sequence). Default: greedy. */
  decoder?: TaggerDecoder;
}

/** `greedy`: each token's best label given the previous choice; `viterbi`: the best-scoring sequence of labels over the whole text (both only ever put I-x after B-x or I-x). */
export type TaggerDecoder = "greedy" | "viterbi";
const TAGGER_DECODERS: readonly string[] = ["greedy", "viterbi"] satisfies TaggerDecoder[];

type WeightMap = ReadonlyMap<string, Float64Array | number[]>;

/** Adds the weights of `features` into `scores` (one per label). */
function addWeights(weights: WeightMap, features: Iterable<string>, scores: Float64Array): void {
  for (const feature of features) {
    const w = weights.get(feature);
    if (w) for (let l = 0; l < scores.length; l++) scores[l] = (scores[l] as number) + (w[l] as number);
  }
}

/** The features of the previous label (added to a token's static features while decoding). */
export const previousLabelFeatures = (static_: readonly string[], previous: number): [string, string] => [`y-1=${previous}`, `y-1|${static_[1]}=${previous}`];

/** The best label at each token given the one before it, left to right; and each token's margin over the next best allowed label. */
export function greedyDecode(weights: WeightMap, features: readonly (readonly string[])[], keep: (feature: string) => boolean = () => true): { labels: number[]; margins: number[] } {
  const labels: number[] = [];
  const margins: number[] = [];
  const scores = new Float64Array(LABELS.length);
  let previous = 0;
  for (const static_ of features) {
    scores.fill(0);
    addWeights(weights, static_.filter(keep), scores);
    addWeights(weights, previousLabelFeatures(static_, previous), scores);
    const { best, margin } = bestAllowed(scores, previous);
    labels.push(best);
    margins.push(margin);
    previous = best;
  }
  return { labels, margins };
}

function bestAllowed(scores: Float64Array, previous: number): { best: number; margin: number } {
  let best = 0;
  for (let l = 1; l < scores.length; l++) if (allowed(previous, l) && (scores[l] as number) > (scores[best] as number)) best = l;
  let second = -Infinity;
  for (let l = 0; l < scores.length; l++) if (l !== best && allowed(previous, l)) second = Math.max(second, scores[l] as number);
  return { best, margin: (scores[best] as number) - second };
}

/**
 * The label sequence with the highest total score (static features plus the previous label's
 * features), among those that never put I-x after anything but B-x or I-x; each token's margin is
 * its label's score over the next best allowed one, given the label chosen before it.
 */
export function viterbiDecode(weights: WeightMap, features: readonly (readonly string[])[], keep: (feature: string) => boolean = () => true): { labels: number[]; margins: number[] } {
  const L = LABELS.length;
  const T = features.length;
  if (T === 0) return { labels: [], margins: [] };
  // local[t][p * L + l]: the score of label l at token t after label p.
  const local: Float64Array[] = [];
  const best = new Float64Array(T * L).fill(-Infinity);
  const back = new Int8Array(T * L);
  const staticScores = new Float64Array(L);
  const scores = new Float64Array(L);
  for (let t = 0; t < T; t++) {
    const static_ = features[t] as readonly string[];
    staticScores.fill(0);
    addWeights(weights, static_.filter(keep), staticScores);
    const table = new Float64Array(L * L);
    for (let p = 0; p < (t === 0 ? 1 : L); p++) {
      scores.set(staticScores);
      addWeights(weights, previousLabelFeatures(static_, p), scores);
      table.set(scores, p * L);
      const before = t === 0 ? 0 : (best[(t - 1) * L + p] as number);
      if (before === -Infinity) continue;
      for (let l = 0; l < L; l++) {
        if (!allowed(p, l)) continue;
        const total = before + (scores[l] as number);
        if (total > (best[t * L + l] as number)) {
          best[t * L + l] = total;
          back[t * L + l] = p;
        }
      }
    }
    local.push(table);
  }
  const labels = new Array<number>(T).fill(0);
  let last = 0;
  for (let l = 1; l < L; l++) if ((best[(T - 1) * L + l] as number) > (best[(T - 1) * L + last] as number)) last = l;
  labels[T - 1] = last;
  for (let t = T - 1; t > 0; t--) labels[t - 1] = back[t * L + (labels[t] as number)] as number;
  const margins = labels.map((label, t) => {
    const previous = t === 0 ? 0 : (labels[t - 1] as number);
    const row = (local[t] as Float64Array).subarray(previous * L, previous * L + L);
    let second = -Infinity;
    for (let l = 0; l < L; l++) if (l !== label && allowed(previous, l)) second = Math.max(second, row[l] as number);
    return (row[label] as number) - second;
  });
  return { labels, margins };
}

function decode(model: TaggerWeights, features: readonly string[][]): { labels: number[]; margins: number[] } {
  return model.decoder === "viterbi" ? viterbiDecode(model.weights, features) : greedyDecode(model.weights, features);
}

/** A name the tagger found, with its score: the least margin over its tokens between the chosen label and the next best. */
export interface TaggedName extends Entity {
  score: number;
}

/** Per name type, the least score a tagger name needs to be kept (names below it are dropped; none: every name kept). */
export type TaggerThresholds = Partial<Record<EntityType, number>>;

/** Spans of BIO labels over tokens. */
function spans(text: string, tokens: readonly Token[], labels: readonly number[], margins: readonly number[]): TaggedName[] {
  const found: TaggedName[] = [];
  let open: { type: EntityType; start: number; end: number; score: number } | undefined;
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
      open = { type, start: token.start, end: token.end, score: margins[i] as number };
    } else {
      open.end = token.end;
      open.score = Math.min(open.score, margins[i] as number);
    }
  });
  close();
  return found;
}

/** The names the tagger finds in a text from its tokens' static features; each name's score is its least margin over its tokens (best label's score minus the next). */
export function namesOf(model: TaggerWeights, text: string, tokens: readonly Token[], features: readonly string[][]): TaggedName[] {
  const { labels, margins } = decode(model, features);
  const names = withoutCountedThings(text, placeOrgNames(wholePlaceNames(text, wholeOrgNames(text, spans(text, tokens, labels, margins))))).filter((n) => !(n.type === "person" && n.score < ZH_PERSON_LEAST_SCORE && HAN_ONLY.test(n.text)));
  return secondPass(text, names);
}

/**
 * The second pass over Chinese organisation and place spans (session 23, on the tagger v8 weights): a leading preposition or verb glued
 * to the name is cut off (`withoutLeadingWord`), a place that ran on into a verb or a locative is cut after its ending (`placeBeforeVerb`),
 * and a span stopped right before a multi-character ending takes it in (`withLongEndings`). Chosen on v8's CV dumps of sets 10, 11 and 12
 * (bench/train-entities.ts, CV_DUMP) and the frozen v8 run on set 13: never worse on a set, Chinese 0.915 / 0.902 → 0.925 / 0.912 over
 * the four (bench/entities.ts). The lists were written after reading sets 12 and 13's errors: there the gain is in-sample.
 */
export function secondPass(text: string, names: TaggedName[]): TaggedName[] {
  if (!names.some((n) => n.type !== "person" && HAN_ONLY.test(n.text))) return names;
  return withLongEndings(text, placeBeforeVerb(text, withoutLeadingWord(text, names)));
}

/** One-character prepositions and verbs that come right before a name (在 X, 从 X, 订 X, 坐 X), from general usage. */
const ZH_LEADING_WORDS = new Set([..."在从往给订坐跟把被向对到去"]);

/**
 * An organisation or place span of three characters or more that starts with a one-character preposition or verb (在鸿星尔克): the span
 * starts after it, when jieba reads that character as a word of its own (tagged p or v) or glued it into a word it does not know (x).
 */
export function withoutLeadingWord(text: string, names: TaggedName[]): TaggedName[] {
  const candidate = (n: TaggedName) => n.type !== "person" && HAN_ONLY.test(n.text) && n.text.length >= 3 && ZH_LEADING_WORDS.has(n.text.slice(0, 1));
  if (!names.some(candidate)) return names;
  const words = jiebaWords(text);
  return names.map((n) => {
    if (!candidate(n)) return n;
    const word = words.find((w) => w.start === n.start);
    if (!word || !(word.word.length === 1 ? word.tag === "p" || word.tag === "v" : word.tag === "x")) return n;
    return { ...n, start: n.start + 1, text: n.text.slice(1) };
  });
}

/** Place endings after which a span that goes on with a verb or a locative was a place (梅山岛 | 订民宿, 周庄古镇 | 里开茶馆). */
const ZH_PLACE_END_BEFORE_VERB = /(?:古镇|古城|新区|老街|群岛|草原|[岛山湖村镇区县江河峰寺桥关省州湾])$/u;
/** What follows a place in a sentence and never ends a name: verbs of going, staying and booking, and locatives. */
const ZH_VERB_AFTER_PLACE = /^(?:订|住|开|去|到|玩|买|看|拍|新建|建|里|边|旁|外|内|附近|人)/u;

/** An organisation or place span of four characters or more with a place's ending followed by a verb or a locative: the place alone. */
export function placeBeforeVerb(_text: string, names: TaggedName[]): TaggedName[] {
  return names.map((n) => {
    if (n.type === "person" || !HAN_ONLY.test(n.text) || n.text.length < 4) return n;
    for (let k = 2; k < n.text.length; k++) {
      const head = n.text.slice(0, k);
      if (ZH_PLACE_END_BEFORE_VERB.test(head) && ZH_VERB_AFTER_PLACE.test(n.text.slice(k))) return { ...n, type: "place", end: n.start + k, text: head };
    }
    return n;
  });
}

/** Multi-character endings of places (群岛, 草原, 海水浴场, 观景台), longest first: a place span right before one takes it in. */
const ZH_PLACE_LONG_ENDS = "群岛 草原 海水浴场 浴场 冰川 观景台 冰场 滑雪场 街道 小镇 公园 湿地 水库 海滩 沙滩 瀑布 峡谷 半岛 斜街 胡同 码头 景区 古镇 古城 新区 老街 大道 大街 草甸 海湾 河谷 雪山 度假区 风景区 步行街 古村 水乡"
  .split(" ")
  .sort((a, b) => b.length - a.length);
/** Multi-character endings of firms and media (户外, 葡萄酒, 新闻, 气象台, 客栈), from general usage: a span right before one is an organisation with it. */
const ZH_ORG_LONG_ENDS = "户外 葡萄酒 酒庄 茶庄 新闻网 新闻 气象台 客栈 潜水 公益 水厂 电厂 驾校 书院 门诊部 卫生院 诊所 大药房 酒楼 饭庄 小馆 茶社 琴行 剧场 俱乐部 读书会 合作社 工作室 工坊 民宿 游泳馆 瑜伽馆 健身房".split(" ").sort((a, b) => b.length - a.length);

/**
 * Spans made whole over a multi-character ending right after them, never over another name: a place takes in a place's ending
 * (乌拉盖 + 草原), and an organisation, place or person span followed by a firm's ending becomes that organisation (雪狐 + 户外).
 */
export function withLongEndings(text: string, names: TaggedName[]): TaggedName[] {
  const out = names.map((n) => ({ ...n }));
  const free = (self: TaggedName, end: number) => !out.some((o) => o !== self && o.start < end && self.start < o.end);
  for (const n of out) {
    if (!HAN_ONLY.test(n.text)) continue;
    const place = n.type === "place" ? ZH_PLACE_LONG_ENDS.find((e) => text.startsWith(e, n.end)) : undefined;
    if (place !== undefined && free(n, n.end + place.length)) {
      n.end += place.length;
      n.text = text.slice(n.start, n.end);
    }
    const firm = ZH_ORG_LONG_ENDS.find((e) => text.startsWith(e, n.end));
    if (firm !== undefined && free(n, n.end + firm.length)) {
      n.end += firm.length;
      n.text = text.slice(n.start, n.end);
      n.type = "organization";
    }
  }
  return out;
}

/**
 * The least score (margin) of a Chinese person span kept, since tagger v8: the weakest ones were mostly common words (贺卡, 周会) and
 * parts of organisations. Chosen on the CV dumps: -60 never lost a correct person on sets 9–12 (v7's dumps) or 10–12 (v8's), -50 did.
 */
const ZH_PERSON_LEAST_SCORE = -60;

/** Measure words and units that end a quantity written in Chinese ("两斤", "59 元", "3 个"): what a quantity counts is a thing, not a person. */
const ZH_COUNTED = /[斤吨米克升元块箱瓶袋包份盒件个只条张台]$/u;
/** An age or a rank ("28 岁的", "三届的", "五级的") comes before persons: not a quantity of things. */
const ZH_NOT_COUNTED = /[岁届级]$/u;

/**
 * A Chinese person span right after a quantity and 的 is what the quantity counts, not a person ("120 立方米的红松", "3 公斤的巴旦木",
 * "7782 的钱转走"): dropped. The quantity is jieba's word before 的: a measure word (q), a number, or a number word ending in a measure
 * or unit. Chosen on the CV dumps of sets 10, 11 and 12 (bench/train-entities.ts, CV_DUMP).
 */
export function withoutCountedThings(text: string, names: TaggedName[]): TaggedName[] {
  const after = (n: TaggedName) => n.type === "person" && HAN_ONLY.test(n.text) && text[n.start - 1] === "的";
  if (!names.some(after)) return names;
  const words = jiebaWords(text).filter((w) => w.word.trim() !== "");
  return names.filter((n) => {
    if (!after(n)) return true;
    const before = words.filter((w) => w.end <= n.start - 1).at(-1);
    if (!before || text.slice(before.end, n.start - 1).trim() !== "" || ZH_NOT_COUNTED.test(before.word)) return true;
    const prior = words.filter((w) => w.end <= before.start).at(-1);
    const counted = before.tag === "q" || /\p{N}/u.test(before.word) || (before.tag === "m" && ZH_COUNTED.test(before.word) && (before.word.length > 1 || /\p{N}/u.test(prior?.word ?? "")));
    return !counted;
  });
}

/**
 * A Chinese place the tagger found right before a Chinese organisation, with nothing between them, is the start of that organisation's
 * name (上海市 + 第六人民医院, 林芝 + 藏香合作社): one organisation. Chosen on the CV dumps of sets 9, 10 and 11 (never worse on a fold);
 * a place followed by an organisation's ending word alone was not kept (it lost on sets 9 and 10).
 */
export function placeOrgNames(names: TaggedName[]): TaggedName[] {
  const merged: TaggedName[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as TaggedName;
    const next = names[i + 1];
    if (name.type === "place" && next?.type === "organization" && next.start === name.end && HAN_ONLY.test(name.text) && HAN_ONLY.test(next.text)) {
      merged.push({ type: "organization", text: name.text + next.text, start: name.start, end: next.end, score: Math.min(name.score, next.score) });
      i++;
      continue;
    }
    merged.push(name);
  }
  return merged;
}

const HAN_ONLY = /^\p{Script=Han}+$/u;
const ORG_END_LONGEST = Math.max(...[...ZH_ORG_ENDS].map((end) => end.length));

/**
 * Chinese organisations' spans made whole, where the tagger stopped inside the name: a span that an organisation's ending
 * word follows right away takes it in ("七牛" + 云, "国家统计" + 局), and a span that starts inside one of jieba's words
 * that ends within the span starts where that word starts ("堂动物医院" inside "芭比堂动物医院"). Never over another name.
 */
export function wholeOrgNames(text: string, names: TaggedName[]): TaggedName[] {
  if (!names.some((n) => n.type === "organization" && HAN_ONLY.test(n.text))) return names;
  const words = jiebaWords(text);
  const out = names.map((n) => ({ ...n }));
  const free = (start: number, end: number, self: TaggedName) => !out.some((o) => o !== self && o.start < end && start < o.end);
  for (const name of out) {
    if (name.type !== "organization" || !HAN_ONLY.test(name.text)) continue;
    for (let n = ORG_END_LONGEST; n >= 1; n--) {
      const end = text.slice(name.end, name.end + n);
      if (end.length === n && ZH_ORG_ENDS.has(end)) {
        if (free(name.start, name.end + n, name)) name.end += n;
        break;
      }
    }
    const word = words.find((w) => w.start < name.start && name.start < w.end);
    if (word && HAN_ONLY.test(word.word) && word.end <= name.end && free(word.start, name.end, name)) name.start = word.start;
    name.text = text.slice(name.start, name.end);
  }
  return out;
}

/**
 * The endings of a Chinese place's name (island, mountain, lake, road, village, town, district, county, river, peak, temple,
 * bridge, pass; old town, new district, old city, avenue, street, scenic area), from general usage: in the labelled sets a place
 * is written with its ending whenever the text has one. 市 / 省 / 口 / 港 / 湾 are left out: they also start other words.
 */
const ZH_PLACE_ENDS = ["古镇", "新区", "古城", "大道", "大街", "景区", "老街", ..."岛山湖路村镇区县江河峰寺桥关"];

/** Chinese places' spans made whole: a place the tagger stopped right before its ending ("花鸟" + 岛, "桐木" + 关) takes the ending in. Never over another name. */
export function wholePlaceNames(text: string, names: TaggedName[]): TaggedName[] {
  if (!names.some((n) => n.type === "place" && HAN_ONLY.test(n.text))) return names;
  const out = names.map((n) => ({ ...n }));
  for (const name of out) {
    if (name.type !== "place" || !HAN_ONLY.test(name.text)) continue;
    const end = ZH_PLACE_ENDS.find((e) => text.startsWith(e, name.end));
    if (end === undefined || out.some((o) => o !== name && o.start < name.end + end.length && name.start < o.end)) continue;
    name.end += end.length;
    name.text = text.slice(name.start, name.end);
  }
  return out;
}

/** The names the tagger finds in a text, with the rules+nlp proposal it read. */
export function tagNames(model: TaggerWeights, text: string): { names: TaggedName[]; proposal: Entity[] } {
  return sharingEnglishParse(text, () => {
    const proposal = entityExtractor.extract(text);
    const tokens = tokenize(text);
    return { names: namesOf(model, text, tokens, tokenFeatures(text, tokens, proposal)), proposal };
  });
}

/** Words of moving or visiting: a one-word name after "from" / "in" may be a place there ("moving from Pine Ridge", "visits from Sofia"). */
const EN_MOVE = /\b(?:move|moves|moving|moved|visit|visits|visiting|visited|tuk-tuk|bus|taxi|cab)\b/iu;

/** The entities of a text from the rules+nlp proposal and the tagger's names, in a mode. */
/** With the text, the spans then follow docs/ENTITIES.md (`followGuide`), and a name may hold a plain number ("Terminal 2": the number is dropped). */
export function combine(proposal: readonly Entity[], names: readonly TaggedName[], mode: TaggerMode, thresholds: TaggerThresholds = {}, text?: string): Entity[] {
  const kept = mode === "tagger" ? proposal.filter((e) => !isName(e.type)) : proposal;
  const blocks = (e: Entity, n: TaggedName) => e.start < n.end && n.start < e.end && !(text !== undefined && e.type === "number" && n.start <= e.start && e.end <= n.end);
  // Whether the text tells of a trip (the same for every name: looked for once).
  let trip: boolean | undefined;
  const tellsOfTrip = (text: string) => (trip ??= EN_TRAVEL.test(text) || EN_MOVE.test(text));
  const added = names
    .filter((n) => n.score >= (thresholds[n.type] ?? -Infinity) && !kept.some((e) => blocks(e, n)))
    .map((n) => ({ type: n.type, text: n.text, start: n.start, end: n.end }))
    // A one-word English place the rules read as a person's first name, in a text with no trip in it ("a quote from Mark"), is the
    // person (the converse of docs/ENTITIES.md's person-in-a-trip rule in followGuide).
    .map((n) => (text !== undefined && n.type === "place" && /^\p{Lu}\p{Ll}+$/u.test(n.text) && !tellsOfTrip(text) && !(/\bfrom\s$/u.test(text.slice(Math.max(0, n.start - 5), n.start)) && /^\sto\s\p{Lu}/u.test(text.slice(n.end, n.end + 5))) && !/\bfrom\s\p{Lu}[\p{L}-]*(?:\s\p{Lu}[\p{L}-]*)?\sto\s$/u.test(text.slice(Math.max(0, n.start - 40), n.start)) && proposal.some((e) => e.type === "person" && e.start === n.start && e.end === n.end) ? { ...n, type: "person" as const } : n));
  const all = [...kept, ...added].sort((a, b) => a.start - b.start);
  return text === undefined ? all : followGuide(text, all);
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
      return combine(proposal, names, mode, {}, text);
    },
  };
}

/** The weights file's JSON: the labels, then each feature with its non-zero weights as "label:weight …", scaled by `scale` and rounded. */
export interface TaggerFile {
  version: 1;
  labels: string[];
  scale: number;
  /** `trainingFingerprint` of the code that trained these weights (src/semantic/entities-train.ts). */
  fingerprint?: string;
  /** The decoder the weights were trained with (default: greedy). */
  decoder?: TaggerDecoder;
  weights: Record<string, string>;
}

export function weightsFromFile(file: TaggerFile): TaggerWeights {
  if (file.version !== 1 || file.labels.join(" ") !== LABELS.join(" ")) {
    throw new MemzipError(ErrorCode.VERSION, `the entity tagger's weights (version ${String(file.version)}, labels ${file.labels.join(" ")}) are not this tagger's`, {
      hint: "rebuild assets/entity-tagger.json with `npm run train:entities`",
    });
  }
  if (file.decoder !== undefined && !TAGGER_DECODERS.includes(file.decoder)) {
    throw new MemzipError(ErrorCode.VERSION, `the entity tagger's weights name a decoder this build does not know: ${JSON.stringify(file.decoder)} (known: ${TAGGER_DECODERS.join(", ")})`, {
      hint: "rebuild assets/entity-tagger.json with `npm run train:entities`, or use the memzip version that trained it",
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
  return { labels: file.labels, weights, ...(file.decoder ? { decoder: file.decoder } : {}) };
}

/** System errors a later read may not meet again (they say nothing about the file). */
const PASSING_ERRORS = new Set(["EMFILE", "ENFILE", "EIO", "EAGAIN", "EBUSY", "ENOMEM", "EINTR"]);

export const TAGGER_ASSET = new URL("../../../assets/entity-tagger.json", import.meta.url);

/**
 * A loader of the weights at `source`, read on first use. A failure of the file itself (missing, broken JSON, wrong version or
 * decoder) is remembered and thrown again on every later call, without reading or parsing the file again: a broken asset costs
 * one parse per process, not one per semantic write before the fallback. A passing failure of the system (too many open files,
 * an I/O error, no memory) is not remembered: the next call reads the file again.
 */
export function taggerLoader(source: URL | string): () => TaggerWeights {
  let loaded: TaggerWeights | undefined;
  let failure: MemzipError | undefined;
  return () => {
    if (loaded) return loaded;
    if (failure) throw failure;
    try {
      loaded = weightsFromFile(JSON.parse(readFileSync(source, "utf8")) as TaggerFile);
      return loaded;
    } catch (error) {
      const typed = isMemzipError(error)
        ? error
        : new MemzipError(ErrorCode.MISSING_ASSET, `the entity tagger's weights (${String(source)}) could not be read: ${error instanceof Error ? error.message : String(error)}`, {
            hint: "reinstall memzip, or rebuild assets/entity-tagger.json with `npm run train:entities`",
            cause: error,
          });
      if (!PASSING_ERRORS.has((error as NodeJS.ErrnoException).code ?? "")) failure = typed;
      throw typed;
    }
  };
}

/** The committed weights, read on first use (no network); a failure is remembered (see `taggerLoader`). */
export const loadTagger: () => TaggerWeights = taggerLoader(TAGGER_ASSET);

/**
 * The default entity extractor: the rules+nlp extractor's structured types (formats, units,
 * versions, paths, hashes, ids, money) and the names (person, organisation, place) the trained
 * tagger finds, from the committed weights. Chosen over rules+nlp alone by leave-one-set-out
 * cross-validation on unseen sets 6, 7 and 8, since tagger v5 on 7, 8 and 9, since tagger v6 on 8, 9 and 10, since tagger v7 on 9, 10 and 11, since tagger v8 on 10, 11 and 12 (`npm run train:entities -- --cv`; BENCHMARKS.md).
 */
export const defaultEntityExtractor: EntityExtractor = taggedExtractor(loadTagger, "tagger");
/**
 * The rules+nlp entities plus the names the trained tagger finds that overlap none of them (the
 * "union" mode, `rules+nlp+tagger`), as exported before the tagger became the default.
 */
export const taggerEntityExtractor: EntityExtractor = taggedExtractor(loadTagger, "union");
