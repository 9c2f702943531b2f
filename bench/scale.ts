/**
 * `npm run bench:scale [-- --records N]`: writes a synthetic JSONL of N records (default 10^6),
 * imports it into a fresh store with the classical codecs, and reports records/s and the
 * process's peak RSS — the import streams, so the peak should not grow with N.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine.js";
import { seededRandom } from "../src/quality/stats.js";

const { values } = parseArgs({ options: { records: { type: "string" } } });
const records = Number(values.records ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), "memzip-scale-"));
const file = join(dir, "synthetic.jsonl");
const words = "the user prefers short answers meeting notes deploy friday review budget project atlas migration sqlite index query cache team decision owner risk 用户 会议 迁移 预算 项目 周五 部署".split(" ");
const random = seededRandom(7);

try {
  const out = createWriteStream(file);
  for (let i = 0; i < records; i++) {
    const length = 8 + Math.floor(random() * 30);
    let text = "";
    for (let w = 0; w < length; w++) text += `${words[Math.floor(random() * words.length)]}${random() < 0.1 ? ". " : " "}`;
    if (!out.write(`${JSON.stringify({ id: `r${i}`, text: `${text}#${i}` })}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  const bytes = statSync(file).size;
  const engine = Engine.open({ db: join(dir, "scale.db"), codecs: ["raw", "zstd"], autoTrainAfter: 0, cache: "off", ...(process.env.SCALE_OPTIONS ? (JSON.parse(process.env.SCALE_OPTIONS) as object) : {}) });
  const started = performance.now();
  const report = await engine.importJsonl(file, { batchSize: 1000 });
  const seconds = (performance.now() - started) / 1000;
  const stats = await engine.stats();
  await engine.close();
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  console.log(
    JSON.stringify({
      records,
      inputMiB: Number((bytes / 2 ** 20).toFixed(1)),
      stored: report.stored,
      seconds: Number(seconds.toFixed(1)),
      recordsPerSecond: Math.round(records / seconds),
      bitsPerByte: Number(stats.bitsPerByte.toFixed(3)),
      peakRssMiB: Math.round(peakMiB),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
