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
  out = withSetSixteenDecisions(text, out);
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
      // A Chinese name that ran on into a one-character verb (聚福楼吃, 青螺岛住): the verb is the sentence's. Only after a
      // name's own ending (楼, 岛, 馆 …): 扶贫办, 招商办 end in 办 "office" and keep it (review25 N-2); not 小吃 (沙县小吃).
      if (/^\p{Script=Han}{4,}$/u.test(span()) && /[楼岛馆店园厅城村镇山湖场院庄堂寺宫苑阁坊屋轩斋居港湾街路]\p{Script=Han}$/u.test(span()) && /[吃喝买住玩看拿办订做等见]$/u.test(span())) end -= 1;
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

const ZH_TITLES = "先生|女士|小姐|经理|总监|总(?![部结共体计额数线裁统之监])|老师|医生|大夫|教授|博士|律师|主任|师傅|教练|阿婆|工(?![作资程厂具人期业艺位地会商科])|工程师|会计|处长|科长|局长|院长|校长|所长|部长|董事长|书记|主管|队长|老板|阿姨|叔";
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

/** Name spans ending in a kind of built or natural place (docs/ENTITIES.md: landmarks, airports, stations and gardens are places). */
const EN_PLACE_KIND = /(?:^|\s)(?:Station|Airport|Highway|Freeway|Motorway|Street|Road|Avenue|Boulevard|Lane|Way|Drive|Trail|Gardens?|Park|Bridge|Square|Beach|Lake|River|Mountain|Valley|Bay|Island|Harbou?r|Pier|Canyon|Falls|Forest|Peninsula|Plaza)$|^(?:Mount|Mt\.?|Lake|Lago|Isle of)\s/u;
/** Name spans ending in a kind of institution (docs/ENTITIES.md: schools, hospitals, leisure centres and museums are organisations). */
const EN_ORG_KIND = /\s(?:School|Hospital|Museum|Conservatory(?: of [A-Z]\w+)?|Centre|Center|Academy|University|College|Clinic|Library|Gym|Café|Cafe|Restaurant|Hotel|Bakery|Pharmacy|Roofing|Plumbing|Removals|Repairs|Electrical|Dental|Vets?)$/u;
const ZH_PLACE_KIND = /(?:[东西南北]?站|机场|镇|乡|村|公园|广场|铁塔|新区|高新区|开发区)$/u;
const ZH_PLACE_TAIL = /^(?:[东西南北]?站|机场|镇|乡|村|新区|高新区|开发区)/u;
/** Software and services named as products, not their makers (docs/ENTITIES.md: products are not organisations; nor are they places). */
const PRODUCT_NAMES = /^(?:Docker|Kafka|Kubernetes|Azure|AWS|WhatsApp|Slack|Zoom|Teams|Excel|Word|PowerPoint|Outlook|Gmail|Notion|Jira|Confluence|Figma|Trello|Postgres|PostgreSQL|Redis|Terraform|Grafana|Prometheus|Jenkins|Chrome|Firefox|Safari|Android|iOS|Windows|macOS|Linux|Ubuntu|Python|Node|React|Excel|Spotify|Netflix app|iCloud|Dropbox|OneDrive|Google Drive|Google Docs|Google Sheets|Google Maps)$/u;
/** Sentence-initial verbs a capitalised name run swallows ("Told Mateo", "Lent Aoife Brennan"). */
const EN_LEAD_VERB = /^(?:Told|Lent|Met|Called|Asked|Paid|Sent|Gave|Texted|Emailed|Messaged|Booked|Thanked|Reminded|Pinged|Saw|Visited|Invited|Hired|Borrowed|Drove|Took|Brought|Helped|Ask|Tell|Call|Email|Remind|Ping|Text|Thank|Invite|Visit|Pay|Send|Let|Got|Owe|Lend)\s+(?=\p{Lu})/u;
/** Generic Chinese nouns for a kind of place or service, not a named organisation (医院, 宠物医院, 官网). */
const ZH_GENERIC_ORG = /^(?:宠物|社区|附近的?|小区|女儿|儿子|孩子|家里|公司|老家)?(?:医院|学校|银行|网盘|官网|诊所|卫生服务中心|公积金中心|健身房|幼儿园|书店|餐厅|网红餐厅|微信|超市|药店)$/u;
const ZH_NAME_STOP = "的是和与及在了给跟找向把被从对说叫请问让，。、；：！？,.;:!? \\s“”\"'《》（）()";

