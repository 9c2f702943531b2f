import type { Entity } from "./entities.js";
import { ZH_SURNAME_START } from "./entities-nlp.js";
import { ZH_COMPOUND_SURNAMES } from "./zh-surnames.js";

/**
 * The span rules of docs/ENTITIES.md (how every entity test set is labelled since stop 25), applied to the entities the
 * rules and the tagger found: approximations, prepositions and articles outside a span; a title written right before a
 * person's name inside it, a kinship word outside it, kinship words and roles alone no persons; a Chinese surname with a
 * title a person (冯大夫, 李总); a date and a time written together with nothing but a space or a comma between them one
 * span; no number inside a name ("Terminal 2", "Route 66"). General rules of the guide, no names from any set.
 */
export function followGuide(text: string, entities: readonly Entity[]): Entity[] {
  let out: Entity[] = [];
  for (const entity of entities) {
    const trimmed = trimmedSpan(text, entity);
    if (trimmed) out.push(trimmed);
  }
  out = out.map((e) => (e.type === "number" && isIdNumber(text, e) ? { ...e, type: "id" } : e));
  out = withTitledChinese(text, out);
  out = withoutNumbersInNames(text, out);
  out = joinedDateTimes(text, out);
  // A span does not nest inside another: the first (then the longer) kept.
  out.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Entity[] = [];
  for (const e of out) if (!kept.some((k) => e.start < k.end && k.start < e.end)) kept.push(e);
  return kept;
}

const at = (text: string, start: number, end: number, type: Entity["type"]): Entity | undefined => (end > start ? { type, text: text.slice(start, end), start, end } : undefined);

/** Words of approximation before a number ("about 40 seconds" → `40 seconds`, "大约三天" → `三天`). */
const APPROXIMATE_BEFORE = /^(?:(?:about|around|approximately|approx\.|roughly|nearly|almost|over|under|some|circa|ca\.|up to|at least|at most|more than|less than|just over|just under|well over)\s+|[~≈]\s?|(?:大约|大概|约莫|约|将近|差不多|近|足足|整整|至少|最多|超过)\s?)/iu;
const APPROXIMATE_AFTER = /(?:\s?(?:左右|上下)|\s+or so)$/u;
/** Prepositions and articles before a date ("on Friday" → `Friday`, "the weekend" → `weekend`). */
const DATE_LEAD = /^(?:the|on|at|in|by|before|after|until|till|since|from|around|about)\s+/iu;
/** Kinship words and roles before a name ("Grandpa Teodoro" → `Teodoro`). */
const EN_KINSHIP = "Grandpa|Grandma|Granny|Grandad|Granddad|Grandfather|Grandmother|Nana|Nan|Uncle|Aunt|Auntie|Aunty|Cousin|Mom|Mum|Mommy|Mummy|Dad|Daddy|Papa|Mama|Brother|Sister|Baby";
const EN_KINSHIP_BEFORE = new RegExp(`^(?:(?:my|our|your|his|her|their|the)\\s+)?(?:${EN_KINSHIP})\\s+(?=\\p{Lu})`, "u");
const EN_KINSHIP_ALONE = new RegExp(`^(?:(?:my|our|your|his|her|their|the)\\s+)?(?:${EN_KINSHIP}|Grandparents|Parents|Mother|Father|Son|Daughter|Wife|Husband|Landlord|Landlady|Neighbour|Neighbor|Boss)$`, "iu");
/** A title or honorific right before a name is part of it (`Dr. Osei Boateng`, `Mrs. Wiegersma`, `Prof. Lin`). */
const EN_TITLE_BEFORE = /(?:^|[^\p{L}.])((?:Dr|Mr|Mrs|Ms|Mx|Prof|Rev|Capt|Sgt|Lt|Col|Gen|Fr|Hon)\.?|Professor|Doctor|Sir|Dame|Lady|Lord|Judge|Detective|Senator|Madame|Mme\.?|Herr|Frau|Señor|Señora|Sra\.?|Sr\.?)\s+$/u;
const ZH_KINSHIP = new Set(
  "妈妈 爸爸 妈 爸 奶奶 爷爷 外婆 外公 姥姥 姥爷 哥哥 姐姐 弟弟 妹妹 老公 老婆 儿子 女儿 阿姨 叔叔 舅舅 姑姑 婆婆 公公 岳母 岳父 房东 老板 老师 医生 大夫 同事 邻居 室友 师傅 领导 客户".split(" "),
);

