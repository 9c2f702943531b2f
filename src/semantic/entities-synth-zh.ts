import { seededRandom } from "../core/stats.js";
import type { EntityType } from "./entities.js";
import { zhPlaceNames } from "./entities-nlp.js";
import type { LabelledText } from "./entities-synth.js";
import { ZH_COMPOUND_SURNAMES, ZH_SINGLE_SURNAMES } from "./zh-surnames.js";

/**
 * Synthetic Chinese training texts of a second kind (tagger v7): names built in code from the shapes of Chinese names rather than
 * drawn from lists, so that the tagger learns shapes, not names. Persons from surname and given-name character distributions,
 * transliterated names (Tibetan, Uyghur, Mongolian, Vietnamese syllables) and nicknames; organisations as [place] + invented stem
 * + industry word + organisation ending, shops and restaurants (…人家, …观, …坊), apps and media, and names nested in another
 * (上海市第六人民医院 as one organisation); places as invented stems with an ending (镇, 村, 街, 巷, 湖, 古镇, 老城 …), bare
 * invented stems, transliterated foreign places and jieba's cities. Placed into frames written for this (not from any labelled
 * set), varied in where the name stands and what follows it. Seeded: the same count and seed give the same texts.
 */

/** Characters common in given names (general usage). */
const GIVEN =
  "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉宇浩凯健俊帆晨阳欣怡佳琪雪梦璐晓婷倩颖琳慧雯馨悦思雨涵萱妍嘉宁瑶" +
  "子轩博文昊然皓睿泽宸一诺安可心若溪沐清岚远航志刚建国建华海峰立新永红春梅秋菊冬梅晓东卫东振华德福国栋家豪俊杰文静丹青";
/** Syllables of Tibetan names as written in Chinese. */
const TIBETAN = "扎西 次仁 达娃 卓玛 央金 洛桑 格桑 平措 多吉 尼玛 顿珠 旺堆 索朗 白玛 拉姆 次旦 贡布 益西 德吉 曲珍 边巴 普布 旺姆 仁增 巴桑 央宗 群培 罗布 强巴 桑珠".split(" ");
/** Uyghur and Kazakh names as written in Chinese. */
const UYGHUR = "阿不都 热合曼 买买提 艾力 古丽 迪丽 努尔 阿依 吐尔逊 伊力 亚森 阿迪力 热依拉 帕提古丽 阿曼 赛买提 库尔班 依明 麦麦提 阿布 沙吾提 米娜 哈斯木".split(" ");
const MONGOL = "巴特尔 其其格 乌日娜 苏和 额尔敦 那仁 孟和 敖登 宝音 朝鲁 斯琴 图雅 萨仁 格日勒 阿拉坦 呼和 乌兰".split(" ");
/** Characters of transliterated foreign names and places. */
const TRANSLIT = "阿巴达拉萨克尔斯特尼亚利马洛伊哈纳图多布莫塔卡里温格兰德维坦索贝佩罗基诺米奥加夫菲希耶兹密瓦乌泽科普沙勒蒙";
/** Characters of Chinese place names (general usage). */
const PLACE_CHARS = "东西南北中上下前后大小新老青白黑红金石松柏桃梅竹柳杨花草溪河江湖海山岭峰峡谷坪坝塘港湾洲岛沙泉龙凤马牛羊鹿鹤云雾平安宁康乐兴隆福寿长永清和丰吉庆阳阴";
const PLACE_ENDS = ["镇", "村", "乡", "区", "县", "街", "巷", "路", "湖", "山", "岛", "湾", "峡", "寺", "桥", "关", "坪", "坝", "洲", "古镇", "老城", "新区", "老街", "湿地", "草原", "景区", "大道", "古城", "水库"];
const ORG_CHARS = "青云蓝山海星金银华瑞泰康安鼎恒远新天锦松竹梅兰北南东西明光辰宇博达信诚和嘉盛隆源丰禾绿林川江湖溪峰岭月晨曦朗悦睿智凯航驰";
/** Industry words, which follow a place or a stem in a firm's name (洛阳轴承, 禾木户外). */
const INDUSTRY = "轴承 户外 船舶 重工 机床 钢铁 水泥 啤酒 乳业 茶厂 纺织 化工 制药 玻璃 陶瓷 电缆 矿业 酒业 食品 农业 渔业 牧业 林业 建工 路桥 港务 电子 光伏 新能源 汽配 橡胶 造纸 印染 家纺 木业 石材 水产 茶叶 果业 粮油".split(" ");
const ORG_ENDS = "有限公司 股份有限公司 集团 公司 厂 合作社 研究所 研究院 中心 协会 事务所 工作室 医院 学校 大学 学院 银行 商行 俱乐部 基地 书店 酒店 民宿".split(" ");
const SHOP_ENDS = "人家 小馆 酒家 食府 面馆 茶馆 观 坊 记 楼 轩 居 斋 铺 堂".split(" ");
const APP_ENDS = "清单 笔记 日历 地图 音乐 视频 云盘 记账 健身 翻译 阅读 打车 外卖".split(" ");
const MEDIA_ENDS = "日报 晚报 周末 周刊 都市报 电视台 新闻".split(" ");
const KIN = "三叔 二姨 大伯 表哥 表姐 舅舅 姑姑 小姨 堂弟 同事 室友 邻居 老同学".split(" ");
const TITLES = "经理 老师 师傅 教授 医生 主任 女士 先生 总 工".split(" ");

