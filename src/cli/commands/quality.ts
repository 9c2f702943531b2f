import { writeFileSync } from "node:fs";
import type { Command } from "../command.js";
import { FILTER_OPTIONS, READ_NAMESPACE, STORE_OPTIONS } from "../command.js";
import { choices, LOSSY_RECALL_MODES } from "../../core/vocabulary.js";
import { defaultEntityExtractor } from "../../semantic/entities-tagger.js";
import { HashedNgramEmbedder } from "../../search/similarity.js";
import { assessQuality, type QualityReport } from "../../quality/assess.js";
import { ratioQualityChart } from "../../quality/chart.js";
import { ProgressBar } from "../progress.js";
import { emit, openEngine, parseChoice, parseFilter, parseInteger } from "../shared.js";

export const qualityCommand: Command = {
  name: "quality",
  positionals: 0,
  summary: "score how well memories read back: exact match, and the semantic form against the original",
  usage: `memzip quality [--mode ${LOSSY_RECALL_MODES.join("|")}] [--limit N] [--failures FILE] [--chart FILE.svg] [--rows] [FILTER FLAGS] [-n NS] [--db DB] [--json]`,
  help: `Reads every memory back exactly (exact match, stored bytes over original, latency) and, for
memories with semantic features, scores their lossy form against the original: ROUGE-L F1, BLEU
(smoothed), embedding cosine (embedder ngram-256, named in the report), entity precision and recall
(rule-based entities of the original kept by the stored entities or the lossy text), ratio and
latency. Flags similarity < 0.85 and entity recall < 0.95. Exit code 1 when a memory is flagged.
The filter flags (as for \`ls\`) assess only the memories they match.`,
  options: {
    mode: {
      type: "string",
      value: "M",
      help: `${choices(LOSSY_RECALL_MODES)}. summary (default): the stored summary; rebuilt: a model writes
the text back from summary and entities (needs semantic backends in the config)`,
    },
    limit: { type: "string", value: "N", help: "assess the first N memories" },
    failures: { type: "string", value: "FILE", help: "write the flagged memories (original and lossy text, scores) as JSONL" },
    chart: { type: "string", value: "FILE.svg", help: "draw ratio against quality, one point a memory" },
    rows: { type: "boolean", help: "with --json, include every memory's scores" },
    ...FILTER_OPTIONS,
    ...READ_NAMESPACE,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const mode = parseChoice(LOSSY_RECALL_MODES, context.values.mode, "mode", "summary");
    const limit = parseInteger(context.values.limit, "limit", 1, Number.MAX_SAFE_INTEGER);
    const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
    const filter = parseFilter(context);
    const engine = openEngine(context, {}, { readOnly: true });
    try {
      const bar = new ProgressBar(context.stderr, "quality", !context.json);
      const report = await assessQuality(engine, {
        mode,
        embedder: new HashedNgramEmbedder(),
        extractor: defaultEntityExtractor,
        ...(limit === undefined ? {} : { limit }),
        ...(namespace ? { namespace } : {}),
        filter,
        onProgress: (done, total) => bar.update(done, done, total),
      });
      bar.done();
      const flagged = report.rows.filter((r) => r.flags.length > 0);
      if (typeof context.values.failures === "string") writeFileSync(context.values.failures, flagged.map((r) => JSON.stringify(r)).join("\n") + (flagged.length ? "\n" : ""));
      if (typeof context.values.chart === "string") writeFileSync(context.values.chart, ratioQualityChart(report));
      const { rows: _rows, ...summary } = report;
      emit(context, context.values.rows === true ? report : { ...summary, flaggedIds: flagged.map((r) => r.id) }, describe(report));
      return report.flagged > 0 ? 1 : 0;
    } finally {
      await engine.close();
    }
  },
};

function describe(report: QualityReport): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  const lines = [
    `memories         ${report.memories}`,
    `exact match      ${report.exactMatches}/${report.memories}`,
    `exact ratio      ${report.exactRatioWithAssets.toFixed(2)}x (original bytes over envelopes + the namespace's assets amortised: ${Math.round(report.assetBytes)} bytes; envelopes alone ${report.exactRatio.toFixed(2)}x)`,
    `exact recall     p50 ${report.exactMs.p50.toFixed(2)} ms, p95 ${report.exactMs.p95.toFixed(2)} ms`,
  ];
  const s = report.semantic;
  if (s) {
    lines.push(
      `semantic (${report.mode}, ${s.memories} memories, embedder ${report.embedder})`,
      `  ratio          ${s.ratio.toFixed(3)} (summary + entities / original bytes)`,
      `  similarity     ${s.similarity.toFixed(3)}   ROUGE-L ${s.rougeL.toFixed(3)}   BLEU ${s.bleu.toFixed(3)}`,
      `  entities       precision ${pct(s.entityPrecision)}, recall ${pct(s.entityRecall)}`,
      `  latency        p50 ${s.ms.p50.toFixed(2)} ms, p95 ${s.ms.p95.toFixed(2)} ms`,
    );
  } else {
    lines.push("semantic         off (no memory has a summary; configure semantic backends to write them)");
  }
  lines.push(`flagged          ${report.flagged} (similarity < ${report.thresholds.similarity} or entity recall < ${report.thresholds.entityRecall}, or not exact)`);
  return lines.join("\n");
}