function trimmedSpan(text: string, entity: Entity): Entity | undefined {
  let { start, end } = entity;
  while (start < end && /\s/u.test(text[start] as string)) start++;
  while (end > start && /\s/u.test(text[end - 1] as string)) end--;
  const span = () => text.slice(start, end);
  const cut = (re: RegExp) => {
    const m = re.exec(span());
    if (m && m[0].length < end - start) start += m[0].length;
  };
  switch (entity.type) {
    case "duration":
    case "quantity":
    case "amount":
    case "number": {
      cut(APPROXIMATE_BEFORE);
      const tail = APPROXIMATE_AFTER.exec(span());
      if (tail && tail[0].length < end - start) end -= tail[0].length;
      break;
    }
    case "datetime":
      cut(DATE_LEAD);
      break;
    case "person": {
      if (/\p{Script=Han}/u.test(span())) {
        if (ZH_KINSHIP.has(span())) return undefined;
        break;
      }
      if (EN_KINSHIP_ALONE.test(span())) return undefined;
      cut(/^the\s+/iu);
      cut(EN_KINSHIP_BEFORE);
      const possessive = /['’]s?$/u.exec(span());
      if (possessive && possessive[0].length < end - start) end -= possessive[0].length;
      const from = Math.max(0, start - 20);
      const title = EN_TITLE_BEFORE.exec(text.slice(from, start));
      if (title) start = from + title.index + title[0].indexOf(title[1] as string);
      break;
    }
    case "organization":
    case "place": {
      // A Chinese name that ran on into a one-character verb (聚福楼吃, 青螺岛住): the verb is the sentence's. Not 小吃 (沙县小吃).
      if (/^\p{Script=Han}{4,}$/u.test(span()) && /(?<!小)[吃喝买住玩看拿办订做等见]$/u.test(span())) end -= 1;
      // A lower-case article is the sentence's ("the Louvre"); "The Copper Heron" keeps its own.
      cut(/^the\s+/u);
      const possessive = /['’]s$/u.exec(span());
      if (possessive && !/\p{Script=Han}/u.test(span())) end -= possessive[0].length;
      break;
    }
    default:
      break;
  }
  return at(text, start, end, entity.type);
}

const ZH_TITLES = "先生|女士|小姐|经理|总监|总(?![部结共体计额数线裁统之监])|老师|医生|大夫|教授|博士|律师|主任|师傅|工程师|会计|处长|科长|局长|院长|校长|所长|部长|董事长|书记|主管|队长|老板|阿姨|叔";
const ZH_TITLED = new RegExp(`(?:${ZH_COMPOUND_SURNAMES.join("|")}|\\p{Script=Han})(?:${ZH_TITLES})`, "gu");
/** Characters that may stand right before a surname with a title: function words and verbs of meeting or asking. */
const ZH_BEFORE_TITLED = /[和与及、，,：:的是给向跟找问让请见复叫约送抄在把被同连去到带陪告]$/u;

/** A Chinese surname with a title right after it is a person (`冯大夫`, `王老师`, `李总`): added, or a person inside it made whole. */
function withTitledChinese(text: string, entities: Entity[]): Entity[] {
  if (!/\p{Script=Han}/u.test(text)) return entities;
  let out = entities;
  for (const m of text.matchAll(ZH_TITLED)) {
    const start = m.index;
    const end = start + m[0].length;
    const surname = m[0].length >= 2 && ZH_COMPOUND_SURNAMES.some((c) => m[0].startsWith(c)) ? 2 : 1;
    if (surname === 1 && !ZH_SURNAME_START.test(m[0])) continue;
    const before = text.slice(Math.max(0, start - 1), start);
    if (before !== "" && /\p{Script=Han}/u.test(before) && !ZH_BEFORE_TITLED.test(before)) continue;
    const overlapping = out.filter((e) => e.start < end && start < e.end);
    if (overlapping.some((e) => e.type !== "person" || e.start < start || e.end > end)) continue;
    out = [...out.filter((e) => !overlapping.includes(e)), { type: "person", text: m[0], start, end }];
  }
  return out;
}

/** Words that name a ticket, order, invoice, booking or case number right before it ("ticket 48213", "订单号 20260412"): the number is an `id`. */
const ID_CUE = /(?:\b(?:ticket|invoice|reservation|confirmation|tracking|PR|MR|ref|reference|receipt|waybill)\s?(?:no\.?|number|num|id|#|code)?\s?[:#]?\s?|\b(?:order|case|booking|issue|claim|policy|account|member|membership|parcel|shipment)\s?(?:no\.?|number|num|id|#|code|:)\s?[:#]?\s?|(?:(?:工单|订单|单号|运单|快递单|编号|发票|保单|案件|取件码|取餐号|流水号)[号码]?|(?:确认|预订|会员)[号码])\s?[:：]?\s?)$/iu;

function isIdNumber(text: string, e: Entity): boolean {
  return /^\d{3,}$/.test(e.text) && ID_CUE.test(text.slice(Math.max(0, e.start - 24), e.start));
}

/** Words that take a number into a name: "Terminal 2", "Route 66", "Platform 9". */
const NAME_BEFORE_NUMBER = /(?:^|[^\p{L}])(?:Terminal|Route|Highway|Interstate|Platform|Gate|Pier|Track|Line|Bus|Tram|Building|Block|Studio|Hall|Apollo)\s$/u;

function withoutNumbersInNames(text: string, entities: Entity[]): Entity[] {
  return entities.filter((e) => {
    if (e.type !== "number" || !/^\d+$/.test(e.text)) return true;
    if (entities.some((n) => (n.type === "place" || n.type === "organization" || n.type === "person") && n.start <= e.start && e.end <= n.end)) return false;
    return !NAME_BEFORE_NUMBER.test(text.slice(Math.max(0, e.start - 16), e.start));
  });
}

/** A time of day: a clock time, am / pm, a Chinese hour (三点, 10点半) or part of the day. */
const TIME_OF_DAY = /\d:\d\d|\d\s?(?:am|pm|AM|PM)\b|[点時](?:半|\d|[一二三四五六七八九十]|$)|^(?:上午|下午|晚上|凌晨|中午|早上|傍晚|夜里)|^(?:noon|midnight)$|\b(?:UTC|GMT)\b/u;

/** A date and a time written together, nothing between them but a space or a comma, are one span (`2027-01-18 09:30`, `周五下午三点`). */
function joinedDateTimes(text: string, entities: Entity[]): Entity[] {
  const sorted = [...entities].sort((a, b) => a.start - b.start);
  const out: Entity[] = [];
  for (const e of sorted) {
    const last = out.at(-1);
    if (last && last.type === "datetime" && e.type === "datetime" && TIME_OF_DAY.test(e.text) && !TIME_OF_DAY.test(last.text)) {
      const gap = text.slice(last.end, e.start);
      const han = /\p{Script=Han}/u.test(last.text + e.text);
      if (han ? gap === "" || gap === " " : /^(?:,?\s|,)$/.test(gap)) {
        out[out.length - 1] = { type: "datetime", text: text.slice(last.start, e.end), start: last.start, end: e.end };
        continue;
      }
    }
    out.push(e);
  }
  return out;
}
