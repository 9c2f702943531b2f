import { createRequire } from "node:module";
import { seededRandom } from "../core/stats.js";
import type { EntityType } from "./entities.js";
import { loadPersonNames, zhPlaceNames } from "./entities-nlp.js";
import { ZH_COMPOUND_SURNAMES, ZH_SINGLE_SURNAMES } from "./zh-surnames.js";

const require = createRequire(import.meta.url);

/** A labelled text, as in test/fixtures/entities*.json. */
export interface LabelledText {
  text: string;
  entities: { type: EntityType; text: string }[];
}

/**
 * Synthetic training texts for the name tagger: agent-memory sentences (meetings, tickets, travel,
 * money, family) written from templates, with people, organisations and places drawn from lists the
 * labelled sets never were written from — @faker-js/faker's first names and surnames (every locale,
 * and zh_CN given names), city-timezones' world cities, jieba's Chinese cities and counties, and
 * organisation names built from a stem and a trade word. Seeded: the same count and seed give the
 * same texts.
 */

const EN_TEMPLATES = [
  "{P} from {O} wants the revised quote before Friday.",
  "Met {P} in {L} to walk through the onboarding plan for {O}.",
  "{O} moved its support desk to {L}; {P} is the new contact.",
  "Flight to {L} on 14 March, then the train to {L} for the {O} site visit.",
  "Remind me to call {P} about the invoice from {O}.",
  "{P} said the {L} warehouse of {O} is short of pallets again.",
  "The user's sister {P} lives in {L} and works at {O}.",
  "Ticket OPS-{N}: {O} reports timeouts from their {L} office.",
  "{P} and {P} will review the contract with {O} next week.",
  "Dinner with {P} at a small place near the harbour in {L}.",
  "{O} approved the budget; {P} signs the purchase order.",
  "Ask {P} whether {O} still ships to {L}.",
  "{P} from {O} will give the talk in {L}.",
  "{P} moved the appointment to Tuesday at {O}.",
  "{P} at {O} confirmed the refund of EUR {N}.",
  "The team offsite is in {L}; {P} books the rooms.",
  "{P} prefers window seats when flying out of {L}.",
  "Paid {O} USD {N} for the annual licence; {P} has the receipt.",
  "{P} from {L} asked about the delayed shipment.",
  "Invoice INV-{N} from {O} is still unpaid, says {P}.",
  "{P} is moving from {L} to {L} in June.",
  "The {O} account manager, {P}, retires at the end of the year.",
  "Call with {O} and {O} about the shared data pipeline.",
  "{P}'s daughter starts school in {L} this autumn.",
  "Our courier {O} lost two parcels between {L} and {L}.",
  "{P} recommends {O} for the audit.",
  "Visited the {O} plant outside {L} with {P}.",
  "{P} flagged a billing bug at {O}: customers in {L} were charged twice.",
  "Weekly sync with {P}; topics: {O} renewal, hiring in {L}.",
  "The user grew up in {L} and studied at {O}.",
];

