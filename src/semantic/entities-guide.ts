import type { Entity } from "./entities.js";
import { jiebaWords, loadCompromise, ZH_SURNAME_START } from "./entities-nlp.js";
import { FIRST_NAMES } from "./entities-rules.js";
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
  out = withSetSeventeenClasses(text, out);
  out = withSetEighteenClasses(text, out);
  out = withSetNineteenClasses(text, out);
  out = withoutHeadingWords(text, out);
  // A span does not nest inside another: the first (then the longer) kept.
  out.sort((a, b) => a.start - b.start || b.end - a.end);
  // Sorted by start, a span overlaps a kept one exactly when it starts before the furthest kept end (an empty span is
  // checked one by one).
  const kept: Entity[] = [];
  let keptEnd = -Infinity;
  for (const e of out) {
    const overlaps = e.start < e.end ? e.start < keptEnd : kept.some((k) => e.start < k.end && k.start < e.end);
    if (overlaps) continue;
    kept.push(e);
    keptEnd = Math.max(keptEnd, e.end);
  }
  return kept;
}

/** Where a heading's or a title's words start: after a section's number starting a line, or after an opening bracket or quote. */
const TITLE_START = /(?:^[ \t]*\d+(?:\.\d+)*\.?[ \t]+|[([“"‘«「][ \t]*)$/u;

/**
 * A name is cut at a blank line (`person:"Make\n\nMake"`, a heading and the paragraph under it: the heading's part
 * is kept); and one capitalised word read as a person where a heading or a title starts is no person when compromise
 * reads it as a verb, a plural noun or a participle ("Released") and not as a name ("2.7.3. Tweaking candidate version", "(Closes: #174596)",
 * "“Packages from …"; "(Hughes said …)" stays), unless it is a known first name (trial44: about 4 of 10 technical
 * memories had such a person). A name starting a sentence is left alone ("Rhys suspects …").
 */
function withoutHeadingWords(text: string, entities: readonly Entity[]): Entity[] {
  return entities
    .map(namePart)
    .filter((e) => {
      if (e.text === "") return false;
      if (e.type !== "person" || !/^\p{Lu}\p{Ll}+$/u.test(e.text) || FIRST_NAMES.has(e.text)) return true;
      if (!TITLE_START.test(text.slice(text.lastIndexOf("\n", e.start - 1) + 1, e.start))) return true;
      const word = loadCompromise()(e.text);
      return word.has("#Person") || !(word.has("#Verb") || word.has("#Plural") || (word.has("#Adjective") && /ed$/u.test(e.text)));
    });
}

/** A name cut before a blank line inside it, and before an opening bracket it does not close ("PAM （Pluggable …" → "PAM"). */
function namePart(e: Entity): Entity {
  if (e.type !== "person" && e.type !== "organization" && e.type !== "place") return e;
  let end = e.text.search(/\n[ \t]*\n/u);
  if (end < 0) end = e.text.length;
  const open = e.text.slice(0, end).search(/[(（]/u);
  if (open > 0 && !/[)）]/u.test(e.text.slice(open, end))) end = open;
  if (end === e.text.length) return e;
  const kept = e.text.slice(0, end).trimEnd();
  return { ...e, text: kept, end: e.start + kept.length };
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

const ZH_TITLES = "研究员|先生|女士|小姐|经理|总监|总(?![部结共体计额数线裁统之监])|老师|医生|大夫|教授|博士|律师|主任|师傅|教练|阿婆|工(?![作资程厂具人期业艺位地会商科])|工程师|会计|处长|科长|局长|院长|校长|所长|部长|董事长|书记|主管|队长|老板|阿姨|叔";
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
  const inName = spanContainment(entities.filter((n) => n.type === "place" || n.type === "organization" || n.type === "person"));
  return entities.filter((e) => {
    if (e.type !== "number" || !/^\d+$/.test(e.text)) return true;
    if (inName(e)) return false;
    return !NAME_BEFORE_NUMBER.test(text.slice(Math.max(0, e.start - 16), e.start));
  });
}

/**
 * Whether some span of `spans` contains a span (start at or before its start, end at or after its end), by a binary search
 * over the spans sorted by start with the furthest end so far: a text of many numbers made the scan per number quadratic.
 */
export function spanContainment(spans: readonly { start: number; end: number }[]): (span: { start: number; end: number }) => boolean {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const furthest: number[] = [];
  for (const s of sorted) furthest.push(Math.max(s.end, furthest.at(-1) ?? -Infinity));
  return (span) => {
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((sorted[middle] as { start: number }).start <= span.start) low = middle + 1;
      else high = middle;
    }
    return low > 0 && (furthest[low - 1] as number) >= span.end;
  };
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
const EN_ORG_KIND = /\s(?:School|Hospital|Museum|Conservatory(?: of [A-Z]\w+)?|Centre|Center|Academy|University|College|Clinic|Library|Gym|Café|Cafe|Restaurant|Hotel|Bakery|Pharmacy|Roofing|Plumbing|Removals|Repairs|Electrical|Dental|Vets?|Elementary|Lodge|Inn|Resort|Hostel|Kindergarten|Preschool|Daycare|Nursery)$/u;
const ZH_PLACE_KIND = /(?:[东西南北]?站|机场|镇|乡|村|公园|广场|铁塔|新区|高新区|开发区)$/u;
const ZH_PLACE_TAIL = /^(?:[东西南北]?站|机场|镇|乡(?![下亲])|村(?![里民])|新区|高新区|开发区)/u;
/** Software and services named as products, not their makers (docs/ENTITIES.md: products are not organisations; nor are they places). */
const PRODUCT_NAMES = /^(?:Docker|Kafka|Kubernetes|Azure|AWS|WhatsApp|Slack|Zoom|Teams|Excel|Word|PowerPoint|Outlook|Gmail|Notion|Jira|Confluence|Figma|Trello|Postgres|PostgreSQL|Redis|Terraform|Grafana|Prometheus|Jenkins|Chrome|Firefox|Safari|Android|iOS|Windows|macOS|Linux|Ubuntu|Python|Node|React|Excel|Spotify|Netflix app|iCloud|Dropbox|OneDrive|Google Drive|Google Docs|Google Sheets|Google Maps|Vim|Neovim|Emacs|VS Code|VSCode|IntelliJ|PyCharm|Xcode|Sublime Text|Obsidian|Git|Nginx|MySQL|MongoDB|SQLite|Elasticsearch|Kibana|Airflow|Spark|Flink|Hadoop)$/u;
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
        // The kind word at the end names the thing: "Birch Hollow Lodge" is a lodge (an organisation), "Harlow Park" a park.
        if (EN_ORG_KIND.test(span())) type = "organization";
        else if (EN_PLACE_KIND.test(span()) && type === "organization") type = "place";
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

/** A Chinese place written right before an institution's kind word is part of the institution's name (杭州丝绸博物馆, 福田区图书馆). */
const ZH_INSTITUTION = "博物馆|美术馆|科技馆|图书馆|少年宫|文化宫|体育馆|体育中心|大剧院|剧院|音乐厅|展览馆|纪念馆|档案馆|动物园|植物园|水族馆|医院|中医院|大学|学院|中学|小学|幼儿园|实验学校|学校|银行|酒店|饭店|宾馆|书店|书城|商场|购物中心|百货|超市";
const ZH_PLACE_THEN_INSTITUTION = new RegExp(`^[^${ZH_NAME_STOP}那这家个间座所一去到住]{0,5}?(?:${ZH_INSTITUTION})`, "u");
/** A shop's or company's own name in quotes after the kind of business (面馆“老灶台”, 快递公司“飞毛腿”), or "叫“…”" with the kind right after
 * (一家叫“青木”的书店); a pet's, a song's or a nickname "叫“…”" is none. */
const ZH_QUOTED_BUSINESS = /(?:[店馆铺厅司所坊楼社园室院行]|品牌|商家|机构|平台)\s?[“「"]([^”」"，。、\s]{2,12})[”」"]|(?:叫|名叫|名为)\s?[“「"]([^”」"，。、\s]{2,12})[”」"](?=的?(?:小店|店|馆|餐厅|饭店|书店|咖啡馆|公司|工作室|酒吧|超市|医院|学校|诊所|健身房|民宿))/gu;
/** A business's Latin name right after a kind of business in Chinese text (那家酒吧 Blue Door, 面包店 Maison K): the kind is a
 * business's (not 图书馆, 宾馆 or any 馆/店), and the name is no common word of technology (图书馆 WiFi, 店里 App). */
const ZH_LATIN_BUSINESS = /(?<!图书|宾|体育|博物|美术|展览|科技|纪念|档案)(?:咖啡馆|咖啡店|餐厅|餐馆|饭馆|面馆|茶馆|酒吧|书店|面包店|甜品店|花店|理发店|酒店|民宿|公司|工作室|健身房|小店)\s?(?:叫\s?)?([A-Z][\w'&.-]*\d?[\w'&.-]*(?:\s(?:[A-Z][\w'&.-]*|de|des|du|la|le|of|the|and|&)){0,4})(?![\w'&.-])/gu;
const ZH_LATIN_NOT_NAME = /^(?:Wi-?Fi|WIFI|WiFi|App|APP|PDF|USB|VIP|OK|QQ|PPT|Excel|Word|GPS|ATM|POS|PS|DIY|CEO|HR|IT|AI|TV|LED|Logo|LOGO|Plus|Pro|Max|Mini)$/u;
/** Words of habit after a part of the day (一般, 通常, 别再 …). */
const ZH_HABIT_AFTER = /^(?:一般|通常|总是|经常|常常|老是|很少|一直|别|不|都|习惯|基本)/u;
/** What one does at a place, written right after it (峨眉山滑雪, 青海湖骑行): the sentence's, not the name's. */
const ZH_ACTIVITY = "滑雪|爬山|登山|徒步|骑行|露营|看海|看雪|赏花|赏樱|赏雪|赏枫|划船|游泳|潜水|冲浪|度假|旅游|旅行|出差|拍照|打卡|泡温泉|避暑|玩|逛";
/** A named road, street or airport after a word of going, being or arriving (在中山路上, 落地萧山机场); its head a name, not what
 * one does on the way (在回家的路上, 上学路上, 下班路上: ZH_NOT_ROAD_HEAD). */
const ZH_ROAD_OR_AIRPORT = /(?<=(?:在|到|去|住|从|往|近|经|沿|于|落地|抵达|飞往|降落))((?![在到去住从往近经沿于飞落抵降])\p{Script=Han}{2,4}?(?:路|大街|大道|街|机场))(?=[上口边旁附的，。、；：！？,.;:!?）)\s]|$)/gu;
const ZH_NOT_ROAD_HEAD = /的|^(?:回家|回|上学|放学|上班|下班|出门|买菜|散步|遛狗|通勤|接孩子|送孩子|跑步|赶路|返程|回程|半|一|这|那|每)|(?:回家|上学|放学|上班|下班|回来|回去)/u;
const ZH_NOT_ROAD = /^(?:马路|公路|铁路|道路|一路|半路|走路|小路|大路|山路|水路|网路|电路|线路|思路|套路|出路|后路|前路|来路|去路|老街|步行街|商业街|小街|大街|机场)$|(?:高速|公)路$/u;
/** Characters a Chinese person's name does not run on into: verbs and function words after a name (孔令仪托我买票). */
const ZH_AFTER_NAME = /[托让叫说给帮请带问找想要会在把被对和跟是也都还就已刚又说讲告发回来去约]/u;
/** Parts of the day that name a length of time with a count (三个晚上, 两个下午). */
const ZH_COUNTED_PART_OF_DAY = /[一两二三四五几半整]个(?:晚上|下午|上午|早上|通宵|白天|夜晚)/gu;
/** A day of the week written with its date ("Saturday, May 22", "Friday 3 March"): one date. */
const EN_WEEKDAY = /^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day$/u;
const EN_MONTH_DATE = /^(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s\d{1,2}(?:st|nd|rd|th)?(?:,?\s\d{4})?|\d{1,2}(?:st|nd|rd|th)?\s(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*(?:\s\d{4})?)$/u;
/** "St. Agnes's Children's Hospital", "Saint Brendan's Clinic": a saint's name with an institution's kind word, one organisation. */
const EN_SAINT_INSTITUTION = /\b(?:St\.|Saint)\s[A-Z][a-z]+(?:['’]s)?(?:\s[A-Z][a-z]+(?:['’]s)?){0,3}?\s(?:Hospital|Medical Center|Medical Centre|Church|Cathedral|School|College|Academy|Clinic|Infirmary|Center|Centre)\b/gu;
/** An institution "of" a place ("Conservatory School of Tallinn", "Bank of Valletta"). */
const EN_INSTITUTION_OF = /(?:School|University|College|Academy|Institute|Conservatory|Museum|Bank|Hospital|Library|Church)$/u;
/** Interstate and other numbered roads written with a hyphen ("I-95", "US-101"): two digits or more and a word of driving before
 * it or a direction or exit after it ("take I-95", "US-101 North"); forms (I-9, I-94) and aircraft ("the SR-71") are none. */
const EN_NUMBERED_ROAD = /(?<=\b(?:on|onto|take|took|taking|via|off|along|exit|exited|then|drove|drive|driving|down|up|merge onto|stuck on)\s)(?:I|US|SR)-\d{2,3}(?![\w-])|(?<![\w-])(?:I|US|SR)-\d{2,3}(?=\s(?:North|South|East|West|[NSEW]B|northbound|southbound|eastbound|westbound|exit|interchange)\b)/gu;
/** A three-letter airport code after a word of landing or departing ("lands at LHR"). */
const EN_AIRPORT_CODE = /(?<=\b(?:lands?|landing|landed|arrives?|arriving|arrived|departs?|departing|departed|flies|fly|flying|flew)\s(?:at|into|from|in|out of)\s)[A-Z]{3}\b(?!\sTerminal)/gu;

const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;

/**
 * General classes that set 17's misses showed (docs/ENTITIES.md; the examples here are invented): a Chinese place before an institution's kind
 * word one organisation; a business's quoted name an organisation; a named road or airport a place; two places written together
 * (广州 + 天河区, 东京 + 浅草寺) two spans, a place with its own kind word (X乡下 is X) one; a person's name cut before the verb
 * it ran into; transliterated names jieba reads as a person's (a foreign given name in Chinese characters) persons; "两个下午" a duration, "一点" before a noun
 * no time; a weekday with its date one span; a saint's institution, an institution "of" a place, "… Terminal 2", a numbered road ("I-95") and an
 * airport code after "lands at" typed and spanned as the guide writes them.
 */
function withSetSeventeenClasses(text: string, entities: Entity[]): Entity[] {
  let out = [...entities].sort((a, b) => a.start - b.start);
  const replace = (e: Entity, keep: (o: Entity) => boolean = () => false) => {
    out = [...out.filter((o) => !overlaps(o, e) || keep(o)), e].sort((a, b) => a.start - b.start);
  };
  if (/\p{Script=Han}/u.test(text)) {
    // No Chinese name starts with a negation or an adverb (没买齐, 不太行, 都说好): no person.
    out = out.filter((e) => !(e.type === "person" && /^[没不别都也就才很再]\p{Script=Han}/u.test(e.text)));
    // Cut a person's name before the verb it ran into; transliterated names jieba reads as a person's are persons.
    out = out.map((e) => {
      if (e.type === "person" && /^\p{Script=Han}{4,}$/u.test(e.text)) {
        const cut = [...e.text].findIndex((c, i) => i >= 2 && ZH_AFTER_NAME.test(c) && /^[我你他她咱]/u.test(text.slice(e.start + i + 1)));
        if (cut > 0 && cut < e.text.length) return { ...e, text: e.text.slice(0, cut), end: e.start + cut };
      }
      return e;
    });
    const words = jiebaWords(text);
    out = out.map((e) => {
      if ((e.type !== "place" && e.type !== "organization") || !/^\p{Script=Han}{3,}$/u.test(e.text)) return e;
      const word = words.find((w) => w.start === e.start && w.end === e.end);
      if (!word || /[国省市县区镇村州岛山湖河江路街店馆司团院所楼斋轩阁堂坊记居庄园铺厂社行]$/u.test(e.text)) return e;
      // An organisation jieba reads as a person's name (a transliterated given name, nr); a place only when a verb of giving or meeting comes before it (发给 + a name jieba tags nrt).
      if (e.type === "organization" && /^(?:nr|nrt|nrfg)$/.test(word.tag)) return { ...e, type: "person" };
      if (e.type === "place" && word.tag === "nrt" && /(?:给|跟|和|与|找|问|叫|让|请|约|见)$/u.test(text.slice(0, e.start))) return { ...e, type: "person" };
      return e;
    });
    // A place run on into what one does there (峨眉山滑雪 → 峨眉山); an activity alone (赏花) or a gate of a compound (学校南门) is no place.
    out = out.flatMap((e) => {
      if (e.type !== "place" && e.type !== "organization") return [e];
      if (/^\p{Script=Han}+$/u.test(e.text) && new RegExp(`^(?:${ZH_ACTIVITY})$`, "u").test(e.text)) return [];
      if (e.type === "place" && /^[东南西北](?:门|口)$/u.test(e.text) && /(?:小区|学校|校|院|园|场|楼|馆|厦)$/u.test(text.slice(0, e.start))) return [];
      const tail = new RegExp(`(?<=[山湖岛江河海峰谷原滩寺城镇村])(?:${ZH_ACTIVITY})$`, "u").exec(e.text);
      if (tail && e.text.length - tail[0].length >= 2) return [{ ...e, text: e.text.slice(0, tail.index), end: e.start + tail.index }];
      return [e];
    });
    // Two places written together: a place jieba knows followed by a place of its own (巴黎 + 玛黑区, 南京 + 新街口).
    out = out.flatMap((e) => {
      if (e.type !== "place" || !/^\p{Script=Han}{4,}$/u.test(e.text)) return [e];
      const inside = words.filter((w) => w.start >= e.start && w.end <= e.end);
      const first = inside[0];
      if (!first || first.start !== e.start || first.tag !== "ns" || first.word.length < 2 || first.end >= e.end) return [e];
      const rest = text.slice(first.end, e.end);
      if (rest.length < 2 || ZH_PLACE_TAIL.test(rest) || /^(?:市|省|县|区|州|湾|岛)/u.test(rest) || /自治[县州区旗]$/u.test(rest)) return [e];
      const restWords = inside.slice(1);
      const only = restWords.length === 1 ? restWords[0] : undefined;
      const restIsPlace = rest.length >= 3 && only !== undefined && (only.tag === "ns" || (only.tag === "x" && /区$/u.test(rest)));
      if (!restIsPlace) return [e];
      return [{ type: "place", text: first.word, start: e.start, end: first.end }, { type: "place", text: rest, start: first.end, end: e.end }];
    });
    // A place right before an institution's kind word: the institution, place and all.
    for (const e of [...out]) {
      if (e.type !== "place" || !/\p{Script=Han}$/u.test(e.text)) continue;
      const m = ZH_PLACE_THEN_INSTITUTION.exec(text.slice(e.end, e.end + 9));
      if (!m) continue;
      const end = e.end + m[0].length;
      replace({ type: "organization", text: text.slice(e.start, end), start: e.start, end });
    }
    for (const m of text.matchAll(ZH_QUOTED_BUSINESS)) {
      const name = (m[1] ?? m[2]) as string;
      const start = (m.index as number) + m[0].indexOf(name);
      replace({ type: "organization", text: name, start, end: start + name.length });
    }
    for (const m of text.matchAll(ZH_LATIN_BUSINESS)) {
      const name = m[1] as string;
      const start = (m.index as number) + m[0].length - name.length;
      const e: Entity = { type: "organization", text: name, start, end: start + name.length };
      if (PRODUCT_NAMES.test(name) || ZH_LATIN_NOT_NAME.test(name) || out.some((o) => overlaps(o, e) && o.type !== "person" && o.type !== "place" && o.type !== "organization")) continue;
      replace(e);
    }
    // A part of the day in a habit, no day named ("晚上别打电话", "下午一般不喝咖啡"): not marked (docs/ENTITIES.md, set 16's decisions).
    out = out.filter((e) => !(e.type === "datetime" && /^(?:上午|下午|晚上|早上|中午|傍晚|凌晨|夜里|白天)$/u.test(e.text) && ZH_HABIT_AFTER.test(text.slice(e.end, e.end + 3)) && !/(?:今天|明天|后天|昨天|周.|星期.|号|日)$/u.test(text.slice(0, e.start))));
    for (const m of text.matchAll(ZH_ROAD_OR_AIRPORT)) {
      const name = m[1] as string;
      const start = m.index as number;
      const e: Entity = { type: "place", text: name, start, end: start + name.length };
      if (ZH_NOT_ROAD.test(name) || ZH_NOT_ROAD_HEAD.test(name) || out.some((o) => overlaps(o, e))) continue;
      out.push(e);
    }
    for (const m of text.matchAll(ZH_COUNTED_PART_OF_DAY)) {
      const start = m.index as number;
      replace({ type: "duration", text: m[0], start, end: start + m[0].length });
    }
    // "背一点课文": 一点 "a little" before a noun is no time of day.
    out = out.filter((e) => !(e.type === "datetime" && e.text === "一点" && /^\p{Script=Han}/u.test(text.slice(e.end, e.end + 1)) && !/^[钟半前后到左整多过零一二三四五六七八九十]/u.test(text.slice(e.end, e.end + 1)) && !/[点到至从]$/u.test(text.slice(0, e.start))));
  } else {
    for (const m of text.matchAll(EN_SAINT_INSTITUTION)) replace({ type: "organization", text: m[0], start: m.index as number, end: (m.index as number) + m[0].length });
    for (const m of text.matchAll(EN_NUMBERED_ROAD)) replace({ type: "place", text: m[0], start: m.index as number, end: (m.index as number) + m[0].length });
    for (const m of text.matchAll(EN_AIRPORT_CODE)) replace({ type: "place", text: m[0], start: m.index as number, end: (m.index as number) + m[0].length });
    for (const e of [...out]) {
      // "LHR Terminal 2": a name ending in Terminal takes its number and is a place.
      if ((e.type === "organization" || e.type === "place") && /\sTerminal$/u.test(e.text)) {
        const n = /^\s\d{1,2}[A-Z]?\b/u.exec(text.slice(e.end));
        if (n) replace({ type: "place", text: text.slice(e.start, e.end + n[0].length), start: e.start, end: e.end + n[0].length });
      }
      // "Conservatory School of Tallinn": the institution takes the place it is "of".
      if (e.type === "organization" && EN_INSTITUTION_OF.test(e.text)) {
        const of = /^\sof\s(?:the\s)?[A-Z][\w'’-]+(?:\s[A-Z][\w'’-]+)?/u.exec(text.slice(e.end));
        if (of) replace({ type: "organization", text: text.slice(e.start, e.end + of[0].length), start: e.start, end: e.end + of[0].length });
      }
    }
    // A weekday and its date written together ("Saturday, May 22"): one date.
    const joined: Entity[] = [];
    for (const e of out) {
      const last = joined.at(-1);
      if (last && last.type === "datetime" && e.type === "datetime" && EN_WEEKDAY.test(last.text) && EN_MONTH_DATE.test(e.text) && /^,?\s$/u.test(text.slice(last.end, e.start))) {
        joined[joined.length - 1] = { type: "datetime", text: text.slice(last.start, e.end), start: last.start, end: e.end };
        continue;
      }
      joined.push(e);
    }
    out = joined;
  }
  return out;
}

/** A kind word first in a name makes it a business ("Hotel Adler", "Atelier Rocha"); last, a trade's ("Kibo Ridge Expeditions"). */
const EN_ORG_KIND_FIRST = /^(?:Hotel|Atelier|Café|Cafe|Restaurant|Bistro|Trattoria|Pizzeria|Boulangerie|Pension|Gasthaus|Gasthof|Studio|Clinic|Banco|Hostel)\s\p{Lu}/u;
const EN_ORG_KIND_LAST = /\s(?:Expeditions|Tours|Safaris|Travel|Logistics|Supply|Supplies|Outfitters|Brewery|Kitchen|Tailors|Serwis|Services|Insurance|Bank)$/u;
const EN_NOT_ORG_BANK = /^(?:The\s)?(?:North|South|East|West|Left|Right)\sBank$/u;
/** A street or a peak named in another language: "Rue des Lilas", "Jalan Merdeka Raya", "Pico Alto". */
const EN_FOREIGN_PLACE_FIRST = /^(?:Rue|Rua|Calle|Via|Avenida|Jalan|Jln\.?|Ulica|Piazza|Pico|Monte|Mont|Cerro|Piz|Puy)\s\p{L}/u;
/** A company before what one has with it: "the Nordkraft electricity bill", "the Juniper account". */
const EN_ORG_THING_AFTER = /^\s(?:(?:electricity|electric|gas|water|phone|internet|broadband|mobile)\s)?(?:bill|account|payout|statement|subscription|membership|policy|app|card|customer service)\b/u;
/** A business after a bill or a trade: "the bill from Hydro-Lumière", "the plumber from Aqua-Serwis Nowak". */
const EN_BILL_FROM = /\b(?:bill|invoice|statement|receipt|refund)s?\sfrom\s$/iu;
const EN_TRADE_FROM = /\b(?:plumber|electrician|technician|mechanic|builder|roofer|courier|tailor|cleaner)s?\s(?:from|at)\s$/iu;
/** Words a person does ("Ife hates", "Tadesse flagged"): a one-word organisation before them is a person. */
const EN_PERSON_VERB_AFTER = /^\s(?:hates|loves|likes|wants|thinks|feels|prefers|flagged|forgot)\b/u;
/** A kind noun and then a name set off by a comma: "the guesthouse in Nara, Minshuku Asagiri,". */
/** Words of a trip: a one-word "person" after in/near/via in such a text is a town ("we stopped for fuel in Bowen"). */
export const EN_TRAVEL = /\b(?:drive|drove|driving|fly|flew|flight|trip|stay|stayed|stop|stopped|tank|fuel|petrol|gas station|train|road|arrive|arrived|town|village|hike|ferry)\b/iu;
const EN_KIND_APPOSITION = /\b(?:guesthouse|hotel|hostel|restaurant|café|cafe|bakery|shop|store|clinic|company|firm|agency|insurer|bank|gym|studio|tailor|garage)(?:\sin\s\p{Lu}[\p{L}-]+)?,\s$/u;
const EN_CURRENCY_BEFORE = /(?:[₦₹₱₩₫₺₴₪]|\b(?:RM|SEK|NOK|DKK|CHF|ZAR|KES|NGN|INR|MYR|IDR|THB|VND|BRL|MXN|AED|SAR|PLN|CZK|HUF|Rp|R\$))\s?$/u;
const EN_DURATION_UNIT_AFTER = /^\s(?:business|working|calendar|school)\s(?:days|weeks)\b/u;
const EN_DEGREES_AFTER = /^\s?(?:degrees(?:\s(?:Celsius|Fahrenheit|C|F))?|°[CF]?)(?![\p{L}])(?!\s(?:in|from|of|at)\b)/u;
const EN_ZONE_AFTER = /^\s(?:Pacific|Eastern|Central|Mountain|Atlantic|PST|PDT|EST|EDT|CST|CDT|MST|MDT|CET|CEST|BST|IST|JST|AEST|AEDT)\b(?!\s\p{Lu})/u;
const EN_DAY_BEFORE = /\b(?:Black|Cyber|Good|Easter|Super|Ash|Holy)\s$/u;
const EN_ROUTE_AFTER = /^\s(?:bus|tram|streetcar|train)\b/u;
const EN_PRODUCT_VERSION_BEFORE = new RegExp(`(?:^|[^\\w])(?:${PRODUCT_NAMES.source.slice(4, -2)}|\\w*OS)\\s(?:v)?$|(?:^|[^\\w])(?:${PRODUCT_NAMES.source.slice(4, -2)}|\\w*OS)\\sfrom\\s\\d+(?:\\.\\d+)*\\sto\\s$`, "u");
const EN_PRODUCT_FROM_AFTER = new RegExp(`(?:^|[^\\w])(?:${PRODUCT_NAMES.source.slice(4, -2)}|\\w*OS)\\sfrom\\s$`, "u");
const FILE_NAME_AT = /^[\w\p{Script=Han}.-]*\.(?:xlsx?|docx?|pptx?|pdf|csv|txt|md|json|ya?ml|dwg|zip|png|jpe?g|mp4|mov|key|pages|numbers)(?!\w|\.\w)/u;
const FILE_NAME_BEFORE = /(?:[A-Za-z0-9_][\w\p{Script=Han}-]*|)$/u;
/** A Chinese relative period or holiday the tagger may miss: 这季度, 下礼拜, 过年. */
const ZH_PERIOD = /(?:[这本上下]个?季度|[这上下]个?礼拜[一二三四五六天日]?|过年(?=回|的时候|前|后|期间|那几天))/gu;
const ZH_DAY_BEFORE = /(?:明年|今年|去年|后年|本月|下个?月|上个?月|这个?月)$/u;
const ZH_SHOP_KIND = "店|馆|餐厅|菜馆|面馆|饭馆|茶馆|酒吧|工作室|公司|诊所|民宿|超市";
/** A shop's name after 叫, with no quotes: "面馆叫老陈家拉面，"; "一家花店，在步行街附近，叫小满花坊。". */
const ZH_SHOP_CALLED = new RegExp(`(?:(?:${ZH_SHOP_KIND})叫|一家[^。！？]{0,6}(?:${ZH_SHOP_KIND})[，,][^。！？]{0,12}[，,]叫)(\\p{Script=Han}{2,8})(?=[，。；！？,.;!?]|$)`, "gu");
const ZH_SHOP_IS = new RegExp(`(?:酒店|饭店|宾馆|民宿|餐厅)是(\\p{Script=Han}{2,10})(?=[，。；！？,.;!?]|$)`, "gu");
const ZH_TRADE_BUSINESS = /(?<=找了|找|请了|请|叫了)(?!了|师傅|工人|朋友|人|家|他|她|我|专业|一家|个)(\p{Script=Han}{2,4}(?:防水|装修|家政|保洁|搬家|开锁|维修))(?=[，。,.]|$)/gu;
const ZH_TRANSLIT = "[埃文斯卢卡艾米莉安娜玛丽亚约翰汤姆杰克逊森克里蒂菲尔德罗伯特威廉詹姆史密布朗戴维哈利奥利弗索诺拉贝拉塞西亚历山大彼得保罗马丁]";
const ZH_TRANSLIT_TITLED = new RegExp(`${ZH_TRANSLIT}{2,4}(?:先生|女士|小姐|太太|老师|博士|教授)`, "gu");
const ZH_TRANSLIT_AFTER_WITH = new RegExp(`(?<=[和跟与同陪])(?!大)(${ZH_TRANSLIT}{3,4})(?=[去一来到在，。,])`, "gu");
const ZH_SURNAME_KIN = /(?<=[的是和与跟找给帮托]|^)(\p{Script=Han}(?:奶奶|爷爷|大爷|大妈|阿婆|婆婆|伯伯))(?![家们])/gu;

/** `entities` with `e` in place of every span it overlaps, in text order (the set-18 and set-19 steps' edit). */
function withReplaced(entities: readonly Entity[], e: Entity): Entity[] {
  return [...entities.filter((o) => !overlaps(o, e)), e].sort((a, b) => a.start - b.start);
}

/** The text up to `n` characters before and after a span: what the set-18 and set-19 steps read around one. */
function aroundSpans(text: string): { before: (e: { start: number }, n?: number) => string; after: (e: { end: number }, n?: number) => string } {
  return {
    before: (e, n = 40) => text.slice(Math.max(0, e.start - n), e.start),
    after: (e, n = 40) => text.slice(e.end, e.end + n),
  };
}

function withSetEighteenClasses(text: string, entities: Entity[]): Entity[] {
  let out = [...entities].sort((a, b) => a.start - b.start);
  const replace = (e: Entity) => {
    out = withReplaced(out, e);
  };
  const { before, after } = aroundSpans(text);
  // Numbers: a currency before them, a unit or a route word after them, a product before them.
  for (const e of [...out]) {
    if (e.type !== "number") continue;
    const cur = EN_CURRENCY_BEFORE.exec(before(e, 6));
    if (cur) { replace({ type: "amount", text: text.slice(e.start - cur[0].length, e.end), start: e.start - cur[0].length, end: e.end }); continue; }
    const days = EN_DURATION_UNIT_AFTER.exec(after(e));
    if (days) { replace({ type: "duration", text: text.slice(e.start, e.end + days[0].length), start: e.start, end: e.end + days[0].length }); continue; }
    const deg = EN_DEGREES_AFTER.exec(after(e));
    if (deg) { replace({ type: "quantity", text: text.slice(e.start, e.end + deg[0].length), start: e.start, end: e.end + deg[0].length }); continue; }
    if (EN_ROUTE_AFTER.test(after(e)) && /\bthe\s$/iu.test(before(e, 6))) { out = out.filter((o) => o !== e); continue; }
    if (/^\d{16,}$/u.test(e.text)) { replace({ ...e, type: "id" }); continue; }
    const dotted = /^\d+\.\d+(?:\.\d+)?$/u.test(e.text);
    if ((dotted && EN_PRODUCT_VERSION_BEFORE.test(before(e))) || (/^\d+(?:\.\d+)*$/u.test(e.text) && EN_PRODUCT_FROM_AFTER.test(before(e)) && /^\sto\s\d/u.test(after(e)))) { replace({ ...e, type: "version" }); continue; }
    if (dotted && /^\s(?:release|版本)\b/u.test(after(e)) && /\b(?:the|a|our|next)\s$/iu.test(before(e, 6))) { replace({ ...e, type: "version" }); continue; }
    if (/^\d+$/u.test(e.text) && /^块(?:钱|一[斤个份张瓶盒袋杯碗只])/u.test(after(e, 3))) replace({ type: "amount", text: `${e.text}块`, start: e.start, end: e.end + 1 });
  }
  for (const e of [...out]) {
    if (e.type === "datetime" && /^\d{1,2}:\d\d$/u.test(e.text)) {
      const zone = EN_ZONE_AFTER.exec(after(e));
      if (zone) replace({ ...e, text: text.slice(e.start, e.end + zone[0].length), end: e.end + zone[0].length });
    }
    if (e.type === "datetime" && EN_WEEKDAY.test(e.text)) {
      const day = EN_DAY_BEFORE.exec(before(e, 8));
      if (day) replace({ ...e, text: text.slice(e.start - day[0].length, e.end), start: e.start - day[0].length });
    }
    // An id's letter prefix goes with it (KX-0047711).
    if (e.type === "id" && /^\d/u.test(e.text)) {
      const prefix = /(?<![\w-])[A-Z]{1,4}-$/u.exec(before(e, 6));
      if (prefix) replace({ ...e, text: text.slice(e.start - prefix[0].length, e.end), start: e.start - prefix[0].length });
    }
    // A file name with its extension is a path (site_plan_v4.dwg, Q2_销售汇总_v1.xlsx).
    if (e.type === "code" || e.type === "path") {
      const head = FILE_NAME_BEFORE.exec(before(e, 30))?.[0] ?? "";
      const m = FILE_NAME_AT.exec(text.slice(e.start - head.length));
      if (m && m[0].length > head.length && e.start - head.length + m[0].length >= e.end) {
        const start = e.start - head.length;
        replace({ type: "path", text: m[0], start, end: start + m[0].length });
      }
    }
  }
  if (/\p{Script=Han}/u.test(text)) {
    for (const e of [...out]) {
      // A property company's office goes with it (翠湖花园物业服务中心). A hospital's department does not here: sets 14 and 16 end the
      // name at 医院, set 18 keeps the department, and docs/ENTITIES.md does not say.
      if (e.type === "organization" && /物业$/u.test(e.text)) {
        const part = /^(?:服务中心|管理处|公司)/u.exec(after(e, 6));
        if (part) replace({ ...e, text: e.text + part[0], end: e.end + part[0].length });
      }
      // A university run on into what one studies there (武汉大学读法学 → 武汉大学).
      if (e.type === "organization") {
        const cut = /(?:大学|学院|中学|小学)(?=[读念学上])/u.exec(e.text);
        if (cut && cut.index + cut[0].length < e.text.length) replace({ ...e, text: e.text.slice(0, cut.index + cut[0].length), end: e.start + cut.index + cut[0].length });
      }
      // A city's urban area: 北京市区 → 北京.
      if (e.type === "place" && /^\p{Script=Han}{2,}市区$/u.test(e.text)) replace({ ...e, text: e.text.slice(0, -2), end: e.end - 2 });
      // A kinship word's home (外婆家) is no organisation, unless quoted as a restaurant's name.
      if (e.type === "organization" && /家$/u.test(e.text) && ZH_KINSHIP.has(e.text.slice(0, -1)) && !/[“「"'‘《]$/u.test(before(e, 1))) out = out.filter((o) => o !== e);
      // How often, not how long: 一天一片, 一天三次.
      if (e.type === "duration" && /^一天$/u.test(e.text) && /^[一两二三四五六七八九十\d]+[片次粒顿杯袋]/u.test(after(e, 4))) out = out.filter((o) => o !== e);
    }
    // A year or a month right before a day or a holiday is one date (明年国庆, 本月25日).
    const joined: Entity[] = [];
    for (const e of out) {
      const last = joined.at(-1);
      if (last && last.type === "datetime" && e.type === "datetime" && last.end === e.start && ZH_DAY_BEFORE.test(last.text)) {
        joined[joined.length - 1] = { type: "datetime", text: text.slice(last.start, e.end), start: last.start, end: e.end };
        continue;
      }
      if (e.type === "datetime") {
        const m = ZH_DAY_BEFORE.exec(before(e, 3));
        if (m && !out.some((o) => o.end > e.start - m[0].length && o.start < e.start)) {
          joined.push({ type: "datetime", text: text.slice(e.start - m[0].length, e.end), start: e.start - m[0].length, end: e.end });
          continue;
        }
      }
      joined.push(e);
    }
    out = joined;
    const add = (type: Entity["type"], name: string, start: number, force = false) => {
      const e: Entity = { type, text: name, start, end: start + name.length };
      if (!force && out.some((o) => overlaps(o, e))) return;
      replace(e);
    };
    for (const m of text.matchAll(ZH_PERIOD)) add("datetime", m[0], m.index as number);
    for (const m of text.matchAll(ZH_SHOP_IS)) {
      const name = m[1] as string;
      const start = (m.index as number) + m[0].length - name.length;
      out = out.map((o) => (o.start === start && o.end === start + name.length && o.type === "place" ? { ...o, type: "organization" } : o));
    }
    for (const re of [ZH_SHOP_CALLED]) {
      for (const m of text.matchAll(re)) {
        const name = m[1] as string;
        const start = (m.index as number) + m[0].length - name.length;
        if (/^(?:什么|啥|哪|这个|那个)/u.test(name)) continue;
        if (out.some((o) => overlaps(o, { start, end: start + name.length }) && o.type !== "person" && o.type !== "place" && o.type !== "organization")) continue;
        add("organization", name, start, true);
      }
    }
    for (const m of text.matchAll(ZH_TRADE_BUSINESS)) add("organization", m[1] as string, m.index as number);
    for (const m of text.matchAll(ZH_TRANSLIT_TITLED)) add("person", m[0], m.index as number, !out.some((o) => overlaps(o, { start: m.index as number, end: (m.index as number) + m[0].length }) && o.type !== "person"));
    for (const m of text.matchAll(ZH_TRANSLIT_AFTER_WITH)) add("person", m[1] as string, m.index as number);
    for (const m of text.matchAll(ZH_SURNAME_KIN)) if (ZH_SURNAME_START.test(m[1] as string)) add("person", m[1] as string, m.index as number);
    return out;
  }
  // English names: kind words, the words around them.
  out = out.flatMap((e): Entity[] => {
    // An English person's or place's name starts with a capital ('buddy' in quotes is neither); organisations may not (eBay).
    if ((e.type === "person" || e.type === "place") && /^\p{Ll}/u.test(e.text)) return [];
    if (e.type !== "person" && e.type !== "place" && e.type !== "organization") return [e];
    if (/^\p{Lu}[\p{L}'’-]*(?:\s\p{Lu}[\p{L}'’-]*)*\s(?:Day|Eve)$/u.test(e.text) && e.type === "place") return [{ ...e, type: "datetime" }];
    if (e.type !== "organization" && (EN_ORG_KIND_FIRST.test(e.text) || (EN_ORG_KIND_LAST.test(e.text) && !EN_NOT_ORG_BANK.test(e.text)))) return [{ ...e, type: "organization" }];
    if (e.type !== "place" && EN_FOREIGN_PLACE_FIRST.test(e.text)) return [{ ...e, type: "place" }];
    if (e.type !== "organization" && EN_ORG_THING_AFTER.test(after(e)) && /\b(?:the|my|our|your|his|her|their)\s$/iu.test(before(e, 8))) return [{ ...e, type: "organization" }];
    if ((e.type === "place" ? EN_BILL_FROM : EN_TRADE_FROM).test(before(e))) return [{ ...e, type: "organization" }];
    if (e.type === "person" && EN_KIND_APPOSITION.test(before(e, 60)) && /^[,;.]/u.test(after(e, 1))) return [{ ...e, type: "organization" }];
    if (e.type === "person" && /(?:^|[^\w])(?:in|near|via)\s$/u.test(before(e, 6)) && EN_TRAVEL.test(text.slice(0, e.start)) && !/^['’]s\b/u.test(after(e, 3)) && /^[;,.]|^$/u.test(after(e, 1))) return [{ ...e, type: "place" }];
    if (e.type === "organization" && /^\p{Lu}[\p{Ll}]+(?<!s)$/u.test(e.text) && EN_PERSON_VERB_AFTER.test(after(e))) return [{ ...e, type: "person" }];
    return [e];
  });
  for (const e of [...out]) {
    if (e.type !== "organization" && e.type !== "place") continue;
    // A business's lost first word ("Blue Harbor Logistics" read as "Harbor Logistics").
    if (e.type === "organization" && EN_ORG_KIND_LAST.test(e.text)) {
      const lead = /(?:^|[;:,]\s|\bwith\s|\bfrom\s|\bat\s|\band\s)(\p{Lu}[\p{Ll}]+)\s$/u.exec(before(e, 20));
      if (lead && !/^(?:The|A|An|Our|My|Your|Their|His|Her|This|That)$/u.test(lead[1] as string) && !out.some((o) => o.end > e.start - (lead[1] as string).length - 1 && o.start < e.start)) {
        const start = e.start - (lead[1] as string).length - 1;
        replace({ ...e, text: text.slice(start, e.end), start });
        continue;
      }
    }
    // "Liceum Ogólnokształcące nr 3": a school's number is part of its name.
    if (e.type === "organization") {
      const nr = /^\s(?:nr|No\.?)\s\d{1,4}\b/u.exec(after(e));
      if (nr) { replace({ ...e, text: text.slice(e.start, e.end + nr[0].length), end: e.end + nr[0].length }); continue; }
    }
    // "The Plough and Harrow", "the Ring of Beara": a name with "and" or "of" inside, read as two.
    const next = out.find((o) => o.start > e.end && o.start - e.end <= 5 && (o.type === "person" || o.type === "place" || o.type === "organization"));
    if (!next) continue;
    const between = text.slice(e.end, next.start);
    const pub = between === " and " && e.type === "organization" && next.type !== "organization" && /^The\s\p{Lu}\p{Ll}+(?<!s)$/u.test(e.text) && /^\p{Lu}\p{Ll}+$/u.test(next.text);
    const of = between === " of " && /^\p{Lu}\p{Ll}+$/u.test(e.text) && e.type === "place" && /^\p{Lu}\p{Ll}+$/u.test(next.text) && /\bthe\s$/iu.test(before(e, 6));
    if (pub || of) replace({ type: of && EN_INSTITUTION_OF.test(e.text) ? "organization" : e.type, text: text.slice(e.start, next.end), start: e.start, end: next.end });
  }
  return out;
}

/** An upgrade's words before "from X to Y" ("the database upgrade from 9.6 to 12.1"): its numbers are versions. */
const EN_UPGRADE_FROM = /\b(?:upgrade|upgraded|upgrading|migration|migrated|migrating|bump|bumped|bumping)\b[^.;:!?,]{0,30}\bfrom\s$/iu;
/** A measure's unit after the second number ("from 2.4 to 1.8 seconds"): not versions. */
const EN_MEASURE_AFTER = /^\s?(?:seconds?|secs?|s|ms|minutes?|mins?|hours?|h|%|percent|points?|GB|MB|KB|TB|kg|km|miles?|x)\b/u;
/** A unit after a number that makes it a quantity ("40 gallons"); a currency word that makes it an amount ("900 kronor"). */
const EN_QUANTITY_UNIT_AFTER = /^\s?(?:gallons?|litres?|liters?|millilitres?|ml|kg|kilos?|kilograms?|grams?|g|lbs?|ounces?|oz|km|kilometres?|kilometers?|miles?|metres?|meters?|feet|ft|inches|acres?|hectares?|GB|MB|TB)\b/u;
const EN_CURRENCY_WORD_AFTER = /^\s(?:złoty|zloty|euros?|dollars|yen|rupees|kronor|kroner|krona|francs|baht|pesos|lira|rand|dirhams?|ringgit|rupiah|forint|koruna|lei|shekels?)\b/u;
/** An error's or a failure's name written in one CamelCase word (AccessDenied, TimeoutError) is code (docs/ENTITIES.md). */
const EN_ERROR_NAME = /^\p{Lu}\p{Ll}+(?:\p{Lu}\p{Ll}+)*(?:Error|Exception|Denied|NotFound|Refused|Timeout|Failed|Forbidden|Unauthorized)$/u;
/** A demonym or a language before a noun ("an Italian place") is no place. */
const EN_DEMONYM = /^\p{Lu}\p{Ll}+(?:ian|ean|ese|ish)$/u;
/** Kinship words and roles the set-16 list missed ("Son Tobiah", "Nonna Lucia", "Brother-in-law Faisal"). */
const EN_MORE_KINSHIP = /^(?:Son|Daughter|Nonna|Nonno|Abuela|Abuelo|Oma|Opa|Tata|Baba|Mama|Brother-in-law|Sister-in-law|Mother-in-law|Father-in-law|Stepdad|Stepmom|Stepmum|Niece|Nephew)\s(?=\p{Lu}\p{Ll})/u;
/** A holiday's weekend ("Easter weekend", "Memorial Day weekend") is one date (docs/ENTITIES.md). */
const EN_HOLIDAY_BEFORE_WEEKEND = /(?:^|[^\p{L}])((?:\p{Lu}\p{Ll}+\s)?(?:Day|Easter|Thanksgiving|Pentecost|Whitsun|Labou?r|Bank Holiday|Memorial|Victoria|Canada|Australia|Presidents['’]?|Family|Heritage))\s$/u;
/** An absolute file path (/var/log/app, /mnt/data/q3): two slashes or more, not a URL's. */
const ABSOLUTE_PATH = /(?<![\w.:/\\-])\/(?:[\w.-]+\/)+[\w.-]*[\w]/gu;
/** A relative path ending in a file's extension (conf/app.yaml, docs/setup.md). */
const RELATIVE_FILE_PATH = /(?<![\w.:/\\-])[A-Za-z_][\w-]*(?:\/[\w.-]+)+\.[A-Za-z][\w]{0,9}(?![\w/])/gu;
/** A foreign trail or path's name (Sentiero degli Dei, Camino Francés) is a place. */
const EN_FOREIGN_TRAIL_FIRST = /^(?:Sentiero|Camino|Sendero|Chemin|Strada|Paseo|Passeig|Cammino|Caminho|Weg)\s\p{Lu}/u;
/** A foreign institution's first word (Universidad, Teatro, Musée …). */
const EN_FOREIGN_INSTITUTION = /^(?:Université|Universidad|Universidade|Università|Universität|Universiteit|Ballet|Opéra|Opera|Teatro|Théâtre|Museo|Musée|Museu|Banco|Banque|Orchestre|Orquesta|Collège|École|Ecole|Escuela|Instituto|Institut|Hôtel|Hotel|Hospital|Hôpital|Ospedale|Clínica|Clinique|Conservatoire|Conservatorio|Académie|Academia|Lycée|Liceo|Colegio)$/u;
/** A Chinese time word that is not a time: 一点 "a little" (多吃一点, 贵了一点), unless an hour (下午一点, 一点半). */
const ZH_HOUR_CONTEXT_BEFORE = /(?:上午|下午|中午|晚上|凌晨|早上|傍晚|夜里|今天|明天|后天|周[一二三四五六日天]|星期[一二三四五六日天]|号|日)$/u;
const ZH_HOUR_CONTEXT_AFTER = /^(?:半|钟|[零一二三四五六七八九十\d]+分|一刻|三刻|到|前|后|左右)/u;

/**
 * General classes set 19's misses showed (tagger v15; no strings of the set): versions in an upgrade's "from X to Y" and before
 * "migration"; a number with a unit (gallons, km …) a quantity, with a currency word (kronor) an amount; an id with letters
 * after its digits (4410-BX) and its "#"; a command with its flags one code; a method with its class (Cart.total) and a key
 * with its section (db.pool_size) one code; an error's name code; a demonym before a noun no place; "County" a place;
 * more kinship words outside a name; a holiday's weekend one date; "St. X" one place; absolute paths and relative file paths
 * paths; a thousands separator inside a measure. Chinese: 一点 "a little" no time; 三年级 no duration; 两年半 one duration;
 * 6分12秒 one duration; 20亩 a quantity; a name run on into 取 / 寄 / 送 cut.
 */
function withSetNineteenClasses(text: string, entities: Entity[]): Entity[] {
  let out = [...entities].sort((a, b) => a.start - b.start);
  const replace = (e: Entity) => {
    out = withReplaced(out, e);
  };
  const { before, after } = aroundSpans(text);
  const han = /\p{Script=Han}/u.test(text);
  for (const e of [...out]) {
    if (!out.includes(e)) continue;
    // A thousands separator the measure lost ("1,800 ms" read as "800 ms").
    if ((e.type === "duration" || e.type === "quantity" || e.type === "amount" || e.type === "number") && /^\d/u.test(e.text)) {
      const lost = /(?<![\d.,])\d{1,3}(?:,\d{3})*,$/u.exec(before(e, 12));
      if (lost && /^\d{3}(?!\d)/u.test(e.text)) { replace({ ...e, text: text.slice(e.start - lost[0].length, e.end), start: e.start - lost[0].length }); continue; }
    }
    if (e.type === "number" && !han) {
      const dotted = /^\d+(?:\.\d+)+$/u.test(e.text);
      const measured = EN_MEASURE_AFTER.test(after(e)) || EN_MEASURE_AFTER.test(after(e).replace(/^\sto\s\d+(?:\.\d+)*/u, ""));
      if (dotted && !measured && ((EN_UPGRADE_FROM.test(before(e)) && /^\sto\s\d/u.test(after(e))) || (/\sto\s$/u.test(before(e, 4)) && EN_UPGRADE_FROM.test(before(e, 60).replace(/\d+(?:\.\d+)+\sto\s$/u, ""))))) { replace({ ...e, type: "version" }); continue; }
      if (dotted && /^\s(?:migration|upgrade)\b/u.test(after(e)) && /\b(?:the|a|our|next)\s$/iu.test(before(e, 6))) { replace({ ...e, type: "version" }); continue; }
      const unit = EN_QUANTITY_UNIT_AFTER.exec(after(e));
      if (unit) { replace({ type: "quantity", text: text.slice(e.start, e.end + unit[0].length), start: e.start, end: e.end + unit[0].length }); continue; }
      const money = EN_CURRENCY_WORD_AFTER.exec(after(e));
      if (money) { replace({ type: "amount", text: text.slice(e.start, e.end + money[0].length), start: e.start, end: e.end + money[0].length }); continue; }
      const suffix = /^-[A-Z]{1,3}(?![\w-])/u.exec(after(e));
      if (suffix && /^\d{3,}$/u.test(e.text)) { replace({ type: "id", text: text.slice(e.start, e.end + suffix[0].length), start: e.start, end: e.end + suffix[0].length }); continue; }
    }
    // A named road with its number is one place ("Ruta 40", docs/ENTITIES.md); the words of set 16's list drop the number already.
    if (e.type === "number" && /^\d{1,4}$/u.test(e.text)) {
      const road = /(?:^|[^\p{L}])((?:Ruta|Rota|Carretera|Autobahn|Autoroute|Strada Statale|State Route|US Route|Hwy)\s)$/u.exec(before(e, 20));
      if (road) { replace({ type: "place", text: text.slice(e.start - (road[1] as string).length, e.end), start: e.start - (road[1] as string).length, end: e.end }); continue; }
    }
    if (!han && e.type !== "place" && (e.type === "organization" || e.type === "person") && EN_FOREIGN_TRAIL_FIRST.test(e.text)) { replace({ ...e, type: "place" }); continue; }
    // "Universidad de Chile", "Teatro di San Carlo": a foreign institution's name read as two at its "de".
    if (!han && (e.type === "place" || e.type === "organization" || e.type === "person") && EN_FOREIGN_INSTITUTION.test(e.text)) {
      const link = /^\s(?:de|du|des|de la|di|del|della|degli|do|da|dos|das|von|van|der|am)\s(?=\p{Lu})/u.exec(after(e, 12));
      const next = link && out.find((o) => o.start === e.end + (link[0] as string).length && (o.type === "person" || o.type === "place" || o.type === "organization"));
      if (next) { replace({ type: "organization", text: text.slice(e.start, next.end), start: e.start, end: next.end }); continue; }
    }
    if (e.type === "id" && /#$/u.test(before(e, 1)) && !/[\w#]$/u.test(before(e, 2).slice(0, -1))) { replace({ ...e, text: `#${e.text}`, start: e.start - 1 }); continue; }
    if (e.type === "code" && !han) {
      // A command with its flags ("terraform plan -lock-timeout=60s"), a script after "run" ("npm run lint").
      const flags = /^(?:\s--?[a-z][\w-]*(?:=[^\s,;]+)?)+/u.exec(after(e, 80));
      if (flags) { replace({ ...e, text: text.slice(e.start, e.end + flags[0].length), end: e.end + flags[0].length }); continue; }
      // A method with its class, a key with its section (Cart.total, db.pool_size).
      const owner = /(?<![\w./])[A-Za-z_]\w*\.$/u.exec(before(e, 40));
      if (owner && /^\w/u.test(e.text)) { replace({ ...e, text: text.slice(e.start - owner[0].length, e.end), start: e.start - owner[0].length }); continue; }
    }
    if (e.type === "code" && /(?:^|\s)(?:npm|yarn|pnpm)\srun$/u.test(e.text)) {
      const script = /^\s[a-z][\w:-]*/u.exec(after(e));
      if (script) { replace({ ...e, text: text.slice(e.start, e.end + script[0].length), end: e.end + script[0].length }); continue; }
    }
    if (e.type === "code" && han) {
      const owner = /(?<![\w./])[A-Za-z_]\w*\.$/u.exec(before(e, 40));
      if (owner && /^\w/u.test(e.text)) { replace({ ...e, text: text.slice(e.start - owner[0].length, e.end), start: e.start - owner[0].length }); continue; }
    }
    if ((e.type === "organization" || e.type === "person" || e.type === "place") && EN_ERROR_NAME.test(e.text)) { replace({ ...e, type: "code" }); continue; }
    if (!han && e.type === "place" && EN_DEMONYM.test(e.text) && /^\s\p{Ll}/u.test(after(e, 2))) { out = out.filter((o) => o !== e); continue; }
    if (!han && e.type === "organization" && /^\p{Lu}[\p{L}-]*(?:\s\p{Lu}[\p{L}-]*)*\s(?:County|Parish|Province|Prefecture|Oblast|Canton)$/u.test(e.text)) { replace({ ...e, type: "place" }); continue; }
    if (!han && (e.type === "person" || e.type === "organization")) {
      const kin = EN_MORE_KINSHIP.exec(e.text);
      if (kin) { replace({ type: "person", text: e.text.slice(kin[0].length), start: e.start + kin[0].length, end: e.end }); continue; }
    }
    if (!han && e.type === "datetime" && /^weekend$/iu.test(e.text)) {
      const holiday = EN_HOLIDAY_BEFORE_WEEKEND.exec(before(e, 30));
      if (holiday) {
        const start = e.start - (holiday[1] as string).length - 1;
        replace({ ...e, text: text.slice(start, e.end), start });
        continue;
      }
    }
    // "St. Moritz", "St. Gallen": the abbreviation's dot does not end the name.
    if (!han && (e.type === "place" || e.type === "person") && /^(?:St|Ste|Mt)$/u.test(e.text) && /^\.\s\p{Lu}/u.test(after(e, 3))) {
      const next = out.find((o) => o.start === e.end + 2 && (o.type === "person" || o.type === "place" || o.type === "organization"));
      if (next) { replace({ type: "place", text: text.slice(e.start, next.end), start: e.start, end: next.end }); continue; }
    }
    if (han) {
      if (e.type === "datetime" && e.text === "一点" && !ZH_HOUR_CONTEXT_BEFORE.test(before(e, 4)) && !ZH_HOUR_CONTEXT_AFTER.test(after(e, 4))) { out = out.filter((o) => o !== e); continue; }
      if (e.type === "duration" && /年$/u.test(e.text) && /^级/u.test(after(e, 1))) { out = out.filter((o) => o !== e); continue; }
      if (e.type === "duration" && /(?:年|个月|小时|天|周)$/u.test(e.text) && /^半/u.test(after(e, 1))) { replace({ ...e, text: `${e.text}半`, end: e.end + 1 }); continue; }
      if (e.type === "number" && /^\d+(?:\.\d+)?$/u.test(e.text) && /^亩/u.test(after(e, 1))) { replace({ type: "quantity", text: `${e.text}亩`, start: e.start, end: e.end + 1 }); continue; }
      if (e.type === "number" && /^\d+$/u.test(e.text) && /^分$/u.test(after(e, 1))) {
        const sec = out.find((o) => o.start === e.end + 1 && o.type === "duration" && /^\d+秒$/u.test(o.text));
        if (sec) { replace({ type: "duration", text: text.slice(e.start, sec.end), start: e.start, end: sec.end }); continue; }
      }
      if ((e.type === "place" || e.type === "organization") && /^\p{Script=Han}{4,}$/u.test(e.text) && /[楼岛馆店园厅城村镇山湖场院庄堂寺宫苑阁坊屋轩斋居港湾街路][取寄送]$/u.test(e.text)) { replace({ ...e, text: e.text.slice(0, -1), end: e.end - 1 }); continue; }
    }
  }
  const add = (type: Entity["type"], m: RegExpMatchArray) => {
    const e: Entity = { type, text: m[0], start: m.index as number, end: (m.index as number) + m[0].length };
    if (out.some((o) => overlaps(o, e) && (o.type === "url" || o.type === "email" || o.type === "path") )) return;
    replace(e);
  };
  for (const m of text.matchAll(ABSOLUTE_PATH)) if ((m[0].match(/\//gu) ?? []).length >= 2) add("path", m);
  for (const m of text.matchAll(RELATIVE_FILE_PATH)) add("path", m);
  return out;
}
