import { readJsonlRecords } from "../pipeline/jsonl.js";
import type { BenchRecord } from "./codec-bench.js";

/** Reads a JSONL corpus for benchmarks; `lang` and `source` come from each record's extra fields. */
export async function loadBenchCorpus(path: string): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  for await (const item of readJsonlRecords(path)) {
    if (!item.ok) throw item.error;
    const meta = item.record.meta ?? {};
    records.push({
      id: item.record.id ?? `line-${item.line}`,
      text: item.record.text,
      lang: typeof meta.lang === "string" ? meta.lang : "?",
      source: typeof meta.source === "string" ? meta.source : "?",
    });
  }
  return records;
}
