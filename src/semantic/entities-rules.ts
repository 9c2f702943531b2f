import { createRequire } from "node:module";
import type { Entity, EntityExtractor, EntityType } from "./entities.js";

const require = createRequire(import.meta.url);

/**
 * Entity extraction with no model: patterns for the formats (emails, URLs and URIs, paths,
 * versions, hashes, ticket ids, dates and times, durations, money, quantities with units,
 * numbers, code identifiers) and small gazetteers plus context cues for people, organisations and
 * places, in English and Chinese. Overlapping matches are resolved by rule priority, then by
 * length. `entities-nlp.ts` adds people, organisations and places found by NLP libraries.
 */
export const ruleEntityExtractor: EntityExtractor = {
  name: "rules",
  extract(text) {
    return resolveOverlaps(ruleCandidates(text));
  },
};

/** A candidate span with its rule's priority: lower wins an overlap, then the longer span. */
export type Candidate = Entity & { priority: number };

/** Every span the rules find, overlapping ones included, with their priorities. */
export function ruleCandidates(text: string): Candidate[] {
  const found: Candidate[] = [];
  RULES.forEach((rule, priority) => {
    for (const match of text.matchAll(rule.pattern)) {
      const span = rule.span ? rule.span(match) : { start: match.index, text: match[0] };
      const trimmed = trimTrailing(span.text, rule.type);
      if (trimmed === "" || (rule.accept && !rule.accept(trimmed, text, span.start))) continue;
      const type = rule.type === "code" && rule.classify ? classifyQuoted(trimmed) : rule.type;
      found.push({ type, text: trimmed, start: span.start, end: span.start + trimmed.length, priority });
    }
  });
  // A section's number is neither a release nor a number (nor a number inside it).
  const sections = sectionNumbers(text);
  const kept = sections.length === 0 ? found : found.filter((c) => !((c.type === "version" || c.type === "number") && sections.some((s) => s.start <= c.start && c.end <= s.end)));
  return kept.concat(versionSiblings(text, kept));
}

/**
 * Dotted numbers that number a part of a document, not a release or a quantity: after a word of
 * sections ("Section 2.7.2", "§ 4.1", "第 3.2 节"), or a heading's number, starting a line with a
 * full stop and a word after it ("9.4.2. The scheduling priority", "4.1. 一般的 Unix 认证").
 */
export function sectionNumbers(text: string): { start: number; end: number }[] {
  const spans: { start: number; end: number }[] = [];
  for (const pattern of [SECTION_AFTER_WORD, SECTION_HEADING]) for (const m of text.matchAll(pattern)) spans.push({ start: (m.index as number) + m[0].length - (m[1] as string).length, end: (m.index as number) + m[0].length });
  return spans;
}

const SECTION_AFTER_WORD = /(?:\b(?:[Ss]ections?|[Ss]ect\.|[Cc]hapters?|[Cc]h\.|[Aa]ppendix|[Ss]teps?|[Ff]igures?|[Ff]ig\.|[Tt]ables?|[Pp]aragraphs?|[Cc]lauses?|[Pp]art)|§|第)\s?(\d+(?:\.\d+)+)(?![\w.]*\d)/g;
const SECTION_HEADING = /^[ \t]*(\d+(?:\.\d+)+)(?=\.[ \t]+\p{L})/gmu;

/** Between a version and the next release it names: "Ruby 3.2 to 3.3", "React 18，别升级到 19". */
const VERSION_LINK = /^\s*[,，;；]?\s*(?:(?:and|or|then|but not|not|vs\.?)\s)?(?:to|and|or|vs\.?|→|->|(?:别|不要|再)?(?:升级|升|降级|降|换)?到|或|和)\s*$/u;

let productNamed: RegExp | undefined;
const RELEASE_WORD = /升级|升到|降到|降级|版本|回退|upgrad|downgrad|\bbump|\brequires?\b|\bneeds? at least|\bminimum\b|要求|\breleases?\b|\bpinned\b/iu;
let productJustBefore: RegExp | undefined;
const RELEASE_REQUIRE = /(?:\bat least|\brequires?|\brequired|\bminimum(?: of)?|\bmin\.?|\b(?:upgrad|downgrad)(?:e|ed|es|ing) to|\bbump(?:ed|s)? to|\bpinned (?:to|at)|\bmoved? to|要求|至少|最低|(?:升级|降级|回退|升|降)到了?)\s?$/iu;
const RELEASE_BEFORE = (before: string): boolean =>
  RELEASE_REQUIRE.test(before) || (productJustBefore ??= new RegExp(`(?:^|[^\\w.])(?:${RUNTIMES})\\s?[\\p{Script=Han}\\s]{0,6}$`, "iu")).test(before);
const RELEASE_TEXT = (text: string): boolean => RELEASE_WORD.test(text) && (productNamed ??= new RegExp(`(?:^|[^\\w.])(?:${RUNTIMES})(?![\\w])`, "iu")).test(text);

/**
 * Numbers that are versions by their neighbours: one linked to a version ("1.15 to 1.16"), or a
 * dotted number in a text with a dotted version or about a product's releases ("Python 3.11 …; 3.9 breaks").
 */
function versionSiblings(text: string, found: readonly Candidate[]): Candidate[] {
  const versions = found.filter((c) => c.type === "version" && /^v?\d+(?:\.\d+)*$/.test(c.text));
  const siblings: Candidate[] = [];
  const insideLonger = longerSpanAround(found.filter((o) => o.type !== "number" && o.type !== "version"));
  // Whether the whole text is about releases: asked once (per number, a text of many numbers was quadratic).
  let releaseText: boolean | undefined;
  for (const c of found) {
    if (c.type !== "number" || !/^\d+(?:\.\d+)*$/.test(c.text)) continue;
    // A number inside a duration, quantity or amount ("3.5 hours") is that, not a version.
    if (insideLonger(c)) continue;
    const linked = versions.some((v) => v.end <= c.start && VERSION_LINK.test(text.slice(v.end, c.start)));
    // A dotted number in a text about releases (beside another dotted version, or naming a product with a word of upgrading or
    // requiring), and only where its own words make it a release: right after a word of requiring or moving to a release
    // ("needs at least 5.7", "升级到 7.2"), or after the product's name with a few Chinese characters between ("Redis 集群从 6.2").
    // A number the sentence uses otherwise ("loads dropped from 2.4 to 1.8 seconds", "my GPA went from 3.1 to 3.6") is a number.
    const dotted = /^\d+\.\d+(?:\.\d+)?$/.test(c.text) && !/^0\./.test(c.text);
    const major = dotted && (versions.some((v) => v.text.includes(".")) || (releaseText ??= RELEASE_TEXT(text))) && RELEASE_BEFORE(text.slice(Math.max(0, c.start - 40), c.start));
    if (linked || major) siblings.push({ ...c, type: "version", priority: versions[0]?.priority ?? 0 });
  }
  return siblings;
}

