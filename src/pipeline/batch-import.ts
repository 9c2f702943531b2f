import { MemzipError, ErrorCode } from "../errors.js";
import type { MemoryInput } from "./records.js";

/** What the import loop needs from the engine: a transactional batch write. */
export interface BatchSink {
  rememberMany(inputs: readonly MemoryInput[]): Promise<{ status: string; codec: string; originalBytes: number; storedBytes: number; verifyFailures: string[] }[]>;
  /** Called after each committed batch with where the source stands, so an import can resume there. */
  checkpoint?(position: number, line: number): void;
}

/** One input item; `position` and `line` are where the source stands just after it. */
export type SourceItem =
  | { ok: true; record: MemoryInput; where: string; position: number; line: number }
  | { ok: false; error: MemzipError; where: string; position: number; line: number };

interface Pending {
  record: MemoryInput;
  where: string;
}

export interface ImportProgress {
  /** Records read so far (accepted and rejected). */
  done: number;
  /** Position in the input (bytes for files) and its end, for rate and ETA. */
  position: number;
  end: number | undefined;
  originalBytes: number;
  storedBytes: number;
}

export interface ImportOptions {
  /** Records per transaction. Defaults to the engine's `batchSize`. */
  batchSize?: number;
  onProgress?: (progress: ImportProgress) => void;
  /** Stops after the batch in flight commits; finished batches stay stored. */
  signal?: AbortSignal;
  /** Size of the input, for ETA. */
  end?: number;
}

export interface ImportReport {
  read: number;
  stored: number;
  updated: number;
  unchanged: number;
  rejected: { where: string; code: string; message: string }[];
  originalBytes: number;
  storedBytes: number;
  byCodec: Record<string, number>;
  verifyFailures: number;
  aborted: boolean;
}

/** Streams records into the sink in transactions of `batchSize`; memory stays bounded by one batch. */
export async function importRecords(sink: BatchSink, source: AsyncIterable<SourceItem>, batchSize: number, options: ImportOptions = {}): Promise<ImportReport> {
  const report: ImportReport = { read: 0, stored: 0, updated: 0, unchanged: 0, rejected: [], originalBytes: 0, storedBytes: 0, byCodec: {}, verifyFailures: 0, aborted: false };
  let batch: Pending[] = [];
  let position = 0;
  let line = 0;
  const commit = async (): Promise<void> => {
    await writeBatch(sink, batch, report);
    batch = [];
    if (line > 0) sink.checkpoint?.(position, line);
    options.onProgress?.({ done: report.read, position, end: options.end, originalBytes: report.originalBytes, storedBytes: report.storedBytes });
  };
  for await (const item of source) {
    report.read++;
    position = item.position;
    line = item.line;
    if (item.ok) {
      batch.push({ record: item.record, where: item.where });
      if (batch.length >= batchSize) await commit();
    } else {
      report.rejected.push({ where: item.where, code: item.error.code, message: item.error.message });
    }
    if (options.signal?.aborted) {
      report.aborted = true;
      break;
    }
  }
  await commit();
  return report;
}

/** A batch refused as a whole (one bad text) is retried record by record so the good ones land. */
async function writeBatch(sink: BatchSink, batch: readonly Pending[], report: ImportReport): Promise<void> {
  if (batch.length === 0) return;
  try {
    tally(await sink.rememberMany(batch.map((p) => p.record)), report);
  } catch (error) {
    if (!(error instanceof MemzipError) || error.code !== ErrorCode.INVALID_INPUT) throw error;
    if (batch.length === 1) {
      report.rejected.push({ where: (batch[0] as Pending).where, code: error.code, message: error.message });
      return;
    }
    for (const pending of batch) await writeBatch(sink, [pending], report);
  }
}

function tally(results: Awaited<ReturnType<BatchSink["rememberMany"]>>, report: ImportReport): void {
  for (const result of results) {
    report[result.status as "stored" | "updated" | "unchanged"]++;
    report.originalBytes += result.originalBytes;
    report.storedBytes += result.storedBytes;
    report.verifyFailures += result.verifyFailures.length;
    if (result.codec) report.byCodec[result.codec] = (report.byCodec[result.codec] ?? 0) + 1;
  }
}
