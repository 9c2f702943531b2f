/**
 * `node dist/bench/policy.js [--records N] [--model PATH] [--no-skip] [--db FILE]`: one import of the dev
 * corpus (or its first N records) into a fresh store with the default codecs, as `bench:llm` part 4
 * does, in this process alone, and one JSON line on stdout: wall and CPU seconds (every thread of the
 * process), stored bytes, records won per codec, the model's attempts / wins / skips, and a hash of
 * every memory's envelope (two runs stored the same bytes when their hashes match).
 * `--no-skip` turns the policy's skipping of a losing model off (the old behaviour, for A/B).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Engine } from "../src/engine.js";
import { loadBenchCorpus } from "../src/quality/corpus.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHARED = join(ROOT, "..", "shared");
const { values } = parseArgs({ options: { model: { type: "string" }, records: { type: "string" }, "no-skip": { type: "boolean" }, db: { type: "string" } } });
const dev = (await loadBenchCorpus(join(SHARED, "corpus", "memories-dev.jsonl"))).slice(0, values.records ? Number(values.records) : undefined);
const dir = mkdtempSync(join(tmpdir(), "memzip-bench-policy-"));
try {
  const corpusFile = join(dir, "corpus.jsonl");
  writeFileSync(corpusFile, dev.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n"));
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await using engine = Engine.open({
    db: values.db ?? join(dir, "bench.db"),
    ...(values.model ? { model: values.model, llm: { gpu: false, contexts: 2 } } : {}),
    ...(values["no-skip"] ? { skipLosingModel: false } : {}),
  });
  await engine.importJsonl(corpusFile);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const stats = await engine.stats();
  const hash = createHash("sha256");
  let envelopeBytes = 0;
  for (const m of (await engine.list({ limit: dev.length })).sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const envelope = (await engine.memory(m.id, m.namespace)).envelope;
    envelopeBytes += envelope.length;
    hash.update(m.id).update(envelope);
  }
  const verify = await engine.verify();
  const counters = engine.metricsSnapshot();
  console.log(
    JSON.stringify({
      records: dev.length,
      model: values.model ?? null,
      skip: !values["no-skip"],
      wallS: Number(seconds.toFixed(2)),
      cpuS: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
      storedBytes: stats.storedBytes,
      envelopeBytes,
      assetBytes: stats.assetBytes,
      byCodec: Object.fromEntries(Object.entries(stats.byCodec).map(([codec, c]) => [codec, c.memories])),
      llmAttempts: counters.llmAttempts,
      llmWins: counters.llmWins,
      llmSkipped: counters.llmSkipped,
      llmDeferred: counters.llmDeferred,
      envelopes: hash.digest("hex").slice(0, 16),
      verified: `${verify.checked - verify.failed}/${verify.checked}`,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