const ZH_TEMPLATES = [
  "{P}说{O}下周五之前要新的报价。",
  "在{L}见了{P}，一起过了{O}的上线计划。",
  "{O}把客服中心搬到了{L}，新的联系人是{P}。",
  "三月十四日飞{L}，再坐火车去{L}参观{O}的工厂。",
  "提醒我给{P}打电话，问{O}的发票。",
  "{P}说{O}在{L}的仓库又缺托盘了。",
  "用户的姐姐{P}住在{L}，在{O}上班。",
  "工单 OPS-{N}：{O}反映{L}办公室访问超时。",
  "{P}和{P}下周跟{O}一起审合同。",
  "和{P}在{L}港口附近的小馆吃了晚饭。",
  "{O}批了预算，由{P}签采购单。",
  "问问{P}，{O}还往{L}发货吗。",
  "{P}下个月在{L}讲课，{O}主办。",
  "{P}把会议改到了周二，地点在{O}。",
  "{O}的{P}确认退款{N}元。",
  "团队团建定在{L}，{P}负责订房间。",
  "{P}从{L}出发时喜欢靠窗的座位。",
  "给{O}付了{N}元年费，收据在{P}那里。",
  "{L}的{P}问发货为什么延误了。",
  "{O}的发票 INV-{N} 还没付，{P}说的。",
  "{P}六月从{L}搬到{L}。",
  "{O}的客户经理{P}年底退休。",
  "和{O}、{O}开会讨论共用的数据管道。",
  "{P}的女儿今年秋天在{L}上学。",
  "快递公司{O}在{L}到{L}之间丢了两个包裹。",
  "{P}推荐找{O}做审计。",
  "和{P}一起去了{L}郊外的{O}工厂。",
  "{P}发现{O}的计费有问题：{L}的用户被扣了两次钱。",
  "每周和{P}同步：{O}续约、{L}招聘。",
  "用户在{L}长大，毕业于{O}。",
  // Frames with the name inside the sentence, after verbs and prepositions, and names beside other types.
  "周三评审前找{P}要{L}那几家供应商的合同。",
  "{L}的客户{P}反馈新版本上小组件会崩溃。",
  "{O}的{N}元设备预算，{P}已经批了。",
  "{O}那边由{P}对接，培训定在{L}。",
  "{P}换了新邮箱，旧的不再用了。",
  "{P}上个月从{O}离职，下个月去{L}的{O}。",
  "{P}加入了{O}，之前在{O}干了两年。",
  "{O}派{P}去{L}出差一周。",
  "{L}那家{O}帮用户订好了八人桌。",
  "用户在{O}办了卡，每月扣{N}元。",
  "{O}的账单涨到了{N}元，{P}说要查一下。",
  "{O}每月收我们{N}元，{O}一年{N}元。",
  "{P}从{L}搬到{L}，现在在{O}写代码。",
  "{P}周五早上从{L}飞{L}。",
  "请{P}把报告发给{O}的{P}。",
  "{P}负责{L}分公司的调研报告，三周内交。",
  "寄到{L}的箱子要四天，这是{O}的{P}说的。",
  "{O}确认了订单，货从{L}发出。",
  "用户在{O}看的病，{P}医生让下周复查。",
  "{P}觉得{O}的报价太高，想再问问{O}。",
  "明天上午和{P}、{P}在{L}碰头。",
  "{P}在{L}的{O}做监测。",
  "{O}和{O}签了三年的合作协议，{P}牵头。",
  "下周去{L}，住在{O}，{P}来接机。",
  "{P}的电话换了，新号码问{P}要。",
  "{L}仓库的货由{O}来提，{P}说早上到。",
  "{O}的{P}要求月底前拿到{L}工厂的审计结果。",
  "这个月{O}给{L}办公室开了{N}元的发票。",
  "{P}推荐了{L}的一家店，叫{O}。",
  "跟{O}的{P}约了周四下午三点的电话。",
  // A name right before a one-character verb or adverb (提, 给, 老是, 管): the name ends before it.
  "工单 OPS-{N} 是{P}提的，还没人接。",
  "这是{O}的{P}给的报价。",
  "{L}的{P}老是收不到推送。",
  "{L}那间仓库归{P}管，去之前先打电话。",
  "{P}刚把{O}的合同发过来。",
  "{P}先别付{O}的发票，金额不对。",
  // Frames where the words around a company say what it is (it releases, is bought, employs, has an app, shops, support).
  "{O}发布了新版App，{P}说下周再升级。",
  "{P}去年加入了{O}，做后端开发。",
  "{O}收购了{O}，整合由{P}负责。",
  "{P}在{O}工作了三年，想换到{L}。",
  "用户平时用{O}记笔记，文件都存在{O}里。",
  "{O}的客服说退款三到五个工作日到账。",
  "{P}拿到了{O}的offer，base在{L}。",
  "跟{O}谈合作的事，{P}约了下周在{L}见面。",
  "{O}旗下的{O}今年在{L}开了两家门店。",
  "{O}股价跌了不少，{P}有点慌。",
  "在{O}下单了一台空调，{N}元，{P}帮忙收货。",
  "{O}上线了新功能，{P}觉得不好用。",
  "{O}的会员每月{N}元，用户想取消续费。",
  "{P}从{O}跳槽到了{O}。",
  "打开{O}查了去{L}的路线，要两个小时。",
  "{O}在{L}的门店周末排队很久。",
  "{O}和{O}是竞品，{P}在做对比表。",
  "{O}推出了新套餐，{P}问要不要换。",
  "{P}入职{O}满一年了。",
  "{O}的面试安排在周四，{P}是面试官。",
  "用户喝惯了{O}的牛奶，不喜欢{O}的。",
  "{O}今年又裁员了，{P}在{L}的团队被撤了。",
  "{P}说{O}的售后比{O}好。",
  "这批货是{O}代工的，{P}去{L}验厂。",
  "{O}专业版一年{N}元，{P}说先续一年。",
  "{O}这个月扣了{N}元，大部分是流量费。",
  "{O}上个月的账单是{N}元，{P}在核对。",
  "团队改用{O}了，每人每月{N}元。",
  "通过{O}付的款要等两天才退回来。",
  "{O}的接口每天限{N}次调用，{P}在申请加额度。",
  "{O}的试用期下周到期，记得取消。",
  "用户在{O}常点一份{N}元的套餐。",
  "{O}通知{P}下个月起费率调整。",
  "生日宴订在{L}的{O}，周五晚上七点。",
  // A company's name right before a one-character verb or adverb (租, 买, 写, 只, 又, 开): the name ends before it.
  "从{O}租的设备下周要还，{P}去{L}取。",
  "{P}现在在{O}写前端，下班很晚。",
  "{O}只肯退一半，{P}说再去谈。",
  "{O}又涨价了，每月多{N}元。",
  "{P}在{O}开了个账户，转了{N}元。",
  "从{O}买的空调装好了，{P}说制冷一般。",
  "{O}给{P}寄了样品，到{L}要三天。",
  // Generic words for a kind of company are not names: no organisation here.
  "{P}说那家印刷厂开工前要先收定金。",
  "保险公司只肯赔{N}元，{P}还在争取。",
  "物业公司说{L}那栋楼周三停水。",
  "{P}去银行办了张卡，顺便问了房贷。",
  "{L}的快递公司周末不派件。",
];