/**
 * Whether a longer span of `spans` holds a given one (starts at or before it and ends at or after it): by binary search
 * over the spans in order of start with the furthest end so far (testing each span was quadratic in a text of numbers).
 */
function longerSpanAround(spans: readonly { start: number; end: number }[]): (inner: { start: number; end: number }) => boolean {
  const ordered = [...spans].sort((a, b) => a.start - b.start);
  const furthest: number[] = [];
  for (const span of ordered) furthest.push(Math.max(span.end, furthest.at(-1) ?? -1));
  /** The furthest end of the spans starting before `position` (or at it, with `atToo`); -1 for none. */
  const furthestEnd = (position: number, atToo: boolean): number => {
    let low = 0;
    let high = ordered.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      const start = (ordered[mid] as { start: number }).start;
      if (start < position || (atToo && start === position)) low = mid + 1;
      else high = mid;
    }
    return low === 0 ? -1 : (furthest[low - 1] as number);
  };
  // Longer: from the same start it must end later; from an earlier start, ending where the inner one ends is enough.
  return (inner) => furthestEnd(inner.start, true) > inner.end || furthestEnd(inner.start, false) >= inner.end;
}

interface Rule {
  type: EntityType;
  pattern: RegExp;
  /** The part of the match that is the entity; defaults to the whole match. */
  span?: (match: RegExpMatchArray) => { start: number; text: string };
  accept?: (entity: string, text: string, start: number) => boolean;
  /** Quoted code: typed by what it holds (a path, a version, a URL…), `code` otherwise. */
  classify?: boolean;
}

const MONTHS = "Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?";
const MONTH_NAMES = "January|February|March|April|May|June|July|August|September|October|November|December";
const ZH_DIGITS = "[0-9０-９一二三四五六七八九十两]";
const ZH_DAYPART = "(?:上午|下午|晚上|凌晨|中午|早上|傍晚)";

