import type { Entity, EntityExtractor, EntityType } from "./entities.js";

/**
 * Entity extraction with no model: patterns for the formats (emails, URLs, dates and times,
 * amounts, numbers, code identifiers) and small gazetteers plus context cues for people,
 * organisations and places, in English and Chinese. Overlapping matches are resolved by rule
 * priority, then by length. Precision and recall on the team's test set are in BENCHMARKS.md.
 */
export const ruleEntityExtractor: EntityExtractor = {
  name: "rules",
  extract(text) {
    const found: (Entity & { priority: number })[] = [];
    RULES.forEach((rule, priority) => {
      for (const match of text.matchAll(rule.pattern)) {
        const span = rule.span ? rule.span(match) : { start: match.index, text: match[0] };
        const trimmed = trimTrailing(span.text, rule.type);
        if (trimmed === "" || (rule.accept && !rule.accept(trimmed, text, span.start))) continue;
        found.push({ type: rule.type, text: trimmed, start: span.start, end: span.start + trimmed.length, priority });
      }
    });
    return resolveOverlaps(found);
  },
};

interface Rule {
  type: EntityType;
  pattern: RegExp;
  /** The part of the match that is the entity; defaults to the whole match. */
  span?: (match: RegExpMatchArray) => { start: number; text: string };
  accept?: (entity: string, text: string, start: number) => boolean;
}

const MONTHS = "Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?";
const ZH_DIGITS = "[0-9０-９一二三四五六七八九十两]";
const ZH_DAYPART = "(?:上午|下午|晚上|凌晨|中午|早上|傍晚)";

const FIRST_NAMES = new Set(
  `Ana Anna Alice Bob Carol Dave David Emma Eva Jonas Jana Mei Lily Tom Sue Max Sarah John Jane Peter Paul Maria Mark Anne Laura Lucas Leon
   Mia Noah Olivia Liam Sofia James Robert Michael William Daniel Thomas Joseph Charles Chris Kate Lisa Julia Martin Felix Hannah Lena Nina
   Omar Ali Fatima Priya Raj Ravi Yuki Kenji Hiro Wei Li Chen Lin Ming Tim Sam Alex Ben Claire Sophie Eric Frank Grace Henry Ivan Jack Karl
   Lucy Nora Oscar Rosa Steve Tina Victor Zoe Niko Linus Ada Grace Elena Marco Pedro Diego Juan Carlos Luis Miguel`.split(/\s+/),
);
const NOT_NAMES = new Set(
  `The A An This That These Those It In On At For From To Of And Or But If When While After Before During Next Last Every Each Our Your My
   Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July August September October November December
   Decision Present Owner Next Open Risk Mitigation Fix Follow Project Status User Assistant Weekly Incident Hiring Data Never Deploy Promote
   Settings Trip Flight Hotel Meet Billing Invoices Reminder Candidate Vote Original`.split(/\s+/),
);
const ORG_SUFFIX = "GmbH|Inc\\.?|Ltd\\.?|LLC|Corp\\.?|Corporation|AG|PLC|Company|Foundation|University|Institute|Bank|Labs?|Group";
const KNOWN_ORGS = "Google|Microsoft|OpenAI|Apple|Amazon|Meta|Debian|GitHub|Mozilla|Alibaba|Tencent|Baidu|Huawei|Lufthansa|Anthropic|Nvidia|IBM|Oracle|Netflix|Ollama";
const KNOWN_PLACES =
  "Berlin|Munich|Hamburg|London|Paris|Madrid|Rome|Vienna|Zurich|Amsterdam|Shanghai|Beijing|Shenzhen|Hangzhou|Hong Kong|Tokyo|Seoul|Singapore|New York|San Francisco|" +
  "Seattle|Boston|Chicago|Toronto|Sydney|Pudong|People's Square|Germany|China|Japan|France|Spain|Italy|Canada|Australia|India|Europe|Asia|USA|United States|United Kingdom";
const ZH_PLACES =
  "北京|上海|广州|深圳|杭州|南京|成都|武汉|西安|天津|重庆|苏州|香港|台北|浦东|人民广场|慕尼黑|柏林|伦敦|巴黎|东京|纽约|首尔|新加坡|中国|德国|美国|日本|英国|法国|欧洲|亚洲";
