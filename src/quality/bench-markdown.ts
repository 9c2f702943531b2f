import type { CodecBenchReport, ContenderResult, SplitFigures } from "./codec-bench.js";
import type { CmVersionFigures } from "./cm-versions-bench.js";

const f3 = (x: number) => x.toFixed(3);
const f2 = (x: number) => x.toFixed(2);

/** Renders a codec bench as Markdown tables: overall, per language, per source. */
export function codecBenchMarkdown(report: CodecBenchReport, title: string, command: string, split?: string): string {
  const lines = [
    `### ${title}`,
    "",
    `Command: \`${command}\``,
    "",
    `${split ?? `${report.records} records; assets trained on ${report.trainRecords}, measured per record on the other ${report.testRecords}`} (${report.testBytes} bytes). ` +
      "memzip sizes are whole envelopes (header, checksum, asset reference); baselines are stock frames. " +
      "Speeds: one core, the median of 3 passes.",
    "",
    "| codec | bits/byte | ratio | with asset: this split / 10^4 / 10^6 records | asset bytes | asset build / load s | encode MB/s | decode MB/s | encode p50 / p95 ms | decode p50 / p95 ms | exact |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of report.results) {
    const asset = r.asset ? `${f3(r.asset.amortised.testSplit)} / ${f3(r.asset.amortised.per1e4)} / ${f3(r.asset.amortised.per1e6)}` : "—";
    lines.push(
      `| ${label(r)} | ${f3(r.bitsPerByte)} | ${f2(r.ratio)} | ${asset} | ${r.asset ? r.asset.bytes : "—"} | ${r.asset ? `${f2(r.asset.trainMs / 1000)} / ${f2(r.asset.loadMs / 1000)}` : "—"} | ${f2(r.encodeMBps)} | ${f2(r.decodeMBps)} | ${f3(r.encodeP50Ms)} / ${f3(r.encodeP95Ms)} | ${f3(r.decodeP50Ms)} / ${f3(r.decodeP95Ms)} | ${r.exact}/${r.records} |`,
    );
  }
  lines.push("", splitTable(report, "byLang", "language"));
  const matched = matchedLanguageTable(report);
  if (matched) lines.push("", matched);
  lines.push("", splitTable(report, "bySource", "source"));
  return lines.join("\n");
}