/** Frames: {P} person, {O} organisation, {L} place, {N} a number. Written for this generator. */
const FRAMES = [
  "{P}周五坐高铁从{L}到{L}，{N}元的票是{O}报销的。",
  "{L}的{P}还在等那批样品，快递单号 SF{N}。",
  "{O}的{P}说新设备下周三从{L}发出。",
  "用户答应下个月去{L}参加{P}的婚礼。",
  "{P}上周从{L}开车回{L}看家里人，开了{N}公里。",
  "{O}把年会从{L}挪到了{L}，大约{N}人参加。",
  "{O}周四往{L}送{N}箱货。",
  "在{L}的{O}订了晚饭，{N}个人，{P}买单。",
  "{P}在{L}管着{O}，下个月开始收新货。",
  "{P}跟{O}谈下了三十天的免费仓储。",
  "{P}接下来八周要记录{L}的降雪量。",
  "{P}通过{O}卖牦牛绒，每月往{L}发{N}公斤。",
  "{O}从下个月起批发价上调百分之九。",
  "{O}的{P}说这周的排期已经满了。",
  "{P}要每周六早上发一次{L}的天气。",
  "{P}带队去{L}考察二十天，经费{N}元。",
  "用户想明年去{L}和{L}，再从{L}回国。",
  "给{KIN}{P}写了生日贺卡，下周寄到{L}。",
  "{P}的孩子在{O}读初二，家长会在周四晚上。",
  "{L}的{O}周末要排队四十分钟，用户更喜欢{L}那家。",
  "{O}报道说{L}今年游客少了不少。",
  "{P}在{O}干了三年，下个月去{O}的{L}基地。",
  "{P}飞{L}，待八周，{O}报销机票。",
  "{O}里{P}说，月底之前要把问卷收齐。",
  "{O}说下周公布新的目录，{P}在跟进。",
  "{O}的护士{P}下周二飞{L}。",
  "{O}把洗牙约在下周二，{P}陪用户去。",
  "{L}的雪量计电池由{P}负责更换。",
  "从{L}到{L}的路线{N}公里，{P}说要走六个小时。",
  "用户坐夜班大巴从{L}到{L}，票价{N}元。",
  "{P}在{L}花{N}元买了三公斤干果，{O}负责发货。",
  "{O}在{L}报价{N}元，{P}觉得偏高。",
  "{P}和{P}下个月到{L}，坐早上的火车去{L}。",
  "用户的签证在{O}递交，{P}陪同。",
  "{O}的客服{P}说退款三天到账。",
  "{P}带{O}的参观团去{L}，一共{N}人。",
  "{O}卖的蜂蜜{N}元一瓶，{P}买了两瓶。",
  "{O}每周二给{L}的酒吧送生啤。",
  "{P}只在下午接电话，上午在{O}上课。",
  "{L}那边的{O}说配件要等两周。",
  "用户租了{L}的房子，押金{N}元打给了{O}。",
  "{P}说{L}附近新开了一家{O}，味道不错。",
  "{O}和{O}在{L}签了合作协议。",
  "{P}去{L}出差，顺路看看{O}的工厂。",
  "{O}的{P}女士确认货已经发往{L}。",
  "{P}明天在{L}的{O}面试。",
  "去{L}的航班延误了，{P}改签了{O}的下一班。",
  "{P}推荐用{O}做待办，{P}更喜欢{O}。",
  "{P}坐{O}从{L}飞{L}。",
  "{O}的{P}主任说手术排在下周。",
];