const EN_ORG_STEMS = [
  "Amber", "Aspen", "Basalt", "Beacon", "Birch", "Blue Ridge", "Bramble", "Cedar", "Cobalt", "Copper", "Coral", "Crescent", "Cypress", "Delta", "Driftwood",
  "Ember", "Falcon", "Fern", "Granite", "Harbor", "Hazel", "Heron", "Indigo", "Iron", "Ivy", "Jade", "Juniper", "Kelp", "Lantern", "Larch", "Lumen", "Maple",
  "Marble", "Meadow", "Mistral", "Monsoon", "Northwind", "Oak", "Obsidian", "Onyx", "Orchard", "Osprey", "Pebble", "Pine", "Prairie", "Quartz", "Raven",
  "Redwood", "Ridge", "Riverbend", "Saffron", "Sage", "Sandstone", "Sequoia", "Silverline", "Slate", "Sparrow", "Summit", "Tamarind", "Thistle", "Tidewater",
  "Timber", "Topaz", "Tundra", "Umber", "Vale", "Willow", "Wren", "Yarrow", "Zephyr",
];
const EN_TRADES = [
  "Labs", "Logistics", "Freight", "Energy", "Bank", "Capital", "Partners", "Legal", "Foods", "Dairy", "Bakery", "Bakehouse", "Pharmacy", "Clinic", "Hospital",
  "University", "Institute", "Systems", "Software", "Analytics", "Robotics", "Textiles", "Ceramics", "Glassworks", "Printing", "Surveying", "Geotechnics",
  "Haulage", "Properties", "Estates", "Insurance", "Microfinance", "Cooperative", "Trust", "Foundation", "Studios", "Media", "Consulting", "Engineering",
  "Hydraulics", "Instruments", "Precision", "Biotech", "Telecom", "Motors", "Shipping", "Cold Chain", "Veterinary", "Dental", "Diner", "Brewery", "Coffee",
  "Inc", "Ltd", "GmbH", "LLC", "Group", "Holdings", "Works", "Exchange", "Signage", "Cloudworks", "Ledger", "Security",
];
const ZH_ORG_CHARS = "青云蓝山海星金银华瑞泰康安鼎恒远新天锦松竹梅兰北南东西明光辰宇博达信诚和嘉盛隆源丰禾绿林川江湖溪峰岭月晨曦朗悦睿智凯航驰";
const ZH_TRADES = [
  "科技", "物流", "快运", "置业", "茶业", "医院", "研究所", "银行", "证券", "大药房", "玻璃厂", "快递", "光电", "微电子", "贸易", "食品", "乳业", "设计", "咨询",
  "律师事务所", "研究院", "大学", "实验室", "集团", "有限公司", "传媒", "小馆", "工作室", "软件", "网络", "数据", "智能", "能源", "制药", "生物", "电器", "服饰",
  "保险", "基金", "资本", "教育", "地产", "建设", "航空", "汽车", "机械", "矿业", "纺织", "陶艺", "水产", "勘察院", "交易中心", "印刷厂", "餐厅", "书店", "宠物医院",
  "互娱", "财税", "绒业", "羊绒厂", "口腔", "仓储", "理疗中心", "云", "文档", "笔记", "物产", "国际旅行社", "旅行社", "农商行", "人民医院", "海洋科技", "气象研究所",
  "水产研究所", "火锅", "酒店", "客栈", "民宿", "茶馆", "面馆", "烘焙", "家政", "装饰", "药业", "环保", "新材料", "电力", "燃气", "水务", "租赁", "传感", "半导体",
  "控股", "实业", "投资", "会计师事务所", "体检中心", "培训学校", "幼儿园", "中学", "出版社", "报社", "电视台", "基金会", "协会", "委员会", "合作社", "农场", "牧业",
];
/** Characters that end many Chinese brand names without being a trade word (支付宝's 宝, 拼多多's 多, 美团's 团, 小米's 米, 百度's 度). */
const ZH_BRAND_ENDS = "宝通达讯迅团多乐派帮购淘猫狗鱼车盒圈聊信家马象度为米想讯音拍途程融付";
/** The share of Chinese organisations written as a bare brand (no trade word). */
const BRAND_SHARE = 0.25;
const ZH_TITLES = [...Array<string>(36).fill(""), "经理", "老师", "师傅", "教授", "医生", "总", "先生", "女士", "主任"];
const EN_TITLES = ["", "", "", "", "", "", "", "", "Dr. ", "Ms. ", "Mr. ", "Prof. "];