/** Renders `runCmVersionsBench`'s figures: the `cm` model versions side by side, the issue's targets beside them. */
export function cmVersionsMarkdown(figures: readonly CmVersionFigures[], title: string, command: string, split: string, passes: number): string {
  // The larger snapshot's training text, in MiB, when the run measured its loads.
  const largeBytes = figures.find((f) => f.largeLoad)?.largeLoad?.trainBytes;
  const large = largeBytes === undefined ? undefined : (largeBytes / (1 << 20)).toFixed(1);
  const lines = [
    `### ${title}`,
    "",
    `Command: \`${command}\``,
    "",
    `${split}. Each version's snapshot trained on the same records; every record coded alone into a whole envelope and ` +
      `decoded back; ${passes} passes of each version back to back, in two rounds (the versions in the table's order, then ` +
      "reversed), every encode of a pass before its decodes (no decode finds its record's table lines in the cache); speeds " +
      "the median pass, by wall time and (in brackets) by this process's CPU time, which counts all its threads (a garbage " +
      "collector's helpers too); the load is a fresh model from the derived state (what a new process does), the median " +
      "of the loads, and that model decodes every envelope again (exact from state)." +
      (large
        ? ` The last column loads, the same way, each version's model from a snapshot of ${large} MiB of training text (issue 16's ` +
          "300 ms is for the 4 MiB snapshot budget; its model's memory is larger — the history holds the text — and the load " +
          "is mostly the first writes to that fresh memory); each loaded model codes a record as the trained one does."
        : ""),
    "",
    "| model version | bits/byte (whole) | payload bits/byte | exact / from state | snapshot bytes | derived state bytes | load ms (CPU) | encode MB/s (CPU) | decode MB/s (CPU) |" +
      (large ? ` load ms (CPU) at ${large} MiB of training text |` : ""),
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- |${large ? " --- |" : ""}`,
  ];
  for (const f of figures) {
    const declined = f.declined > 0 ? ` (${f.declined} declined, stored raw)` : "";
    const largeLoad = f.largeLoad ? ` ${Math.round(f.largeLoad.loadMs)} (${Math.round(f.largeLoad.loadCpuMs)}) |` : large ? " |" : "";
    lines.push(
      `| ${f.version} | ${f3(f.bitsPerByte)}${declined} | ${f3(f.payloadBitsPerByte)} | ${f.exact}/${f.records} / ${f.exactFromState}/${f.records} | ${f.snapshotBytes} | ${f.stateBytes} | ${Math.round(f.stateLoadMs)} (${Math.round(f.stateLoadCpuMs)}) | ${f3(f.encodeMBps)} (${f3(f.encodeMBpsCpu)}) | ${f3(f.decodeMBps)} (${f3(f.decodeMBpsCpu)}) |${largeLoad}`,
    );
  }
  lines.push(`| issue 16's target | ≤ 2.000 | | | | | ≤ 300 | ≥ 1 | ≥ 1 |${large ? " ≤ 300 (4 MiB) |" : ""}`);
  return lines.join("\n");
}

/** A source's kind of text and language, from names like `manpage-en` / `manpage-zh` or `debian-reference-zh-cn`. */
const LANGUAGE_SUFFIX = /^(.+)-(en|zh)(?:-[a-z]+)?$/;

/** English and Chinese bits/byte over the kinds of text both languages have, English weighted to the Chinese bytes' mix of kinds. */
export interface MatchedLanguages {
  /** The kinds of text with sources in both languages, sorted. */
  kinds: string[];
  /** English: each kind's bits/byte, weighted by that kind's share of the Chinese bytes. */
  en: number;
  /** Chinese: over its sources of those kinds. */
  zh: number;
}

/**
 * The language gap like for like: a corpus whose English holds kinds of text that Chinese lacks (changelogs, commits)
 * shows a gap that is partly its mix of kinds. Undefined when no kind has sources in both languages.
 */
export function matchedLanguages(bySource: Readonly<Record<string, SplitFigures>>): MatchedLanguages | undefined {
  const kinds = new Map<string, { en?: SplitFigures; zh?: SplitFigures }>();
  for (const [source, figures] of Object.entries(bySource)) {
    const match = LANGUAGE_SUFFIX.exec(source);
    if (!match) continue;
    const [, kind, language] = match as unknown as [string, string, "en" | "zh"];
    const entry = kinds.get(kind) ?? {};
    const previous = entry[language];
    entry[language] = previous ? merge(previous, figures) : figures;
    kinds.set(kind, entry);
  }
  const shared = [...kinds].filter(([, e]) => e.en && e.zh && e.en.originalBytes > 0 && e.zh.originalBytes > 0).sort(([a], [b]) => a.localeCompare(b));
  if (shared.length === 0) return undefined;
  const zhBytes = shared.reduce((sum, [, e]) => sum + (e.zh as SplitFigures).originalBytes, 0);
  const zhStored = shared.reduce((sum, [, e]) => sum + (e.zh as SplitFigures).storedBytes, 0);
  const en = shared.reduce((sum, [, e]) => {
    const english = e.en as SplitFigures;
    return sum + ((e.zh as SplitFigures).originalBytes / zhBytes) * ((english.storedBytes * 8) / english.originalBytes);
  }, 0);
  return { kinds: shared.map(([kind]) => kind), en, zh: (zhStored * 8) / zhBytes };
}

function merge(a: SplitFigures, b: SplitFigures): SplitFigures {
  const originalBytes = a.originalBytes + b.originalBytes;
  const storedBytes = a.storedBytes + b.storedBytes;
  return { records: a.records + b.records, originalBytes, storedBytes, bitsPerByte: originalBytes > 0 ? (storedBytes * 8) / originalBytes : 0 };
}

function matchedLanguageTable(report: CodecBenchReport): string | undefined {
  const rows = report.results.map((r) => ({ r, matched: matchedLanguages(r.bySource) }));
  const kinds = rows.find((row) => row.matched)?.matched?.kinds;
  if (!kinds) return undefined;
  const lines = [
    `Chinese against English like for like — the kinds of text both languages have (${kinds.join(", ")}), English weighted to the Chinese bytes' mix of them; beside it the gap over all records:`,
    "",
    "| codec | en, same kinds | zh, same kinds | zh − en, same kinds | zh − en, all records |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const { r, matched } of rows) {
    if (!matched) continue;
    const all = r.byLang.zh && r.byLang.en ? f3(r.byLang.zh.bitsPerByte - r.byLang.en.bitsPerByte) : "—";
    lines.push(`| ${label(r)} | ${f3(matched.en)} | ${f3(matched.zh)} | ${f3(matched.zh - matched.en)} | ${all} |`);
  }
  return lines.join("\n");
}

function label(r: ContenderResult): string {
  return r.family === "memzip" ? `memzip \`${r.name}\`` : r.name;
}

function splitTable(report: CodecBenchReport, key: "byLang" | "bySource", heading: string): string {
  const groups = [...new Set(report.results.flatMap((r) => Object.keys(r[key])))].sort();
  const lines = [
    `Bits/byte by ${heading}:`,
    "",
    `| codec | ${groups.map((g) => `${g} (${report.results[0]?.[key][g]?.records ?? 0})`).join(" | ")} |`,
    `| --- | ${groups.map(() => "---").join(" | ")} |`,
  ];
  for (const r of report.results) lines.push(`| ${label(r)} | ${groups.map((g) => f3(r[key][g]?.bitsPerByte ?? 0)).join(" | ")} |`);
  return lines.join("\n");
}
