import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { entityExtractor } from "../../src/semantic/entities-nlp.js";
import { ruleEntityExtractor } from "../../src/semantic/entities-rules.js";
import { scoreEntities, type EntityCase } from "../../src/quality/entity-scores.js";
import { ROOT } from "../helpers.js";

const load = (name: string) => JSON.parse(readFileSync(join(ROOT, "test", "fixtures", name), "utf8")) as EntityCase[];
const pairs = (text: string) => ruleEntityExtractor.extract(text).map((e) => [e.type, e.text]);
const v2 = (text: string) => entityExtractor.extract(text).map((e) => [e.type, e.text]);

describe("rule-based entity extraction", () => {
  it("finds formats in English and Chinese with offsets into the text", () => {
    const text = "Mail li.qiang@example.cn by 2026-03-09 10:30 CET: 预算 5 万元，3月9日上午10:30 见，see https://x.example/a.";
    for (const entity of ruleEntityExtractor.extract(text)) assert.equal(text.slice(entity.start, entity.end), entity.text);
    assert.deepEqual(pairs(text), [
      ["email", "li.qiang@example.cn"],
      ["datetime", "2026-03-09 10:30 CET"],
      ["amount", "5 万元"],
      ["datetime", "3月9日"],
      ["datetime", "上午10:30"],
      ["url", "https://x.example/a"],
    ]);
  });

  it("tells names from words that merely start with a surname or a capital", () => {
    assert.deepEqual(pairs("参会：王芳（产品）、李强（后端）。这个方案很好，马上执行。"), [
      ["person", "王芳"],
      ["person", "李强"],
    ]);
    assert.deepEqual(pairs("The Decision was made on Monday by Ana (PM)."), [
      ["datetime", "Monday"],
      ["person", "Ana"],
    ]);
  });

  it("scores at least 0.95 precision and recall on the team's labelled set, 0.9 on the held-out one", () => {
    const tuned = scoreEntities(ruleEntityExtractor, load("entities.json"));
    assert.ok(tuned.cases >= 100);
    assert.ok(tuned.precision >= 0.95 && tuned.recall >= 0.95, JSON.stringify(tuned.misses));
    const heldOut = scoreEntities(ruleEntityExtractor, load("entities-heldout.json"));
    assert.ok(heldOut.precision >= 0.9 && heldOut.recall >= 0.9, JSON.stringify(heldOut.misses));
  });

  it("types units, durations, versions, paths, URIs, hashes, ids and money in either order", () => {
    const text = "ENG-4471: the job ran 37 minutes (3 h 12 min in total) and wrote 2.5 GB; v2.8.0 fixes src/net/http_parser.c, commit a3f9c21, logs in s3://acme-logs/app.log, refund EUR 120 and 45 €.";
    for (const entity of entityExtractor.extract(text)) assert.equal(text.slice(entity.start, entity.end), entity.text);
    assert.deepEqual(v2(text), [
      ["id", "ENG-4471"],
      ["duration", "37 minutes"],
      ["duration", "3 h 12 min"],
      ["quantity", "2.5 GB"],
      ["version", "v2.8.0"],
      ["path", "src/net/http_parser.c"],
      ["hash", "a3f9c21"],
      ["url", "s3://acme-logs/app.log"],
      ["amount", "EUR 120"],
      ["amount", "45 €"],
    ]);
    assert.deepEqual(v2("会议持续 2 小时，迁移到 PostgreSQL 16，内存 3.5 GB。"), [
      ["duration", "2 小时"],
      ["version", "16"],
      ["quantity", "3.5 GB"],
    ]);
    assert.deepEqual(v2("Use UTF-8 and `config/app.yaml`."), [["path", "config/app.yaml"]]);
  });

  it("finds people, organisations and places beyond the lists with the NLP libraries", () => {
    assert.deepEqual(v2("Sarah Connor from Helios Energy flew to Lisbon on Monday."), [
      ["person", "Sarah Connor"],
      ["organization", "Helios Energy"],
      ["place", "Lisbon"],
      ["datetime", "Monday"],
    ]);
    assert.deepEqual(v2("李娜和刘洋周三在杭州见面，张伟去深圳，带上李强。"), [
      ["person", "李娜"],
      ["person", "刘洋"],
      ["datetime", "周三"],
      ["place", "杭州"],
      ["person", "张伟"],
      ["place", "深圳"],
      ["person", "李强"],
    ]);
    // jieba tags these common words as places or names; they are not entities.
    assert.deepEqual(v2("把日志加密后写入索引，中断时重试。"), []);
  });

  it("the v2 extractor keeps the rules' scores on the team's sets", () => {
    for (const [name, floor] of [["entities.json", 0.95], ["entities-heldout.json", 0.9]] as const) {
      const scores = scoreEntities(entityExtractor, load(name));
      assert.ok(scores.precision >= floor && scores.recall >= floor, `${name}: ${JSON.stringify(scores.misses)}`);
    }
  });

  it("keeps 0.93 precision and recall on the sets v2.3 was tuned on, 0.9 on set 4 that v2.4 was tuned on (floors against regressions, not unseen figures)", () => {
    // v2.4 measured 0.946 to 1.000 on sets 1 to 3 and 0.923 to 0.974 on set 4, each language: see the report of branch ent4.
    for (const [name, floor] of [["entities-v2-unseen.json", 0.93], ["entities-v2-unseen-2.json", 0.93], ["entities-v2-unseen-3.json", 0.93], ["entities-v2-unseen-4.json", 0.9]] as const) {
      const cases = load(name) as (EntityCase & { language: string })[];
      for (const language of ["en", "zh"]) {
        const scores = scoreEntities(entityExtractor, cases.filter((c) => c.language === language));
        assert.ok(scores.precision >= floor && scores.recall >= floor, `${name} ${language}: ${scores.precision.toFixed(3)} / ${scores.recall.toFixed(3)}`);
      }
    }
  });

  it("Chinese names from the surname table: compound surnames, titles, 小 + surname, and common words that start with a surname left alone", () => {
    assert.deepEqual(v2("司空晓彤评审了合同，抄送小邬；华泰医院的邵主任下午到。"), [
      ["person", "司空晓彤"],
      ["person", "小邬"],
      ["organization", "华泰医院"],
      ["person", "邵主任"],
      ["datetime", "下午"],
    ]);
    assert.deepEqual(v2("周五和青石农业的公冶子豪在常熟见面。"), [
      ["datetime", "周五"],
      ["organization", "青石农业"],
      ["person", "公冶子豪"],
      ["place", "常熟"],
    ]);
    // 谢谢 and 许可证 start with surnames (谢, 许); jieba's dictionary knows them as frequent words.
    assert.deepEqual(v2("谢谢，许可证已经续了。"), []);
    // Cities that jieba's dictionary lists with 市, without the suffix.
    assert.deepEqual(v2("邵文博从温州调到了绵阳。"), [
      ["person", "邵文博"],
      ["place", "温州"],
      ["place", "绵阳"],
    ]);
  });

  it("English people by the first names and surnames of many locales, companies of a person, institutions of a place", () => {
    assert.deepEqual(v2("Lunch with Ifeoma Chukwu and Mateus Carvalho from Lagoa Seguros in Porto."), [
      ["person", "Ifeoma Chukwu"],
      ["person", "Mateus Carvalho"],
      ["organization", "Lagoa Seguros"],
      ["place", "Porto"],
    ]);
    assert.deepEqual(v2("Gustavo asked for the report; copied Maren."), [
      ["person", "Gustavo"],
      ["person", "Maren"],
    ]);
    assert.deepEqual(v2("Prof. Ines Duarte of the University of Coimbra signed."), [
      ["person", "Prof. Ines Duarte"],
      ["organization", "University of Coimbra"],
    ]);
    // Two words no list knows, before a verb of a person or after "with": a person; a plural is not ("Action Items").
    assert.deepEqual(v2("Zanele Dlamini said the pump failed."), [["person", "Zanele Dlamini"]]);
    assert.deepEqual(v2("Meeting with Priyanka Deshmukh in Pune."), [
      ["person", "Priyanka Deshmukh"],
      ["place", "Pune"],
    ]);
    assert.deepEqual(v2("Action Items from Sprint Review are in the doc."), []);
    // A first name that opens a sentence before "from the …" is not taken for a person.
    assert.deepEqual(v2("Grant from the Wellcome Trust arrived."), [["organization", "Wellcome Trust"]]);
  });

  it("money in every ISO 4217 code, time zones after a time, ids with letter tails", () => {
    assert.deepEqual(v2("Paid BGN 420 and 1,300 THB; PHP 8.3 stays. The call is at 09:30 EAT."), [
      ["amount", "BGN 420"],
      ["amount", "1,300 THB"],
      ["version", "8.3"],
      ["datetime", "09:30 EAT"],
    ]);
    assert.deepEqual(v2("Track PO-4410-C and GHSA-8f3k-22xp-q9w7 in .env.staging."), [
      ["id", "PO-4410-C"],
      ["id", "GHSA-8f3k-22xp-q9w7"],
      ["path", ".env.staging"],
    ]);
  });

  it("rates per second of any unit, tonnes, fuel use, counts in ten-thousands, relative days and months", () => {
    assert.deepEqual(pairs("The mill ships 40 tonnes a day; the queue drains 9,500 jobs/s; the van burns 8.4 L/100 km."), [
      ["quantity", "40 tonnes"],
      ["quantity", "9,500 jobs/s"],
      ["quantity", "8.4 L/100 km"],
    ]);
    assert.deepEqual(pairs("The backup failed last night; the shop opens on weekdays and on Saturday mornings."), [
      ["datetime", "last night"],
      ["datetime", "weekdays"],
      ["datetime", "Saturday mornings"],
    ]);
    assert.deepEqual(pairs("昨晚导入了 35 万条记录，峰值 8,000 条/秒；去年 11 月起工作日不发版，预算 12 万元。"), [
      ["datetime", "昨晚"],
      ["number", "35 万"],
      ["quantity", "8,000 条/秒"],
      ["datetime", "去年 11 月"],
      ["datetime", "工作日"],
      ["amount", "12 万元"],
    ]);
  });

  it("money in any currency written in Chinese, working days as a duration, the end of the month, months the year after next, dates inside paths", () => {
    assert.deepEqual(pairs("押金 2,800 澳元，另一笔 650 加元，合同后年 3 月到期。"), [
      ["amount", "2,800 澳元"],
      ["amount", "650 加元"],
      ["datetime", "后年 3 月"],
    ]);
    assert.deepEqual(pairs("审核要 7 个工作日，月底前给答复；工作日不发版。"), [
      ["duration", "7 个工作日"],
      ["datetime", "月底"],
      ["datetime", "工作日"],
    ]);
    assert.deepEqual(pairs("The dumps are in /var/dumps/api/2025-03-14/ since 2025-03-14."), [
      ["path", "/var/dumps/api/2025-03-14/"],
      ["datetime", "2025-03-14"],
    ]);
  });

  it("places from the world gazetteer with cues, and English words that are also towns only after a cue", () => {
    assert.deepEqual(v2("Shipping from Gdansk to Hvar takes 6 days; ferry from Split to Vis."), [
      ["place", "Gdansk"],
      ["place", "Hvar"],
      ["duration", "6 days"],
      ["place", "Split"],
      ["place", "Vis"],
    ]);
    assert.deepEqual(v2("Split the invoice in two. Reading list for the Mobile team."), []);
  });

  it("organisations and people by their context: from, team at, bill, billing moved from … to, verbs and relations", () => {
    assert.deepEqual(v2("Ingrid Solberg from Tidewater Ferries landed in Windhoek; the team at Kettle Ridge Advisory pays the Cloudflare bill."), [
      ["person", "Ingrid Solberg"],
      ["organization", "Tidewater Ferries"],
      ["place", "Windhoek"],
      ["organization", "Kettle Ridge Advisory"],
      ["organization", "Cloudflare"],
    ]);
    assert.deepEqual(v2("Moving billing from Paddle to Chargebee next month."), [
      ["organization", "Paddle"],
      ["organization", "Chargebee"],
      // docs/ENTITIES.md: a relative date is a datetime.
      ["datetime", "next month"],
    ]);
    assert.deepEqual(v2("Tomasz and Wanjiru meet on Friday; her manager is Ngozi Okafor."), [
      ["person", "Tomasz"],
      ["person", "Wanjiru"],
      ["datetime", "Friday"],
      ["person", "Ngozi Okafor"],
    ]);
  });

  it("versions linked to a version or after a product, merge requests, year-prefixed invoices, env vars with values", () => {
    assert.deepEqual(v2("Upgrade Erlang 26.1 to 26.2; iOS 18 only. Merge request !311 and invoice 2027-INV-0042."), [
      ["version", "26.1"],
      ["version", "26.2"],
      ["version", "18"],
      ["id", "!311"],
      ["id", "2027-INV-0042"],
    ]);
    assert.deepEqual(v2("把 Erlang 26.1 升到 26.2，合并请求 !311。"), [
      ["version", "26.1"],
      ["version", "26.2"],
      ["id", "!311"],
    ]);
    assert.deepEqual(v2("Set CACHE_TTL=300 on branch is feature/retry-budget."), [
      ["code", "CACHE_TTL=300"],
      ["code", "feature/retry-budget"],
    ]);
    assert.deepEqual(v2("The rack draws 4,200 lumens, 24/7, runs 3 小时 20 分钟."), [
      ["quantity", "4,200 lumens"],
      ["duration", "3 小时 20 分钟"],
    ]);
  });

  it("Chinese names with rarer surnames after roles, companies by trade words, places by what follows them", () => {
    assert.deepEqual(v2("卜文轩周四去洛阳，供应商青禾动画开票 2 万元。"), [
      ["person", "卜文轩"],
      ["datetime", "周四"],
      ["place", "洛阳"],
      ["organization", "青禾动画"],
      ["amount", "2 万元"],
    ]);
    assert.deepEqual(v2("物业经理詹明远说烟台的客户要周三前回复；盐城试点下月开始。"), [
      ["person", "詹明远"],
      ["place", "烟台"],
      ["datetime", "周三"],
      ["place", "盐城"],
    ]);
    // Words that end in 省, 路 or 市 without being places.
    assert.deepEqual(v2("我们缺省用节省内存的文件路径。"), []);
  });
});
