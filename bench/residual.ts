/**
 * `npm run bench:residual`: the exact residual side by side. The same memories (bench/data/stories.jsonl)
 * are written with the `llm` codec forced and semantic features on (summaries by the embedded llama
 * backend, same model): coded plainly, always conditioned on their summary (`residual: "always"`),
 * and both ways keeping the smaller (`residual: true`). Reports envelope
 * bytes, the summary assets the residual needs, and bits per byte of both, every byte counted.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "../src/engine.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MODEL = join(ROOT, "..", "shared", "models", process.env.RESIDUAL_MODEL ?? "stories260K.gguf");
const records = readFileSync(join(ROOT, "bench", "data", "stories.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as { id: string; text: string })
  .map(({ id, text }) => ({ id, text: text.slice(0, 300) }));

async function run(residual: boolean | "always") {
  await using engine = Engine.open({
    db: ":memory:",
    model: MODEL,
    llm: { gpu: false, contexts: 1, threads: 1, workers: 0 },
    autoTrainAfter: 0,
    cache: "off",
    semantic: { backends: [{ name: "local", kind: "llama", path: MODEL }], summaryChars: 80, maxTokens: 160, prompt: "Summarize as JSON.", residual },
  });
  const results = await engine.rememberMany(records, { codec: "llm" });
  const stats = await engine.stats();
  const original = results.reduce((s, r) => s + r.originalBytes, 0);
  return {
    residual,
    memories: results.length,
    summarized: results.filter((r) => r.semantic === "on").length,
    coded: results.filter((r) => r.residual).length,
    envelopeBytes: stats.storedBytes,
    assetBytes: stats.assetBytes,
    bitsPerByte: ((stats.storedBytes + stats.assetBytes) * 8) / original,
    envelopeBitsPerByte: (stats.storedBytes * 8) / original,
  };
}

for (const residual of [false, "always", true] as const) console.log(JSON.stringify(await run(residual)));