const ZH_SURNAMES =
  "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
/** A Han character that is not a common function word, so a name cannot swallow "在", "和", "的"… */
const ZH_CONTENT = "(?:(?![在和与的了去问是把被向从住们我他她它这那说到给对])\\p{Script=Han})";
/** Characters that may follow a Chinese name (role brackets, punctuation, common verbs). */
const ZH_AFTER_NAME = "（(，,、：:。；;负说去问和与在将把的对来也已会要写提起答";

// Earlier rules win overlaps; within a rule, longer matches win.
const RULES: readonly Rule[] = [
  { type: "email", pattern: /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g },
  { type: "url", pattern: /\bhttps?:\/\/[^\s<>"'）】」]+|\bwww\.[^\s<>"'）】」]+/g },
  { type: "code", pattern: /`([^`\n]+)`/g, span: (m) => ({ start: (m.index as number) + 1, text: m[1] as string }) },
  { type: "datetime", pattern: /\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?(?:\s?(?:UTC|CET|CEST|GMT))?/g },
  { type: "datetime", pattern: new RegExp(`\\b(?:${MONTHS})\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?(?:,?\\s+\\d{4})?\\b|\\b\\d{1,2}\\s+(?:${MONTHS})(?:\\s+\\d{4})?\\b|\\b(?:${MONTHS})\\s+\\d{4}\\b`, "g") },
  { type: "datetime", pattern: /\b(?:(?:next|last|this)\s+)?(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day(?:s)?\b|\b(?:today|tomorrow|yesterday|tonight)\b/gi },
  { type: "datetime", pattern: new RegExp(`\\d{4}年${ZH_DIGITS}{1,2}月(?:${ZH_DIGITS}{1,3}[日号])?|${ZH_DIGITS}{1,2}月${ZH_DIGITS}{1,3}[日号]|${ZH_DIGITS}{1,3}[日号](?=[至到])|(?<=[至到])${ZH_DIGITS}{1,3}[日号]`, "g") },
  { type: "datetime", pattern: new RegExp(`${ZH_DAYPART}${ZH_DIGITS}{1,2}[:：]\\d{2}|${ZH_DAYPART}?${ZH_DIGITS}{1,3}点(?:${ZH_DIGITS}{1,3}分|半)?|${ZH_DAYPART}`, "g") },
  { type: "datetime", pattern: /(?:下|上|这|本)?(?:周|星期|礼拜)[一二三四五六日天末]|今天|明天|后天|昨天|前天|今晚|明早|下周|上周|下个月|上个月/g },
  { type: "datetime", pattern: /\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?(?:am|pm|AM|PM))?(?:\s?(?:UTC|CET|CEST|GMT|PST|EST))?(?!\d)|\b\d{1,2}\s?(?:am|pm)\b/g },
  { type: "amount", pattern: /(?:US\$|[$€£¥￥])\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:k|m|bn|million|billion))?\b|\b\d[\d,]*(?:\.\d+)?\s?(?:USD|EUR|GBP|CNY|RMB|dollars?|euros?)\b/g },
  { type: "amount", pattern: /\d[\d,]*(?:\.\d+)?\s?(?:万|亿)?(?:元|美元|欧元|英镑|人民币|块钱)|人民币\s?\d[\d,]*(?:\.\d+)?/g },
  { type: "code", pattern: /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g },
  { type: "code", pattern: /\b[A-Za-z_][\w.]*\(\)|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[a-z]+(?:[A-Z][a-z0-9]+)+\b/g },
  { type: "code", pattern: /\b[a-z_]+=[A-Za-z0-9_]+\b/g },
  { type: "code", pattern: /\b[\w-]+\.(?:ts|js|mjs|py|json|jsonl|md|txt|ya?ml|toml|sh|go|rs|c|h|cpp|java|sql|db|arrow|csv)\b/g },
  { type: "code", pattern: /\b[A-Z]{1,4}\d{2,}(?:-\d+)?\b|\b[A-Z]{1,3}\d[A-Z0-9]*-\d+\b/g },
  { type: "organization", pattern: new RegExp(`\\b(?:[A-Z][\\w&-]*\\s+){0,3}[A-Z][\\w&-]*\\s+(?:${ORG_SUFFIX})(?=[\\s,.;:)]|$)|\\b(?:${KNOWN_ORGS})\\b`, "g") },
  { type: "organization", pattern: new RegExp(`${ZH_CONTENT}{1,8}?(?:公司|集团|大学|学院|银行|研究所|研究院|委员会|协会)|数据组`, "gu") },
  { type: "place", pattern: new RegExp(`\\b[A-Z][a-z]+(?:\\s+[A-Z][a-z]+)*\\s+(?:Street|Road|Avenue|Square|Airport|Station|Province)\\b|\\b(?:${KNOWN_PLACES})\\b`, "g") },
  { type: "place", pattern: new RegExp(`${ZH_CONTENT}{1,4}?(?:省|市|机场|火车站|路|大街)|${ZH_PLACES}`, "gu") },
  {
    type: "person",
    pattern: /\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?|\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2}\b|\b[A-Z][a-z]+\b/g,
    // "Email Jana Novak": a name starts at the first known first name of a capitalised run.
    span: (m) => {
      const words = m[0].split(/\s+/);
      const first = words.findIndex((w) => FIRST_NAMES.has(w) || /^(?:Mr|Mrs|Ms|Dr|Prof)\.?$/.test(w));
      if (first <= 0) return { start: m.index as number, text: m[0] };
      const skipped = m[0].indexOf(words[first] as string);
      return { start: (m.index as number) + skipped, text: m[0].slice(skipped) };
    },
    accept: (name, text, start) => {
      const words = name.split(/\s+/);
      if (/^(?:Mr|Mrs|Ms|Dr|Prof)\.?$/.test(words[0] as string)) return true;
      if (words.some((w) => NOT_NAMES.has(w))) return false;
      if (FIRST_NAMES.has(words[0] as string)) return true;
      // An unknown single capitalised word counts when a role in brackets follows it: "Ana (PM)".
      return words.length === 1 && /^\s*\(/.test(text.slice(start + name.length));
    },
  },
  {
    type: "person",
    pattern: new RegExp(`[${ZH_SURNAMES}][\\p{Script=Han}]{1,2}`, "gu"),
    span: (m) => {
      const text = m[0];
      const after = m.input?.[(m.index as number) + text.length];
      // Three characters only when the third is no verb or particle itself ("王芳去问" is 王芳).
      const whole = (after === undefined || ZH_AFTER_NAME.includes(after)) && !(text.length === 3 && ZH_AFTER_NAME.includes(text[2] as string));
      return { start: m.index as number, text: whole ? text : text.slice(0, 2) };
    },
    accept: (name, text, start) => {
      const after = text[start + name.length];
      const before = text[start - 1];
      const nameLike = after === undefined || ZH_AFTER_NAME.includes(after);
      return nameLike && !/^(?:周[一二三四五六日末]|方案|方式|方面|高级|高峰|金额|石油|白天|马上|钱包|万一|向前|江湖|于是)/.test(name) && (before === undefined || !/[\p{Script=Han}]/u.test(before) || "：:、，,（(和与".includes(before));
    },
  },
  { type: "number", pattern: /\+\d{1,3}(?:[ -]\d{2,4}){2,4}\b|\(\d{3}\)\s?\d{3}-\d{4}\b/g },
  { type: "number", pattern: /(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?:\s?%)?(?![\w])/g },
];

function trimTrailing(text: string, type: EntityType): string {
  return type === "url" || type === "email" ? text.replace(/[.,;:!?]+$/, "") : text;
}

function resolveOverlaps(found: (Entity & { priority: number })[]): Entity[] {
  const ordered = [...found].sort((a, b) => a.priority - b.priority || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const taken: Entity[] = [];
  for (const candidate of ordered) {
    if (taken.some((t) => candidate.start < t.end && t.start < candidate.end)) continue;
    taken.push({ type: candidate.type, text: candidate.text, start: candidate.start, end: candidate.end });
  }
  return taken.sort((a, b) => a.start - b.start);
}