/**
 * docs/ENTITIES.md's decisions from set 16 and the span rules set 16's misses showed broken (general forms, no strings of the set):
 * a time and a day written together in either order one span ("3:45 tomorrow"); "a week" / "an hour" not marked; quotes and a
 * sentence-initial verb outside a name; a name typed by its kind word (… Station a place, … School an organisation, 汤口镇 a place);
 * "X's Y" two names; a Chinese place run on into 站 / 镇 / 高新区 (杭州 + 东站, 成都 + 高新区) one span (two named places written together stay two: 朝阳区 + 望京); a person's name with ·
 * (玛丽亚·冈萨雷斯) a person; 陈老师家 → 陈老师; generic nouns (医院, 官网) no organisation.
 */
function withSetSixteenDecisions(text: string, entities: Entity[]): Entity[] {
  let out: Entity[] = [];
  for (const e of [...entities].sort((a, b) => a.start - b.start)) {
    let { start, end, type } = e;
    const span = () => text.slice(start, end);
    if (type === "duration" && /^an?\s/iu.test(span())) continue;
    if (type === "person" || type === "organization" || type === "place") {
      while (start < end && /[“”"'‘’「」《》(（]/u.test(text[start] as string)) start++;
      while (end > start && /[“”"'‘’「」《》)）]/u.test(text[end - 1] as string)) end--;
      if (!/^[\p{L}\p{N}]/u.test(span()) || span().length < 2) continue;
      const han = /\p{Script=Han}/u.test(span());
      if (!han) {
        const lead = EN_LEAD_VERB.exec(span());
        if (lead && (start === 0 || /[.!?]\s*$/u.test(text.slice(0, start)))) start += lead[0].length;
        const split = /['’]s\s+(?=\p{Lu})/u.exec(span());
        if (split) {
          const cut = start + split.index;
          const second = start + split.index + split[0].length;
          for (const [a, b] of [[start, cut], [second, end]] as const) {
            const part = text.slice(a, b);
            const kind = EN_PLACE_KIND.test(part) ? "place" : EN_ORG_KIND.test(part) ? "organization" : type;
            out.push({ type: kind, text: part, start: a, end: b });
          }
          continue;
        }
        if (PRODUCT_NAMES.test(span())) continue;
        // "The" written with a capital mid-sentence before an organisation is part of its name (The Loose Hinges).
        if (type === "organization" && /[^.!?\s]\s+The\s$/u.test(text.slice(Math.max(0, start - 12), start))) start -= 4;
        if (EN_PLACE_KIND.test(span()) && type === "organization") type = "place";
        else if (EN_ORG_KIND.test(span())) type = "organization";
      } else {
        if (type === "organization" && ZH_GENERIC_ORG.test(span())) continue;
        if (type === "person" && new RegExp(`(?:${ZH_TITLES})家$`, "u").test(span())) end -= 1;
        if (type === "person" && span().includes("·") && /[是在说的]$/u.test(span())) end -= 1;
        if (type === "place") {
          const tail = ZH_PLACE_TAIL.exec(text.slice(end, end + 4));
          if (tail) end += tail[0].length;
        }
        if (type === "organization" && ZH_PLACE_KIND.test(span()) && !/(?:公司|集团|酒店|饭店|宾馆)$/u.test(span())) type = "place";
      }
    }
    if (end <= start) continue;
    const last = out.at(-1);
    // A time and then a day written together ("3:45 tomorrow", "10:20 next Monday"): one span, as a day and then a time is.
    if (last && type === "datetime" && last.type === "datetime" && /^\d{1,2}:\d\d(?:\s?[ap]m)?$/iu.test(last.text) && /^(?:today|tomorrow|tonight|yesterday|(?:next|this|last)\s\w+|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day)$/iu.test(span()) && /^,?\s$/u.test(text.slice(last.end, start))) {
      out[out.length - 1] = { type: "datetime", text: text.slice(last.start, end), start: last.start, end };
      continue;
    }
    out.push({ type, text: span(), start, end });
  }
  // A name written with · between its parts (玛丽亚·冈萨雷斯, 艾米丽·陈) is a person's, whatever the tagger made of it.
  const dotted = new RegExp(`[^${ZH_NAME_STOP}]{1,4}(?:·[^${ZH_NAME_STOP}·]{1,5})+`, "gu");
  for (const m of text.matchAll(dotted)) {
    const start = m.index as number;
    const end = start + m[0].length;
    if (!/^\p{Script=Han}+(?:·\p{Script=Han}+)+$/u.test(m[0])) continue;
    const overlapping = out.filter((e) => e.start < end && start < e.end);
    if (overlapping.some((e) => e.type !== "person" && e.type !== "place")) continue;
    out = out.filter((e) => !overlapping.includes(e));
    out.push({ type: "person", text: m[0], start, end });
  }
  return out;
}