function collectNames(value: unknown): string[] {
  const names = Array.isArray(value) ? value : value && typeof value === "object" ? Object.values(value).flat() : [];
  return names.filter((n): n is string => typeof n === "string" && /^\p{Script=Han}{1,2}$/u.test(n));
}

let lists: { enFirst: string[]; enLast: string[]; places: string[]; zhGiven: string[]; zhPlaces: string[] } | undefined;
function load() {
  if (!lists) {
    const people = loadPersonNames();
    const { cityMapping } = require("city-timezones") as { cityMapping: { city: string; pop: number }[] };
    const { allLocales } = require("@faker-js/faker") as { allLocales: Record<string, { person?: { first_name?: unknown } }> };
    lists = {
      enFirst: [...people.first].sort(),
      enLast: [...people.last].sort(),
      places: [...new Set(cityMapping.filter((c) => /^\p{Lu}[\p{L}' -]+$/u.test(c.city) && !/\s\p{Ll}/u.test(c.city)).map((c) => c.city))].sort(),
      zhGiven: [...new Set(collectNames(allLocales.zh_CN?.person?.first_name))].sort(),
      zhPlaces: zhPlaceNames().filter((p) => p.length <= 3),
    };
  }
  return lists;
}

/** `count` synthetic labelled texts, half English and half Chinese, from a seed. */
export function syntheticTexts(count: number, seed = 7): LabelledText[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const { enFirst, enLast, places, zhGiven, zhPlaces } = load();
  const compounds = ZH_COMPOUND_SURNAMES;
  const enPerson = () => {
    const title = pick(EN_TITLES);
    const r = random();
    if (title) return `${title}${r < 0.5 ? pick(enLast) : `${pick(enFirst)} ${pick(enLast)}`}`;
    return r < 0.2 ? pick(enFirst) : `${pick(enFirst)} ${pick(enLast)}`;
  };
  const enOrg = () => {
    const r = random();
    if (r < 0.15) return `University of ${pick(places)}`;
    if (r < 0.35) return `${pick(places)} ${pick(EN_TRADES)}`;
    if (r < 0.45) return `${pick(enLast)} ${pick(EN_TRADES)}`;
    return `${pick(EN_ORG_STEMS)} ${pick(EN_TRADES)}`;
  };
  const singles = [...ZH_SINGLE_SURNAMES];
  // Given names: faker's, or one or two characters drawn from them (names faker never lists).
  const givenChars = [...new Set(zhGiven.join(""))].sort();
  const given = () => {
    const r = random();
    if (r < 0.5) return pick(zhGiven);
    return r < 0.65 ? pick(givenChars) : `${pick(givenChars)}${pick(givenChars)}`;
  };
  const zhPerson = () => {
    const r = random();
    if (r < 0.05) return `小${pick(givenChars)}`;
    if (r < 0.08) return `阿${pick(givenChars)}`;
    if (r < 0.1) return `${pick(givenChars)}${pick(givenChars)}`.replace(/^(.)(.)$/u, "$1$1");
    if (r < 0.13) return `${random() < 0.7 ? "老" : "小"}${pick(singles)}`;
    const surname = r < 0.16 ? pick(compounds) : pick(singles);
    const title = pick(ZH_TITLES);
    return title ? `${surname}${random() < 0.6 ? "" : given()}${title}` : `${surname}${given()}`;
  };
  const orgChars = [...ZH_ORG_CHARS];
  const brandEnds = [...ZH_BRAND_ENDS];
  // A brand or a short name without any trade word (as people write 海信 or 蒙牛): two or three characters, or a stem and a brand-like character.
  const zhBrand = () => {
    const r = random();
    if (r < 0.4) return `${pick(orgChars)}${pick(random() < 0.5 ? orgChars : givenChars)}`;
    if (r < 0.6) return `${pick(givenChars)}${pick(orgChars)}${pick(orgChars)}`;
    if (r < 0.9) return `${pick(random() < 0.5 ? orgChars : givenChars)}${pick(brandEnds)}`;
    return `${pick(orgChars)}${pick(givenChars)}${pick(brandEnds)}`;
  };
  const zhOrg = () => {
    const r0 = random();
    if (r0 < BRAND_SHARE) return zhBrand();
    const r = random();
    if (r < 0.2) return `${pick(zhPlaces)}${pick(ZH_TRADES)}`;
    if (r < 0.35) return `${pick(givenChars)}${pick(orgChars)}${pick(ZH_TRADES)}`;
    if (r < 0.42) return `${pick(orgChars)}${pick(givenChars)}${pick(orgChars)}${pick(ZH_TRADES)}`;
    return `${pick(orgChars)}${pick(orgChars)}${pick(ZH_TRADES)}`;
  };
  const texts: LabelledText[] = [];
  for (let i = 0; i < count; i++) {
    const zh = i % 2 === 1;
    const template = pick(zh ? ZH_TEMPLATES : EN_TEMPLATES);
    const entities: { type: EntityType; text: string }[] = [];
    const text = template.replace(/\{([POLN])\}/g, (_, slot: string) => {
      if (slot === "N") return String(100 + Math.floor(random() * 9900));
      const type: EntityType = slot === "P" ? "person" : slot === "O" ? "organization" : "place";
      const name = slot === "P" ? (zh ? zhPerson() : enPerson()) : slot === "O" ? (zh ? zhOrg() : enOrg()) : zh ? pick(zhPlaces) : pick(places);
      entities.push({ type, text: name });
      return name;
    });
    texts.push({ text, entities });
  }
  return texts;
}
