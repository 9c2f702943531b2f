import type { CodecBenchReport, ContenderResult } from "./codec-bench.js";

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
  lines.push("", splitTable(report, "byLang", "language"), "", splitTable(report, "bySource", "source"));
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
