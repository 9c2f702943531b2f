/**
 * `node dist/bench/history.js [--records N]`: bytes per kept version on edits of real memories.
 * Each of the first N dev-corpus memories is stored, then edited three times the way agents edit
 * memories (a fact appended, a number corrected, the first sentence dropped); the history keeps the
 * three earlier texts, each a zstd delta against the text that replaced it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../src/engine.js";
import { devTexts } from "./corpus.js";

const at = process.argv.indexOf("--records");
const records = at > 0 ? Number(process.argv[at + 1]) : 200;
const corpus = devTexts();
const dir = mkdtempSync(join(tmpdir(), "memzip-history-bench-"));
const engine = Engine.open({ db: join(dir, "history.db"), cache: "off" });
try {
  const edits: ((text: string, i: number) => string)[] = [
    (t, i) => `${t} ${(corpus[(i * 7 + 3) % corpus.length] as string).split(/(?<=[.!?。])\s*/)[0] ?? ""}`,
    (t) => (/\d/.test(t) ? t.replace(/\d+/, (n) => String(Number(n) + 1)) : `${t} (checked)`),
    (t) => t.replace(/^[^.!?。]*[.!?。]\s*/, "") || `${t}.`,
  ];
  const items = corpus.slice(0, records);
  for (const [i, record] of items.entries()) await engine.remember({ id: `h${i}`, text: record });
  for (const [i] of items.entries()) {
    for (const edit of edits) {
      const text = await engine.recall(`h${i}`);
      await engine.update(`h${i}`, { text: edit(text, i) === text ? `${text}!` : edit(text, i) });
    }
  }
  const stats = await engine.stats();
  const { versions, originalBytes, storedBytes } = stats.history;
  const perVersion = (n: number) => (n / versions).toFixed(1);
  console.log(`records ${items.length}, versions kept ${versions}`);
  console.log(`earlier texts ${originalBytes} B (${perVersion(originalBytes)} B/version) -> history ${storedBytes} B (${perVersion(storedBytes)} B/version, ${((storedBytes * 8) / originalBytes).toFixed(3)} bits/byte)`);
  console.log(`current texts: ${stats.originalBytes} B -> envelopes ${stats.envelopeBytes} B (${(stats.envelopeBytes / stats.memories).toFixed(1)} B/memory)`);
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
