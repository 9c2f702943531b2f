/**
 * `node dist/bench/entities-guide.js`: the span rules of docs/ENTITIES.md, one short text per rule or example of the guide,
 * run through the default extractor (rules + tagger); prints a table of what the guide expects and what the extractor gives,
 * and the count that match exactly (type and text, as multisets, as the scorer compares them). The texts are written from the
 * guide's own examples, not from any labelled set.
 */
import type { EntityType } from "../src/semantic/entities.js";
import { defaultEntityExtractor } from "../src/semantic/entities-tagger.js";

export interface GuideExample {
  rule: string;
  text: string;
  entities: [EntityType, string][];
}

export const GUIDE_EXAMPLES: GuideExample[] = [
  { rule: "preposition outside", text: "See you on Friday.", entities: [["datetime", "Friday"]] },
  { rule: "the end of May", text: "Let's finish it by the end of May.", entities: [["datetime", "end of May"]] },
  { rule: "approximation outside", text: "The build took about 40 seconds.", entities: [["duration", "40 seconds"]] },
  { rule: "before April 30", text: "Pay the deposit before April 30.", entities: [["datetime", "April 30"]] },
  { rule: "The in a name stays", text: "We had dinner at The Copper Heron.", entities: [["organization", "The Copper Heron"]] },
  { rule: "possessive outside", text: "Anna's laptop is broken again.", entities: [["person", "Anna"]] },
  { rule: "title inside (Dr.)", text: "Dr. Osei Boateng moved the appointment.", entities: [["person", "Dr. Osei Boateng"]] },
  { rule: "title inside (Mrs.)", text: "Mrs. Wiegersma called about the rent.", entities: [["person", "Mrs. Wiegersma"]] },
  { rule: "title inside (Prof.)", text: "Prof. Lin approved the plan.", entities: [["person", "Prof. Lin"]] },
  { rule: "roles are no persons", text: "The landlord will fix the heater.", entities: [] },
  { rule: "kinship alone is no person", text: "Grandma sent a card.", entities: [] },
  { rule: "kinship word outside", text: "Grandpa Teodoro visits on Sunday.", entities: [["person", "Teodoro"], ["datetime", "Sunday"]] },
  { rule: "organisation with kind suffix", text: "Tessaly Freight shipped the crates.", entities: [["organization", "Tessaly Freight"]] },
  { rule: "place with generic part", text: "We camped by Lake Ovwen.", entities: [["place", "Lake Ovwen"]] },
  { rule: "city, time", text: "Landed in Frankfurt at 7:30 pm.", entities: [["place", "Frankfurt"], ["datetime", "7:30 pm"]] },
  { rule: "time zone, relative day", text: "The deploy window starts at 02:15 UTC next Tuesday.", entities: [["datetime", "02:15 UTC"], ["datetime", "next Tuesday"]] },
  { rule: "date and time together: one", text: "The release is on 2027-01-18 09:30.", entities: [["datetime", "2027-01-18 09:30"]] },
  { rule: "date and time joined by 'at': two", text: "Meet on March 3 at 9:00.", entities: [["datetime", "March 3"], ["datetime", "9:00"]] },
  { rule: "date, time with a comma: one", text: "The call is Friday, 10:30 am.", entities: [["datetime", "Friday, 10:30 am"]] },
  { rule: "tonight; the weekend", text: "The movers come tonight and we rest over the weekend.", entities: [["datetime", "tonight"], ["datetime", "weekend"]] },
  { rule: "duration in words", text: "We stayed two nights.", entities: [["duration", "two nights"]] },
  { rule: "decimal duration", text: "The flight lasts 14.5 hours.", entities: [["duration", "14.5 hours"]] },
  { rule: "compound duration", text: "The run took 3 h 10 min.", entities: [["duration", "3 h 10 min"]] },
  { rule: "quantity", text: "The parcel weighs 12 kg.", entities: [["quantity", "12 kg"]] },
  { rule: "temperature", text: "It is 22 °C outside.", entities: [["quantity", "22 °C"]] },
  { rule: "size", text: "The model file is 2.5 GB.", entities: [["quantity", "2.5 GB"]] },
  { rule: "money, code and symbol", text: "Refunds: CAD 48 and $61.40.", entities: [["amount", "CAD 48"], ["amount", "$61.40"]] },
  { rule: "money, symbol and word", text: "The repair came to €2,940.00 and the hotel to 250 euros.", entities: [["amount", "€2,940.00"], ["amount", "250 euros"]] },
  { rule: "percentage is a number", text: "Conversion rose to 41% in March.", entities: [["number", "41%"], ["datetime", "March"]] },
  { rule: "large figure", text: "The region has 1.9 million residents.", entities: [["number", "1.9 million"]] },
  { rule: "count", text: "We printed 35 copies and 63,000 flyers.", entities: [["number", "35"], ["number", "63,000"]] },
  { rule: "word numbers below ten are no numbers", text: "We have two cats.", entities: [] },
  { rule: "numbers in names are no numbers", text: "Meet me at Terminal 2 by the exit.", entities: [["place", "Terminal 2"]] },
  { rule: "email", text: "Write to lin.mei@example.com today.", entities: [["email", "lin.mei@example.com"], ["datetime", "today"]] },
  { rule: "URIs", text: "Logs go to s3://acme-logs/app/ and the db is postgres://db.internal:5432/app.", entities: [["url", "s3://acme-logs/app/"], ["url", "postgres://db.internal:5432/app"]] },
  { rule: "network address", text: "The server listens on 10.0.3.17:8080.", entities: [["url", "10.0.3.17:8080"]] },
  { rule: "host name", text: "Point the client at api.example.com instead.", entities: [["url", "api.example.com"]] },
  { rule: "paths", text: "Edit ~/.config/y.toml and read /var/log/x.log.", entities: [["path", "~/.config/y.toml"], ["path", "/var/log/x.log"]] },
  { rule: "file name, Windows path", text: "Saved lease_final_signed.pdf in C:\\Users\\lin\\projects.", entities: [["path", "lease_final_signed.pdf"], ["path", "C:\\Users\\lin\\projects"]] },
  { rule: "folder", text: "Delete node_modules/ first.", entities: [["path", "node_modules/"]] },
  { rule: "versions", text: "Upgrade to v2.8.0, then 3.11.4; 2.0.0-rc.3 is out and we stay on 4.x.", entities: [["version", "v2.8.0"], ["version", "3.11.4"], ["version", "2.0.0-rc.3"], ["version", "4.x"]] },
  { rule: "hash", text: "Fixed in commit a3f9c21.", entities: [["hash", "a3f9c21"]] },
  { rule: "ids", text: "Tickets ENG-4471 and #812, invoice INV-88213, booking HX7Q2L.", entities: [["id", "ENG-4471"], ["id", "#812"], ["id", "INV-88213"], ["id", "HX7Q2L"]] },
  { rule: "code", text: "Call parse_header() in UserService with --dry-run and raise max_connections.", entities: [["code", "parse_header()"], ["code", "UserService"], ["code", "--dry-run"], ["code", "max_connections"]] },
  { rule: "大约 outside", text: "预计大约三天完成。", entities: [["duration", "三天"]] },
  { rule: "左右 outside", text: "三天左右就能到。", entities: [["duration", "三天"]] },
  { rule: "surname + title (大夫)", text: "冯大夫说下周要复查。", entities: [["person", "冯大夫"], ["datetime", "下周"]] },
  { rule: "surname + title (老师, 总, 经理)", text: "王老师和李总明天去见张经理。", entities: [["person", "王老师"], ["person", "李总"], ["datetime", "明天"], ["person", "张经理"]] },
  { rule: "kinship and roles are no persons", text: "房东说妈妈来过了。", entities: [] },
  { rule: "company with legal suffix", text: "星澜文化传媒有限公司发来了合同。", entities: [["organization", "星澜文化传媒有限公司"]] },
  { rule: "restaurant", text: "我们在聚福楼吃的饭。", entities: [["organization", "聚福楼"]] },
  { rule: "clinic", text: "去仁济堂门诊部拿药。", entities: [["organization", "仁济堂门诊部"]] },
  { rule: "river, town", text: "沿着清漪河一直走到帕羊镇。", entities: [["place", "清漪河"], ["place", "帕羊镇"]] },
  { rule: "time, city", text: "下午三点在广州开会。", entities: [["datetime", "下午三点"], ["place", "广州"]] },
  { rule: "end of month, next month", text: "三月底交房，下个月搬家。", entities: [["datetime", "三月底"], ["datetime", "下个月"]] },
  { rule: "lunar date", text: "农历五月初八是她的生日。", entities: [["datetime", "农历五月初八"]] },
  { rule: "durations", text: "坐了一个半小时的车，又住了两晚。", entities: [["duration", "一个半小时"], ["duration", "两晚"]] },
  { rule: "duration in Chinese numerals", text: "排队排了四十五分钟。", entities: [["duration", "四十五分钟"]] },
  { rule: "quantities", text: "买了500毫升牛奶和一公斤苹果。", entities: [["quantity", "500毫升"], ["quantity", "一公斤"]] },
  { rule: "money in Chinese", text: "耳机¥899，押金156元，打车600块，预算3.5万元。", entities: [["amount", "¥899"], ["amount", "156元"], ["amount", "600块"], ["amount", "3.5万元"]] },
  { rule: "day and time together: one", text: "周五下午三点开会。", entities: [["datetime", "周五下午三点"]] },
];

const key = ([type, text]: [string, string]) => `${type}:${text}`;

/** Each example's expected and found pairs, and whether they match as multisets. */
export function guideResults(extract: (text: string) => { type: string; text: string }[]) {
  return GUIDE_EXAMPLES.map((example) => {
    const found = extract(example.text).map((e) => `${e.type}:${e.text}`);
    const expected = example.entities.map(key);
    const ok = found.length === expected.length && [...found].sort().join("\n") === [...expected].sort().join("\n");
    return { ...example, expected, found, ok };
  });
}

if (process.argv[1]?.endsWith("entities-guide.js")) {
  const results = guideResults((text) => defaultEntityExtractor.extract(text));
  console.log("| rule | text | guide | extractor | ok |\n| --- | --- | --- | --- | --- |");
  for (const r of results) console.log(`| ${r.rule} | ${r.text.replace(/\|/g, "\\|")} | ${r.expected.join(", ") || "–"} | ${r.found.join(", ") || "–"} | ${r.ok ? "yes" : "**no**"} |`);
  console.log(`\n${results.filter((r) => r.ok).length} of ${results.length} examples as the guide writes them`);
}
