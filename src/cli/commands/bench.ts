import { writeFileSync } from "node:fs";
import { HELP_OPTION, type Command } from "../command.js";
import { runCodecBench } from "../../quality/codec-bench.js";
import { codecBenchMarkdown } from "../../quality/bench-markdown.js";
import { loadBenchCorpus } from "../../quality/corpus.js";
import { emit, inputFileSize, parseInteger, requirePositionalOrFlag } from "../shared.js";

export const benchCommand: Command = {
  name: "bench",
  positionals: 0,
  summary: "ratio, speed and exactness per codec against gzip, brotli and zstd",
  usage: "memzip bench --corpus FILE.jsonl [--train-percent N] [--seed N] [--out REPORT.json] [--json]",
  help: `Shuffles the corpus (seeded), trains dictionaries and models on --train-percent of it and
measures every codec per record on the rest, beside gzip -9, brotli -11 and zstd -19 in the same
run. Prints a Markdown table (or the JSON report with --json).`,
  options: {
    corpus: { type: "string", value: "FILE", help: 'JSONL with "text" (and optional "lang", "source") per line' },
    "train-percent": { type: "string", value: "N", help: "share used for training (default 75)" },
    seed: { type: "string", value: "N", help: "shuffle seed (default 1)" },
    out: { type: "string", value: "FILE", help: "also write the JSON report to FILE" },
    json: { type: "boolean", help: "JSON report on stdout" },
    ...HELP_OPTION,
  },
  async run(context) {
    const corpus = requirePositionalOrFlag(context, "corpus");
    const trainPercent = parseInteger(context.values["train-percent"], "train-percent", 1, 99) ?? 75;
    const seed = parseInteger(context.values.seed, "seed", 0, 2 ** 31) ?? 1;
    inputFileSize(corpus, "--corpus");
    const records = await loadBenchCorpus(corpus);
    const report = runCodecBench(records, {
      trainFraction: trainPercent / 100,
      seed,
      onProgress: (stage) => context.json || context.stderr.write(`measuring ${stage}…\n`),
    });
    if (typeof context.values.out === "string") writeFileSync(context.values.out, `${JSON.stringify(report, null, 2)}\n`);
    emit(context, report, codecBenchMarkdown(report, `Per-record codecs on ${corpus}`, `memzip bench --corpus ${corpus} --train-percent ${trainPercent} --seed ${seed}`));
    return 0;
  },
};