export const FIRST_NAMES: ReadonlySet<string> = new Set(
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
/** Words that start sentences or requests, not names: "Ping Helios Energy", "Ask Ana". */
const LEAD_WORDS = new Set(
  `Ping Email Mail Call Ask Tell Met Meet Visit Contact Yesterday Tomorrow Today Also Then Per Via Both With By Thanks Invite Remind Pay Paid Send Sent
   Check Review Talked Spoke Called Booked Book Signed Sign Cancel Renew Renewed Moved Joined Join Left Including Maybe Note Update Updated Confirm Confirmed
   Vendor Supplier Client Customer Partner Contractor Wire Transfer Invoice Bill Charge Refund Quote`.split(/\s+/),
);
const ORG_SUFFIX =
  "GmbH|Inc\\.?|Ltd\\.?|LLC|Corp\\.?|Corporation|AG|SE|SA|S\\.A\\.|BV|B\\.V\\.|PLC|Co\\.|Company|Foundation|University|Institute|Bank|Labs?|Group|" +
  "Energy|Systems|Technologies|Software|Solutions|Networks|Logistics|Analytics|Robotics|Partners|Holdings|Capital|Ventures|Airlines|Airways|Pharma|" +
  "Pharmaceuticals|Therapeutics|Insurance|Traders|Industries|Consulting|Studios|Media|Motors|Telecom|Semiconductors?|Hospital|Clinic|College|Agency|Council|Ministry|" +
  "Health|Healthcare|Foods?|Trust|Bio|Biotech|Electric|Power|Press|Games|Security|Digital|Retail|Markets|Electronics|Devices|Instruments|Dynamics|Aerospace|" +
  "Automotive|Shipping|Freight|Realty|Properties|Hotels?|Resorts|Associates|Brothers|Collective|Cooperative|Union|Society|Association|Federation|Fund|" +
  "Academy|Museum|School|Bakery|Coffee|Kitchen|Design|Architects|Partners|Records|Publishing|Cloud|Data|Works|Service|Services|Trading|Imports|Exports|" +
  "Legal|Law|Advisory|Advisors|Consultants|Accounting|Maritime|Marine|Ferries|Lines|Construction|Manufacturing|Engineering|Energie|Pharmacy|Dental|Medical|" +
  "Textiles|Chemicals|Steel|Mining|Farms|Brewery|Brewing|Wines|Outfitters|Supply|Supplies|Rentals|Travel|Tours|Transport|Bank|Credit|Finance|Financial|Labs|Interactive|Entertainment|Pictures|Films|Animation|Maschinenbau|Gruppe|Technik|" +
  "Grains|Mills|Couriers|Plastics|Microfinance|Fintech|Solar|Seguros|Kogyo|Shoji|Sangyo|Bakeries|Breweries|Textil|Werke|Verlag|Conseil|Ingenierie|Agro|Farm|Dairy|Cosmetics|Apparel|Furniture|Printing|Packaging|Payments|Pay|Bancorp";
const KNOWN_ORGS = "UPS|FedEx|DHL|USPS|DPD|GLS|TNT|Royal Mail|Canada Post|Australia Post|Google|Microsoft|OpenAI|Apple|Amazon|Meta|Debian|GitHub|Mozilla|Alibaba|Tencent|Baidu|Huawei|Lufthansa|Anthropic|Nvidia|IBM|Oracle|Netflix|Ollama";
const KNOWN_PLACES =
  "Berlin|Munich|Hamburg|London|Paris|Madrid|Rome|Vienna|Zurich|Amsterdam|Shanghai|Beijing|Shenzhen|Hangzhou|Hong Kong|Tokyo|Seoul|Singapore|New York|San Francisco|" +
  "Seattle|Boston|Chicago|Toronto|Sydney|Pudong|People's Square|Germany|China|Japan|France|Spain|Italy|Canada|Australia|India|Europe|Asia|USA|United States|United Kingdom";
const ZH_PLACES =
  "北京|上海|广州|深圳|杭州|南京|成都|武汉|西安|天津|重庆|苏州|香港|台北|浦东|人民广场|慕尼黑|柏林|伦敦|巴黎|东京|纽约|首尔|新加坡|中国|德国|美国|日本|英国|法国|欧洲|亚洲";
const ZH_SURNAMES =
  "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
/** A Han character that is not a common function word, so a name cannot swallow "在", "和", "的"… */
const ZH_CONTENT = "(?:(?![在和与的了去问是把被向从住们我他她它这那说到给对往])\\p{Script=Han})";
/** Characters that may follow a Chinese name (role brackets, punctuation, common verbs). */
const ZH_AFTER_NAME = "（(，,、：:。；;负说去问和与在将把的对来也已会要写提起答";

const URI_SCHEMES = "https?|s3|s3a|gs|az|abfss?|wasbs?|hdfs|ftp|sftp|ssh|git|file|wss?|redis|rediss|postgres(?:ql)?|mysql|mongodb(?:\\+srv)?|amqps?|kafka|nats|grpc|ipfs|docker|oci";
/** ISO 4217 (the currency-codes package) and RMB, less the precious metals and test codes (X…) and the codes that are mostly English words or acronyms. */
const CURRENCY_CODES = ["RMB", ...(require("currency-codes") as { codes(): string[] }).codes()]
  .filter((code) => !/^X/.test(code) && !/^(?:ALL|TOP|CUP|SOS|MAD|PEN|TRY|CVE|GEL|BOB|BAM|MOP|CUC|STN|SHP|ERN|TMT)$/.test(code))
  .join("|");
const CURRENCY_SYMBOL = "US\\$|A\\$|C\\$|HK\\$|S\\$|R\\$|[$€£¥￥₹₩]";
const MONEY_NUMBER = "\\d(?:[\\d,]{0,30}\\d)?(?!,?\\d)(?:\\.\\d+)?(?:\\s?(?:k|K|m|M|bn|mn|million|billion|thousand|万|亿))?";
const FILE_EXTENSIONS =
  "ts|tsx|js|jsx|mjs|cjs|py|ipynb|json|jsonl|md|txt|ya?ml|toml|ini|cfg|conf|env|lock|log|sh|bash|ps1|go|rs|c|h|cc|cpp|hpp|java|kt|swift|rb|php|cs|" +
  "scala|lua|sql|db|sqlite|arrow|parquet|csv|tsv|xml|html?|css|scss|vue|svelte|proto|pdf|docx?|xlsx?|pptx?|png|jpe?g|gif|svg|webp|zip|gz|tgz|tar|bz2|xz|" +
  "zst|wasm|gguf|safetensors|onnx|bin|pt|ckpt|pem|crt|key|service|tf|tfvars|gradle|mod|sum|patch|diff|bak|tmp|pid|sock|srt|vtt|mp3|mp4|wav|mov|mkv|" +
  "epub|rtf|odt|ics|vcf|p12|jks|whl|deb|rpm|apk|dmg|exe|msi|iso|img|so|dll|dylib|jar|war|faiss|npy|npz|pkl|h5|spec\\.ts";
const PATH_SEGMENT = "\\.?[\\w@+-][\\w.@+-]*";
const UNIT_BYTES = "[KMGTPE]i?B/s|[KMGTPE]i?B|[KMGT]b|bytes?|bits?|[KMG]bps|[KMG]bit/s|TBW";
const UNITS =
  `(?:square|cubic|sq\\.?)\\s(?:metres?|meters?|feet|foot|kilometres?|kilometers?|miles?|yards?|m|ft|km)|${UNIT_BYTES}|[kKMG]?Hz|[kKMG]W(?:h)?|W|Wh|mAh|Ah|inch(?:es)?|kV|V|°[CF]|℃|km/h|m/s|km/s|mph|km|cm|mm|nm|m|mi|miles?|ft|feet|kg|mg|g|lbs?|ml|mL|L|liters?|litres?|` +
  "px|dpi|fps|rpm|rps|qps|QPS|req/s|requests/s(?:ec)?|ops/s|tok/s|tokens/s|[a-z]{3,12}/s(?:ec)?|L/100\\s?km|tokens?|kilometers?|kilometres?|meters?|metres?|kilograms?|grams?|tonnes?|tons?|lumens|lm|lux|dB|psi|kPa|hPa|Pa|bar|mmHg|mg/dL|mmol/L";
const DURATION_UNITS = "ms|milliseconds?|µs|us|ns|s|secs?|seconds?|min|mins|minutes?|h|hrs?|hours?|d|days?|nights?|wks?|weeks?|months?|yrs?|years?";
const NUMBER_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|a couple of|a few|several|half an?";
const ZH_NUMBER = "(?:\\d+(?:\\.\\d+)?|[一二三四五六七八九十两百几]+)";
const ZH_DURATION_UNIT = "(?:毫秒|秒钟?|分钟|个半小时|个半钟头|个?小时|个?钟头|个?工作日|天|晚(?!上)|夜(?!里|间)|个?星期|周|个半月|个月|年)";
const ZH_UNITS = "[行条次个件]\\s?/\\s?秒|[行条次个件]每秒|流明|分贝|公里每小时|公里/小时|米每秒|公里|千米|厘米|毫米|米|公斤|千克|毫克|微克|克|斤|吨|毫升|升(?![到级])|摄氏度|度|千瓦时|千瓦|瓦|平方米|平米|兆";
/** Words that make a text about code or data: a method call, backticks, SQL, a database or its parts. */
const CODE_TEXT = /`|\w\(\)|\b(?:SQL|SELECT|INSERT|UPDATE|JOIN|WHERE|query|queries|database|DB|schema|migrations?|primary key|foreign key|PostgreSQL|Postgres|MySQL|SQLite|MongoDB|ORM)\b|数据库|迁移|主键|外键|查询|索引|字段|SQL/u;
const RUNTIMES =
  "Node\\.js|Node|Python|Java|Golang|Go|Rust|Ruby|PHP|Perl|PostgreSQL|Postgres|MySQL|MariaDB|Redis|SQLite|Ubuntu|Debian|Fedora|CentOS|Alpine|Kubernetes|Docker|Chrome|Firefox|Safari|" +
  "iOS|Android|macOS|Windows|TypeScript|React|Angular|Vue|Django|Rails|Spring|Kafka|Elasticsearch|Terraform|CUDA|GCC|Clang|LLVM|OpenSSL|nginx|Electron|Deno|Bun|npm|pnpm|Xcode|Gradle|\\.NET|C\\+\\+";

// Earlier rules win overlaps; within a rule, longer matches win.
export const RULES: readonly Rule[] = [
  { type: "url", pattern: new RegExp(`\\b(?:${URI_SCHEMES}|[a-z][a-z0-9+.-]{1,15}):\\/\\/[^\\s<>"'）】」，。；、：（！？\\u3400-\\u9fff]+|\\bwww\\.[^\\s<>"'）】」，。；、：（！？\\u3400-\\u9fff]+|\\bgit@[\\w.-]+:[\\w./~-]+`, "g") },
  // A host name with a path and maybe a tag, no scheme: "ghcr.io/acme/worker:2.3.0", "docs.example.com/guide".
  { type: "url", pattern: /(?<![\w./@-])(?:[a-z0-9-]+\.)+(?:[a-z]{2,})(?::\d{2,5})?\/[\w.\/~%-]*[\w\/](?::[\w.-]*\w)?/g },
  // Bounded runs (an address's local part is at most 64 characters), starting where the run does: an unbounded one is
  // tried from every position of a long word without "@" to its end (120 KB of "x" held a server's event loop 8 s), and
  // a bounded one without the start would take the last 64 characters of a longer run.
  { type: "email", pattern: /(?<![\w.+-])[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+/g },
  // A host name written as such, no scheme or path: "api.example.com", "db.internal:5432" (a common top-level domain, two dots or a port).
  { type: "url", pattern: /(?<![\w.@\/:-])(?:[a-z0-9-]+\.){1,4}(?:com|org|net|io|dev|app|ai|cn|de|uk|fr|nl|jp|eu|us|co|info|cloud|internal|local|lan|corp|tech|xyz)(?::\d{2,5})?(?![\w@\/-]|\.\w)/g, accept: (host) => host.split(".").length >= 3 || /:\d+$/.test(host) || /\.(?:com|org|net|cn|internal|local)$/.test(host) },
  { type: "code", pattern: /`([^`\n]+)`/g, span: (m) => ({ start: (m.index as number) + 1, text: m[1] as string }), classify: true },
  { type: "id", pattern: /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi },
  { type: "url", pattern: /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{2,5})?(?![\w.]*\d)/g },
  { type: "datetime", pattern: /(?<!\/)\b\d{4}-\d{2}-\d{2}(?![\/\d])(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?(?:\s?(?:UTC|CET|CEST|GMT))?/g },
  // docs/ENTITIES.md: a position within a month, week or year is part of the date ("the end of May" → `end of May`; the article stays outside).
  { type: "datetime", pattern: new RegExp(`\\b(?:(?:the\\s)?(?:very\\s)?(?:end|beginning|start|middle|first half|second half|(?:first|second|third|fourth|last) week|first days?|last days?)\\sof\\s(?:(?:${MONTH_NAMES})(?:\\s\\d{4})?|(?:next|this|last|the)\\s(?:week|month|year|quarter))|(?:early|mid|late)[\\s-](?:${MONTH_NAMES})(?:\\s\\d{4})?)\\b`, "g"), span: (m) => { const lead = /^the\s/.exec(m[0])?.[0].length ?? 0; return { start: (m.index as number) + lead, text: m[0].slice(lead) }; } },
  { type: "datetime", pattern: /\b(?:(?:next|last|this|coming)\s(?:week|month|year|quarter|weekend|spring|summer|autumn|fall|winter)|weekend|(?:this|tomorrow|yesterday)\s(?:morning|afternoon|evening|night)|end of (?:the )?(?:day|week|month|year|quarter|sprint|term|semester))\b/gi },
  // Set 16's decisions (docs/ENTITIES.md): "3rd of March", "last February", "Sunday after next", noon / overnight, quarters, school holidays, 十一国庆, 上月.
  { type: "datetime", pattern: new RegExp(`\\b\\d{1,2}(?:st|nd|rd|th)\\sof\\s(?:${MONTH_NAMES})(?:,?\\s\\d{4})?\\b|\\b(?:last|next|this|early|late|mid-?)\\s?(?:${MONTH_NAMES})\\b|\\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day after next\\b|\\b(?:noon|midnight|overnight)\\b|\\bQ[1-4](?:\\s(?:19|20)\\d{2})?\\b|十一国庆|暑假|寒假|上个?月(?![底初中末\\d一二三四五六七八九十])`, "g") },
  { type: "datetime", pattern: new RegExp(`\\b(?:${MONTHS})\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?(?:,?\\s+\\d{4})?\\b|\\b\\d{1,2}\\s+(?:${MONTHS})(?:\\s+\\d{4})?\\b|\\b(?:${MONTHS})\\s+\\d{4}\\b`, "g") },
  { type: "datetime", pattern: /\b(?:January|February|March|April|June|July|August|September|October|November|December)\b/g },
  { type: "datetime", pattern: /\b(?:(?:next|last|this)\s+)?(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day(?:s)?|today|tomorrow|yesterday)(?:\s(?:morning|afternoon|evening|night)s?)?\b|\b(?:tonight|last night|weekends|weekdays)\b/gi },
  {
    type: "datetime",
    pattern: new RegExp(
      `\\d{4}\\s?年\\s?${ZH_DIGITS}{1,2}\\s?月(?:\\s?${ZH_DIGITS}{1,3}\\s?[日号])?|${ZH_DIGITS}{1,2}\\s?月\\s?${ZH_DIGITS}{1,3}\\s?[日号]|${ZH_DIGITS}{1,3}\\s?[日号](?=[至到])|(?<=[至到])${ZH_DIGITS}{1,3}\\s?[日号]|` +
        `(?:农历|阴历)?(?:(?:明|今|去|前|后)年\\s?)?(?<![个\\d])(?:1[0-2]|[1-9]|十[一二]?|[一二三四五六七八九]|正|腊)\\s?月(?:份(?![\\d个])|底|初[一二三四五六七八九十]?|[上中下]旬|第[一二三四五1-5](?:周|个星期)|廿[一二三四五六七八九]|十[一二三四五六七八九])?(?![份\\d个])`,
      "g",
    ),
  },
  {
    type: "datetime",
    pattern: new RegExp(
      `(?:${ZH_DAYPART}\\s?${ZH_DIGITS}{1,2}[:：]\\d{2}|${ZH_DAYPART}?\\s?(?<![小快慢多少好大高低些])${ZH_DIGITS}{1,3}\\s?点(?:\\s?${ZH_DIGITS}{1,3}\\s?分|半|[二三四五]十[一二三四五六七八九]?(?!分钟|个|块|元|[0-9]))?|${ZH_DAYPART})`,
      "g",
    ),
  },
  // docs/ENTITIES.md: days of the month alone (22号), years (1956年, in 2025), seasons and holidays are dates.
  { type: "datetime", pattern: /(?:下个?月|这个?月|本月|上个?月)?(?<![\d.])(?:[12]?\d|3[01]|[一二三四五六七八九十]{1,3})\s?号(?![码楼线院室房位厅台车口机])|(?<![\d.])(?:19|20)\d{2}\s?年(?![\d代级度])|(?:今|明|去|前|后)年(?:的)?(?:春天|夏天|秋天|冬天|春季|夏季|秋季|冬季)|(?:(?:今|明|去|前|后)年)?(?:双十一|双十二|春节|元旦|清明节?|端午节?|中秋节?|国庆节?|除夕|元宵节?|七夕|重阳节?|圣诞节?|劳动节|斋月|开斋节|感恩节|复活节|万圣节|情人节|母亲节|父亲节|儿童节|教师节|腊八节?)|(?:今年|明年|去年|前年)(?![\d一二三四五六七八九十]|\s?\d|底|初)|双十一|双十二|春节|元旦|清明(?:节)?|端午(?:节)?|中秋(?:节)?|国庆(?:节|假期|长假)?|除夕|元宵(?:节)?|七夕|重阳(?:节)?|圣诞(?:节)?|劳动节|五一(?:假期|长假)?/gu },
  { type: "datetime", pattern: /(?<=\b(?:in|since|by|until|till|from|before|after|during|of|early|late|mid)\s)(?:19|20)\d{2}\b(?![\d.,%-]|\s?(?:%|[A-Za-z]))|(?<=\b(?:the|on)\s)(?:[12]?\d|3[01])(?:st|nd|rd|th)\b(?!\s(?:floor|place|time|row|grade|century|anniversary|birthday|edition|percentile|round|attempt|day|week|month|year|hour|minute))|\b(?:(?:next|last|this)\s)?(?:spring|summer|autumn|winter)\b|\b(?:Christmas(?:\sEve)?|New Year['’]s(?:\sEve|\sDay)?|Easter|Thanksgiving|Halloween)\b/g },
  { type: "datetime", pattern: /(?:下|上|这|本)?(?:周|星期|礼拜)[一二三四五六日天末]|今天|明天|后天|昨天|前天|今晚|昨晚|明早|(?<!\d\s?|个)工作日|(?:(?:今|明|去)年)?(?:年底|年初)|月底|月初|月中|下周|上周|这周|本周|下个月(?:底|初)?|上个月(?:底|初)?|这个月|本月|(?:下|上|这)个星期[一二三四五六日天]?|\b(?:UTC|GMT)[+-]\d{1,2}(?::\d{2})?/g },
  { type: "datetime", pattern: /(?<![\d.年月])(?:[12]?\d|3[01])\s?日(?![本语元文常期志记用子程])/g },
  { type: "datetime", pattern: /\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?(?:am|pm|AM|PM))?(?:\s?(?:UTC|CET|CEST|GMT|PST|PDT|EST|EDT|CST|IST|JST|KST|BST|SGT|HKT|AEST|[A-Z]{1,4}T)(?![\w-]))?(?!\d)|\b\d{1,2}\s?(?:am|pm)\b/g },
  // "2027/INV/0419": a year, letters and a serial with slashes is an invoice number, not a path.
  { type: "id", pattern: /(?<![\w\/])(?:19|20)\d{2}\/[A-Z]{2,6}\/\d{2,}(?![\w\/])/g },
  { type: "path", pattern: /(?<![A-Za-z0-9_])[A-Z]:\\(?:[\p{L}\p{N}_.@+ -]+\\)*[\p{L}\p{N}_.@+-]+/gu },
  // A file name in Chinese characters with an extension ("姓名_学号.pdf"), standing apart from the sentence (after a space, a colon or a quote).
  { type: "path", pattern: new RegExp(`(?<=^|[\\s:：“"'(（])[\\p{L}\\p{N}_-]{0,64}\\p{Script=Han}[\\p{L}\\p{N}_-]{0,64}\\.(?:${FILE_EXTENSIONS})(?![\\w.])`, "gu") },
  // A branch name after "branch" / "分支": code, not a path or a version.
  { type: "code", pattern: /(?<=\b(?:branch|branches)\s(?:is\s|named\s|from\s|to\s)?|分支(?:是|叫)?\s?)[\w.-]+(?:\/[\w.-]*[\w-])+/g },
  {
    type: "path",
    pattern: new RegExp(`(?<![\\w/:.@\\\\-])(?:~|\\.{1,2})?(?:\\/${PATH_SEGMENT})+\\/?|(?<![\\w/:.@\\\\-])${PATH_SEGMENT}(?:\\/${PATH_SEGMENT})+\\/?`, "g"),
    accept: (path) => {
      if (/^[\d/.,-]+$/.test(path)) return false;
      if (/^(?:~|\.{1,2})?\//.test(path)) return path.length > 2;
      const slashes = path.replace(/\/$/, "").split("/").length - 1;
      return new RegExp(`\\.(?:${FILE_EXTENSIONS})$`, "i").test(path) || slashes >= 2 || (path.endsWith("/") && slashes >= 0);
    },
  },
  // "node_modules/", "dist/": a folder named with its trailing slash.
  { type: "path", pattern: /(?<![\w\/:.@\\-])[\w.-]*[\w-]\/(?=\s|$|[,;:)，。；）])/g, accept: (path) => !/^\d+\/$/.test(path) && path.length > 2 },
  {
    type: "path",
    pattern: new RegExp(`(?<![\\w/.@-])[\\w-][\\w.-]*\\.(?:${FILE_EXTENSIONS})\\b(?![\\w/-])|\\b(?:Dockerfile|Makefile|Jenkinsfile|Procfile|Gemfile|Cargo\\.lock|README|LICENSE|CHANGELOG)\\b|(?<![\\w.])\\.(?:env|gitignore|dockerignore|npmrc|bashrc|zshrc)(?:\\.[\\w-]*\\w)?\\b`, "g"),
    accept: (name) => !/^[A-Z][a-z]+\.js$/.test(name) && !/^\d+(?:\.\d+)*$/.test(name),
  },
  { type: "version", pattern: /(?<![\w.-])v?\d+(?:\.\d+)?\.x(?!\w|\.\w)/g },
  { type: "version", pattern: /(?<![\w.-])v\d+(?:\.\d+){0,3}(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?(?:\+[\w.]+)?(?![\w.]*\d)|(?<![\w.-])\d+\.\d+\.\d+(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?(?:\+[\w.]+)?(?![\w.]*\d)/g },
  { type: "version", pattern: new RegExp(`(?<=\\b(?:[Vv]ersion|[Rr]elease|ver\\.|ver)\\s?|(?:版本号|版本)\\s?)\\d+(?:\\.\\d+)+(?![\\w.]*\\d)|(?<=(?:^|[^\\w.])(?:${RUNTIMES})\\s?)\\d+(?:\\.\\d+)+(?![\\w.]*\\d)|(?<=\\b(?:Node\\.js|Node|Python|Java|Ubuntu|Debian|iOS|iPadOS|watchOS|Android|macOS|Windows|PostgreSQL|Postgres|PHP|React|Angular|Vue|Chrome|Firefox|Safari|Edge|Xcode|Fedora|RHEL|Electron|Gradle|Kotlin|Swift|Perl|Ruby|Rails|Django|Spring|Kernel|Linux|Elixir|Erlang|Scala|Dart|Flutter|Next\\.js|Nuxt|Svelte|Laravel|Unity|Unreal|Java SE|JDK|OpenJDK|Node LTS|Excel|Office|Qt|Bootstrap|Tailwind|Webpack|Vite|Jest|ESLint|Prettier)\\s)\\d{1,3}(?![\\w%]|[.,]\\d)`, "g") },
  // A product written in lower case before its version ("mysql 8.0 -> 8.4", "redis 7.2"), the number right after the
  // name; a bare integer only after the software names below, never with a unit after it ("a python 3 metres long").
  { type: "version", pattern: new RegExp(`(?<=(?:^|[^\\w.])(?:${RUNTIMES})\\s?)v?\\d+(?:\\.\\d+)+(?![\\w.]*\\d|\\s?%)|(?<=(?:^|[^\\w.])(?:postgres|postgresql|python|ubuntu|debian|mysql|kubernetes|k8s|macos|ios|android|xcode|openjdk|jdk|centos|fedora|elasticsearch|node\\.js)\\s)\\d{1,3}(?![\\w%]|[.,]\\d|\\s?(?:${UNITS}|${DURATION_UNITS}|long|tall|wide|high|deep|old)(?![\\w/]))`, "gi") },
  {
    type: "hash",
    pattern: /(?<![\w-])(?:sha(?:1|256|512):)?[0-9a-f]{7,64}(?![\w-])/g,
    accept: (hash) => /\d/.test(hash) && /[a-f]/.test(hash.replace(/^sha\d+:/, "")),
  },
  // Ids in the forms of set 16's misses, none of its strings: digit groups joined by a hyphen ("7731-0092"), capitals and digits in three or more
  // hyphenated groups ("HT-8830-1927-QWLM"), a long run of capitals and digits ("1Z999AA10123456784"), a number with a leading zero ("01987342"),
  // a flight number after "flight" ("BA 287").
  { type: "id", pattern: /(?<![\w.\/#-])\d{4,}-\d{4,}(?![\w-])|(?<![\w#-])(?=[A-Z0-9-]*\d)[A-Z0-9]{2,}(?:-[A-Z0-9]{2,}){2,}(?![\w-])|(?<![\w-])(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*\d)[A-Z0-9]{10,}(?![\w-])|(?<![\w.,])0\d{5,}(?!\w|[.,]\d)|(?<=\b[Ff]light\s(?:no\.?\s|number\s)?)[A-Z0-9]{2}\s?\d{1,4}\b/g },
  // A train or flight number written in Chinese text (坐G7311, 乘CA1234次).
  { type: "id", pattern: /(?<=[\p{Script=Han}]\s?)(?:[GDCZTKY]\d{2,4}|[A-Z]{2}\d{3,4})(?=\s?[\p{Script=Han}，。,;；]|$)/gu },
  {
    type: "id",
    pattern: /(?<![\w-])[A-Z][A-Z0-9]{1,9}(?:-\d{2,})+(?:-[A-Z0-9]{1,3})?(?![\w-])|(?<![\w-])[A-Z]{2,6}(?:-(?=[a-z0-9]*\d)[a-z0-9]{4}){2,}(?![\w-])|(?<![\w-])\d{4}-[A-Z]{2,6}-\d{2,}(?![\w-])|(?<![\w&#!])[#!]\d{2,}(?:-\d+)*\b|\b[A-Z]{2,5}\d{3,}\b|\b(?=[A-Z0-9]{5,8}\b)(?=(?:[A-Z0-9]*[A-Z]){2})(?=[A-Z]*\d[A-Z0-9]*[A-Z])[A-Z0-9]{5,8}\b/g,
    accept: (id) => !/^(?:SHA|ISO|UTF|COVID|AES|RSA|HTTP|TLS|IEEE|MD|ECMA|ES)\b/.test(id.replace(/[-\d]+$/, "")) && !new RegExp(`^\\d+(?:${UNIT_BYTES}|[kKMG]?Hz|[kKMG]?Wh?|m?Ah|V)$`).test(id),
  },
  {
    type: "amount",
    pattern: new RegExp(
      // Not a run of "$" fields ("$1$salt$hash", a crypt password hash): "$" then digits is no money there.
      `(?:${CURRENCY_SYMBOL})\\s?${MONEY_NUMBER}(?![\\w$])|(?<![\\w.])(?:${CURRENCY_CODES})\\s?${MONEY_NUMBER}(?![\\w])|` +
        `(?<![\\w.])(?<!\\d,)${MONEY_NUMBER}\\s?(?:${CURRENCY_CODES}|dollars?|euros?|pounds sterling|yuan|yen|rupees?|pesos?|francs?|kronor|krona|kroner|krone|baht|ringgit|rand|dirhams?|shillings?|lira|reais|rubles?|roubles?|dong|rupiah)\\b|(?<![\\w.])(?<!\\d,)\\d[\\d,]{0,31}(?!,?\\d)(?:\\.\\d+)?\\s?[€£¥₹]`,
      "g",
    ),
  },
  { type: "amount", pattern: /(?<=(?:预算|费用|金额|报价|成本|价格|花了|付了|付款|营收|收入|工资|月薪|年薪)\s?)\d(?:[\d,]*\d)?(?:\.\d+)?\s?[万亿千](?![元美欧英日港])/g },
  { type: "amount", pattern: /\d(?:[\d,]*\d)?(?:\.\d+)?\s?(?:万|亿)?(?:元|美元|美金|欧元|英镑|日元|港币|港元|澳元|加元|新西兰元|纽元|新加坡元|新币|新台币|台币|韩元|泰铢|卢布|卢比|瑞郎|林吉特|越南盾|人民币|块钱)|人民币\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:万|亿))?元?/g },
  // "三千块", "一百块": money in speech in Chinese numerals (a ten, hundred, thousand or ten thousand in it, so not 一块蛋糕).
  { type: "amount", pattern: /[一二两三四五六七八九十]*[十百千万][一二两三四五六七八九十百千万]*块(?:钱)?(?![\p{Script=Han}])|[一二两三四五六七八九十]*[十百千万][一二两三四五六七八九十百千万]*块钱/gu },
  // "打车600块": money in speech (块 after a number, nothing Chinese after it but 钱).
  { type: "amount", pattern: /(?<![\w.])\d(?:[\d,]*\d)?(?:\.\d+)?\s?(?:万)?块(?=钱|[^\p{Script=Han}]|$)(?:钱)?/gu },
  {
    type: "duration",
    pattern: new RegExp(
      `(?<![\\w.])\\d+(?:\\.\\d+)?\\s?(?:${DURATION_UNITS})(?:\\s?(?:and\\s)?\\d+(?:\\.\\d+)?\\s?(?:${DURATION_UNITS}|m))*\\b(?!\\/)|\\b(?:${NUMBER_WORDS})[\\s-](?:seconds?|minutes?|hours?|days?|nights?|weeks?|months?|years?)\\b|\\bhalf an hour\\b|\\ban? (?:hour|day|week|month|year) and a half\\b|(?<!(?:per|once|twice|times|km|miles|mph|\\d)\\s)\\ban hour\\b|\\b\\d+(?:\\.\\d+)?-(?:second|minute|hour|day|night|week|month|year)\\b|\\bhalf[- ]day\\b|\\bhalf a day\\b|(?<![\\w.])\\d+\\s?(?:-|–|to)\\s?\\d+\\s?(?:seconds|minutes|hours|days|nights|weeks|months|years)\\b`,
      "g",
    ),
  },
  {
    type: "duration",
    pattern: new RegExp(`(?:${ZH_NUMBER}\\s?(?:到|至|-|~|～)\\s?)?${ZH_NUMBER}\\s?${ZH_DURATION_UNIT}(?:\\s?${ZH_NUMBER}\\s?(?:分钟|分|秒钟?))?|半(?:个)?(?:小时|钟头|天|个月|年)`, "g"),
    accept: (span) => !/^\d{4}\s?年$/.test(span) && !/^几/.test(span),
  },
  { type: "quantity", pattern: /(?<![\w.\/])\d{2,3}\/\d{2,3}\s?mmHg\b/g },
  // "a 65-inch set", "a 2-litre bottle": a number joined to its unit by a hyphen.
  { type: "quantity", pattern: /(?<![\w.-])\d+(?:\.\d+)?-(?:inch|foot|feet|metre|meter|litre|liter|mile|pound|ton|tonne|gallon|kg|km|cm|mm|gram)\b/g },
  { type: "quantity", pattern: new RegExp(`(?<![\\w.])(?<!\\d,)\\d(?:[\\d,]{0,30}\\d)?(?!,?\\d)(?:\\.\\d+)?[kKM]?\\s?(?:${UNITS})(?![\\w/])`, "g") },
  { type: "quantity", pattern: new RegExp(`(?:零下\\s?)?(?<![\\w.])(?<!\\d,)\\d(?:[\\d,]{0,30}\\d)?(?!,?\\d)(?:\\.\\d+)?\\s?(?:${ZH_UNITS})`, "g") },
  // "一公斤", "两公里", "三百毫升": numbers in Chinese numerals with a unit of several characters (or 斤, 吨), after no other Han character but a verb.
  { type: "quantity", pattern: /(?:(?<!\p{Script=Han})|(?<=[了买要称用走跑约近重有和与或元块]))(?:[一二两三四五六七八九十百千]+|半)(?:公斤|公里|千米|千克|毫升|厘米|毫米|平方米|平米|斤|吨|升(?![级到职学]))/gu },
  // A dotted number right after a product's name ("Elixir 1.15", "crate tokio 1.38") that no unit follows: a version.
  {
    type: "version",
    pattern: /(?<=(?:^|[^\w.])(?:\p{Lu}[\w+#.-]*|(?:crate|gem|package|library|module|plugin|extension|image|chart|kernel|firmware|driver)\s[\w.-]+)\s)v?\d+\.\d+(?:\.\d+)?(?![\w.%]|\s?(?:%|x\b|倍))/gu,
    accept: (_version, text, start) => {
      const word = /([\p{L}\w+#.-]+)\s$/u.exec(text.slice(Math.max(0, start - 40), start))?.[1] ?? "";
      return !NOT_NAMES.has(word) && !LEAD_WORDS.has(word) && !/^(?:CURRENCY|About|Around|Only|Just|Over|Under|Nearly|Almost|Roughly|Approximately|Score|Rating|Grade|Level|Page|Chapter|Section|Step|Phase|Tier|Room|Gate|Platform|Seat|Row)$/.test(word) && !new RegExp(`^(?:${CURRENCY_CODES})$`).test(word);
    },
  },
  // Commands with their argument, single-dash flags, class names of three or more words run together (docs/ENTITIES.md, set 16's decisions).
  { type: "code", pattern: /\b(?:npm|pnpm|yarn|pip3?|terraform|git|docker|kubectl|cargo|make|brew|apt(?:-get)?|helm|go|poetry|uv)\s(?:install|ci|plan|apply|init|run|build|test|push|pull|commit|rebase|merge|up|down|ps|logs|exec|get|destroy|update|upgrade|add|remove|publish|fmt|validate|stash|clone|checkout|status|describe|rollout)\b/g },
  { type: "code", pattern: /(?<=(?:^|\s))-[a-z]+(?:-[a-z]+)+(?=$|[\s=,;:)])/g },
  { type: "code", pattern: /\b[A-Z][a-z]+(?:[A-Z][a-z0-9]+){2,}\b/g },
  // A table, column or collection named like an identifier: snake_case always ("the user_events table", "order_items 表"); a plain
  // plural only in a text about code or data ("the refunds table" beside a method call or SQL word), never a dinner's "kids table".
  {
    type: "code",
    pattern: /(?<=\b(?:the|into|from)\s)[a-z][a-z0-9]*(?:_[a-z0-9]+|[a-z]s)(?=\s(?:table|column|collection)\b)|(?<![\w.])[a-z_][a-z0-9_]{2,}(?=\s?(?:表|字段|索引|数据表)(?!情|达|示|格|单|演|现|扬|态))/gu,
    accept: (name, text) => name.includes("_") || (CODE_TEXT.test(text) && !new RegExp(`^(?:${FILE_EXTENSIONS})$`, "i").test(name)),
  },
  // Dotted configuration keys ("fetch.max.bytes"): every part two characters or more, so no abbreviation ("a.k.a", "e.g.").
  { type: "code", pattern: /(?<![\w.\/@:-])[a-z][a-z0-9_]+(?:\.[a-z][a-z0-9_]+){2,}(?![\w.\/@:-])/g, accept: (key) => !/\.(?:com|org|net|io|cn|dev|app|ai|co|uk|de|fr|jp|edu|gov|me|info|xyz|sh|local|internal)$/.test(key) },
  { type: "code", pattern: /(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*(?:=[\w.:\/-]*[\w\/])?/g },
  { type: "code", pattern: /\b(?:[A-Z][a-z0-9]+)+(?:Service|Controller|Manager|Handler|Factory|Provider|Repository|Repo|Client|Config|Exception|Error|Spec|Util|Utils|Helper|Component|Module|Reducer|Context|Adapter|Builder|Listener|Worker|Parser|Validator|Serializer|Middleware|Router|Resolver|Schema|Dto|DTO|Impl)\b(?!\.\w)/g },
  { type: "code", pattern: /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?:=[\w.:\/-]*[\w\/])?(?![\w=])/g },
  { type: "code", pattern: /\b[a-z_]+=[A-Za-z0-9_.-]*[A-Za-z0-9_]\b/g },
  { type: "code", pattern: /\b[A-Za-z_][\w.]{0,127}\(\)|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[a-z]+(?:[A-Z][a-z0-9]+)+\b/g },
  {
    type: "organization",
    pattern: new RegExp(`\\b(?:[A-Z][\\w&-]*\\s+){0,3}[A-Z][\\w&-]*\\s+(?:${ORG_SUFFIX})(?=[\\s,.;:)'’]|$)|\\b(?:${KNOWN_ORGS})\\b`, "g"),
    // "Email Helios Energy": the name starts after sentence words and imperatives.
    span: (m) => {
      const lead = /^(?:(?:[A-Z][a-z]+)\s+)+/.exec(m[0])?.[0] ?? "";
      const words = lead.split(/\s+/).filter(Boolean);
      let skip = 0;
      while (skip < words.length && (NOT_NAMES.has(words[skip] as string) || LEAD_WORDS.has(words[skip] as string))) skip++;
      const cut = words.slice(0, skip).reduce((at, w) => m[0].indexOf(w, at) + w.length, 0);
      const offset = skip === 0 ? 0 : m[0].slice(cut).search(/\S/) + cut;
      return { start: (m.index as number) + offset, text: m[0].slice(offset) };
    },
    accept: (org) => /\s/.test(org) || new RegExp(`^(?:${KNOWN_ORGS})$`).test(org),
  },
  // "University of Otago", "Bank of Valletta", "Ministry of Health": an institution of a place or a field.
  { type: "organization", pattern: /\b(?:University|Bank|Institute|Ministry|Museum|College|Academy|Council|Department|Church|Republic|Conservatory|School|Hospital|Royal College)\sof\s(?:the\s)?[A-Z][\w'’-]+(?:\s[A-Z][\w'’-]+)?/g },
  { type: "organization", pattern: new RegExp(`${ZH_CONTENT}{1,8}?(?:公司|集团|大学|学院|银行|研究所|研究院|委员会|协会)|数据组`, "gu") },
  { type: "place", pattern: new RegExp(`\\b[A-Z][a-z]+(?:\\s+[A-Z][a-z]+)*\\s+(?:Street|Road|Avenue|Square|Airport|Station|Province)\\b|\\b(?:${KNOWN_PLACES})\\b`, "g") },
  { type: "place", pattern: new RegExp(`${ZH_CONTENT}{1,4}?(?:(?<![缺节可更会简能以还也就都])省(?![钱去略掉时力电])|市(?![场值面民])|机场|火车站|路(?![径线由程上口况子数灯])|大街)|${ZH_PLACES}`, "gu") },
  { type: "person", pattern: /\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?/g },
  {
    type: "person",
    pattern: /\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2}\b(?![\u00C0-\u024F'’-])|\b[A-Z][a-z]+\b(?![\u00C0-\u024F'’-])/g,
    // "Email Jana Novak": a name starts after the sentence words and imperatives of a capitalised
    // run that has a known first name ("Camille Martin" keeps the unknown first name).
    span: (m) => {
      const words = m[0].split(/\s+/);
      const known = words.findIndex((w) => FIRST_NAMES.has(w) || /^(?:Mr|Mrs|Ms|Dr|Prof)\.?$/.test(w));
      const lead = words.findIndex((w) => !NOT_NAMES.has(w) && !LEAD_WORDS.has(w));
      const first = known <= 0 ? known : Math.min(known, lead < 0 ? known : lead);
      if (first <= 0) return { start: m.index as number, text: m[0] };
      const skipped = m[0].indexOf(words[first] as string);
      return { start: (m.index as number) + skipped, text: m[0].slice(skipped) };
    },
    accept: (name, text, start) => {
      const words = name.split(/\s+/);
      if (/^(?:Mr|Mrs|Ms|Dr|Prof)\.?$/.test(words[0] as string)) return true;
      if (words.some((w) => NOT_NAMES.has(w))) return false;
      if (FIRST_NAMES.has(words[0] as string) || (words.length === 2 && FIRST_NAMES.has(words[1] as string) && !LEAD_WORDS.has(words[0] as string))) return true;
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
  { type: "number", pattern: /\+\d{1,3}(?:[ -]\d{2,4}){2,4}\b|\(\d{3}\)\s?\d{3}-\d{4}\b|(?<![\w-])1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![\w-])|(?<![\w-])\d{3,4}-\d{3,4}-\d{4}(?![\w-])|(?<![\w-])0\d{2,3}-\d{4}\s\d{4}(?![\w-])/g },
  // "4.8 万封邮件", "270 万个文件": a count in ten-thousands (money is the amount rules' above).
  { type: "number", pattern: /(?<![\w.\/-])[-+]?\d(?:[\d,]*\d)?(?:\.\d+)?(?:\s?%|\s(?:percent|per cent)\b|\s?[万亿](?![元美欧英日港块])|\s(?:thousand|million|billion|trillion)\b)?(?![\w\/])/g },
];

function trimTrailing(text: string, type: EntityType): string {
  return type === "url" || type === "email" || type === "path" ? text.replace(/[.,;:!?]+$/, "") : text;
}

/** The priority of spans from other sources (NLP libraries): after every rule but the plain numbers. */
export const LIBRARY_PRIORITY = RULES.findIndex((rule) => rule.type === "number") - 0.5;

/** What a quoted span holds, when it is one thing of a more specific type than code. */
function classifyQuoted(text: string): EntityType {
  for (const rule of RULES) {
    if (rule.type === "code" || rule.type === "number" || rule.type === "person" || rule.type === "organization" || rule.type === "place" || rule.type === "datetime") continue;
    for (const match of text.matchAll(rule.pattern)) {
      if (match.index === 0 && match[0] === text && (!rule.accept || rule.accept(text, text, 0))) return rule.type;
    }
  }
  return "code";
}

/** Keeps the non-overlapping spans: lower priority first, then longer, then earlier. */
export function resolveOverlaps(found: readonly Candidate[]): Entity[] {
  const ordered = [...found].sort((a, b) => a.priority - b.priority || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const taken: Entity[] = [];
  // The characters the spans taken so far cover: each candidate is checked and marked over its own length (testing it
  // against every span taken made a text of many numbers quadratic).
  const covered = new Uint8Array(ordered.reduce((end, c) => Math.max(end, c.end), 0));
  for (const candidate of ordered) {
    if (covered.subarray(candidate.start, candidate.end).includes(1)) continue;
    covered.fill(1, candidate.start, candidate.end);
    taken.push({ type: candidate.type, text: candidate.text, start: candidate.start, end: candidate.end });
  }
  return taken.sort((a, b) => a.start - b.start);
}