/** `count` synthetic Chinese labelled texts whose names are built from shapes (see the file's comment), from a seed. */
export function syntheticChineseTexts(count: number, seed = 11): LabelledText[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chars = (from: string, n: number) => Array.from({ length: n }, () => pick([...from])).join("");
  const singles = [...ZH_SINGLE_SURNAMES];
  const cities = zhPlaceNames().filter((p) => p.length <= 3);
  const given = () => chars(GIVEN, random() < 0.35 ? 1 : 2);
  const person = (): string => {
    const r = random();
    if (r < 0.55) return `${random() < 0.06 ? pick(ZH_COMPOUND_SURNAMES) : pick(singles)}${given()}`;
    if (r < 0.63) return `${pick(TIBETAN)}${pick(TIBETAN)}`;
    if (r < 0.7) return random() < 0.5 ? `${pick(UYGHUR)}${random() < 0.5 ? "" : pick(UYGHUR)}` : pick(UYGHUR);
    if (r < 0.74) return pick(MONGOL);
    if (r < 0.78) return `阮${random() < 0.5 ? "氏" : "文"}${given()}`;
    if (r < 0.84) return `${pick(singles)}${pick(TITLES)}`;
    if (r < 0.9) {
      const c = chars(GIVEN, 1);
      return random() < 0.5 ? `${c}${c}` : `${random() < 0.5 ? "小" : "阿"}${c}`;
    }
    return chars(TRANSLIT, 2 + Math.floor(random() * 2));
  };
  const stem = () => chars(PLACE_CHARS, 2);
  const place = (): string => {
    const r = random();
    if (r < 0.35) return pick(cities);
    if (r < 0.7) return `${stem()}${pick(PLACE_ENDS)}`;
    if (r < 0.82) return chars(PLACE_CHARS, 2 + Math.floor(random() * 2));
    return chars(TRANSLIT, 2 + Math.floor(random() * 3));
  };
  const org = (): string => {
    const r = random();
    const city = pick(cities);
    if (r < 0.15) return `${city}${pick(INDUSTRY)}`;
    if (r < 0.3) return `${random() < 0.5 ? city : stem()}${pick(INDUSTRY)}${pick(ORG_ENDS)}`;
    if (r < 0.42) return `${chars(ORG_CHARS, 2)}${pick(ORG_ENDS)}`;
    if (r < 0.55) return `${random() < 0.4 ? city : chars(ORG_CHARS + GIVEN, 2)}${pick(SHOP_ENDS)}`;
    if (r < 0.63) return `${chars(ORG_CHARS, 2)}${pick(APP_ENDS)}`;
    if (r < 0.7) return `${random() < 0.5 ? city : chars(ORG_CHARS, 2)}${pick(MEDIA_ENDS)}`;
    if (r < 0.78) return `${city}${random() < 0.5 ? "市" : ""}第${pick([..."一二三四五六七八九"])}人民医院`;
    if (r < 0.83) return `${chars(TRANSLIT, 2)}驻${city}总领事馆`;
    if (r < 0.92) return `${place()}${chars(ORG_CHARS, 2)}${pick(["合作社", "中心", "俱乐部", "工作室", "基地"])}`;
    return `${chars(ORG_CHARS, 2)}${pick(["集团", "科技", "物流", "银行"])}`;
  };
  const texts: LabelledText[] = [];
  for (let i = 0; i < count; i++) {
    const entities: { type: EntityType; text: string }[] = [];
    const text = pick(FRAMES).replace(/\{(P|O|L|N|KIN)\}/g, (_, slot: string) => {
      if (slot === "N") return String(2 + Math.floor(random() * 990));
      if (slot === "KIN") return pick(KIN);
      const type: EntityType = slot === "P" ? "person" : slot === "O" ? "organization" : "place";
      const name = slot === "P" ? person() : slot === "O" ? org() : place();
      entities.push({ type, text: name });
      return name;
    });
    texts.push({ text, entities });
  }
  return texts;
}
