import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { CommandContext } from "../command.js";
import type { WriteCodecName } from "../../core/vocabulary.js";
import { checkQueueReachable, enqueueImport, importIdFor, importQueueName, DEFAULT_CHUNK_RECORDS, type ImportProgressEvent } from "../../fleet/queue.js";
import { FirstBy } from "../../core/first-by.js";
import { MAX_REJECTIONS_LISTED, linesReplacedLater, pinRejection } from "../../pipeline/batch-import.js";
import { readJsonlRecords } from "../../pipeline/jsonl.js";
import type { MemoryInput } from "../../pipeline/records.js";
import { ProgressBar, formatBytes } from "../progress.js";
import { countOf, emit, openEngine, parseInteger } from "../shared.js";
import { EXIT_FAILURES_FOUND } from "../exit-codes.js";
import { ErrorCode, isMemzipError } from "../../errors.js";
import { onStopSignals, signalExitCode, stoppedBySignal, type StopSignal } from "../stop-signals.js";
import { noteNamespace } from "../../engine.js";
import { modelCodecNeedsModel } from "../../engine/writer.js";
import { MAX_REJECTED_LINES, interruptedLine, pinAdvice, trainingLine } from "./import-lines.js";

/**
 * `memzip import FILE --queue redis://…`: the records go on the store's queue in chunks and the
 * fleet's workers (`memzip worker`) code them; this waits with a progress bar. The import's id is
 * derived from the file (path, size, mtime) and the settings, so running it again resumes:
 * completed chunks are skipped. After the last chunk this process (and only it: workers never
 * train) ends the import as a local one ends: auto-training and recoding when the rules say so.
 */
export async function runQueuedImport(context: CommandContext, file: string, queue: string, codec: WriteCodecName | undefined): Promise<number> {
  const chunkRecords = parseInteger(context.values.chunk, "chunk", 1, 100_000) ?? DEFAULT_CHUNK_RECORDS;
  const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
  const info = statSync(file);
  await checkQueueReachable(queue);
  // The engine is opened for the store's location (it names the queue) and to count the result.
  const engine = openEngine(context, {}, { create: true });
  // Rejections by line: the reader's as it reads, the workers' when the import ends; the first ones listed in line
  // order, all of them counted.
  const rejections = new FirstBy<{ line: number; text: string }>(MAX_REJECTIONS_LISTED, (r) => r.line);
  const controller = new AbortController();
  // The first Ctrl-C or SIGTERM stops waiting (the workers go on with the queued chunks); a second stops at once.
  let stoppedBy: StopSignal | undefined;
  const stopListening = onStopSignals((signal, before) => {
    if (before > 0) process.exit(signalExitCode(signal));
    stoppedBy = signal;
    controller.abort();
  });
  const bar = new ProgressBar(context.stderr, "import", !context.json);
  const own = namespace ?? engine.options.namespace;
  // The namespaces the records go to (without -n, a record goes to the one it names): each ends its import.
  const named = new Map<string, number>();
  let elsewhere = 0;
  // The line of each record enqueued, in order: a worker's rejection names its record's place in the import.
  const lines: number[] = [];
  try {
    // The last line of an id wins, as in a local import: the earlier ones are not queued. Queued, each would be coded
    // by whichever worker took its chunk, and the chunk committed last won (trial: a long first line, committed after
    // the short last one, was the text kept). The file is read once more for it (a hash of each id).
    const superseded = await linesReplacedLater(
      () => readJsonlRecords(file, controller.signal),
      (record) => (record.id === undefined ? undefined : `${record.namespace ?? own}\u0000${record.id}`),
      (record) => namespace === undefined || pinRejection(record, namespace, "") === undefined,
    );
    const records = async function* (): AsyncGenerator<MemoryInput> {
      for await (const item of readJsonlRecords(file, controller.signal)) {
        if (superseded.has(item.line)) continue;
        // -n pins the namespace, as a local import's: a record naming another is rejected, not written there.
        const error = !item.ok ? item.error : namespace === undefined ? undefined : pinRejection(item.record, namespace, `line ${item.line}`);
        if (error) {
          rejections.add({ line: item.line, text: error.message });
          if (item.ok) elsewhere++;
        } else if (item.ok) {
          noteNamespace(named, item.record);
          lines.push(item.line);
          yield item.record;
        }
      }
    };
    const model = engine.options.model || undefined;
    // Refused here, as a local import refuses it: each worker failed every chunk with it (and retried), ~30 s for 63 chunks.
    if ((codec === "llm" || codec === "llm-mix") && !model) throw modelCodecNeedsModel(codec);
    const handle = await enqueueImport(records(), {
      queue,
      location: engine.location,
      // "last": chunks of the last line of each id only (a run of an earlier build queued every line, in other chunks).
      importId: importIdFor(resolve(file), info.size, info.mtimeMs, namespace, codec, chunkRecords, "last"),
      chunkRecords,
      signal: controller.signal,
      ...(namespace ? { namespace } : {}),
      ...(codec ? { codec } : {}),
      ...((codec === "llm" || codec === "llm-mix") && model ? { model } : {}),
    });
    try {
      let warned = false;
      const onProgress = (p: ImportProgressEvent) => {
        // Chunks waiting with no worker on the queue wait for good: said once, on stderr, with what to start.
        if (p.workers === 0 && p.chunksDone < p.chunks && !warned) {
          warned = true;
          bar.done();
          context.stderr.write(
            `memzip: warning: no worker serves this store's queue (${importQueueName(engine.location, (codec === "llm" || codec === "llm-mix") && model ? model : undefined)}): the chunks wait in Redis until one does\n` +
              `  fix: start \`memzip worker --db DB --queue URL\` with the store spelled exactly as this import's --db (the queue is named after it); Ctrl-C stops waiting, and the same import later finds what was done\n`,
          );
        }
        bar.update(p.recordsDone, p.recordsDone, p.records, `chunks ${p.chunksDone}/${p.chunks}${p.workers === undefined ? "" : `, ${countOf(p.workers, "worker", "workers")}`}`);
      };
      const report = await handle.wait({ signal: controller.signal, onProgress });
      bar.done();
      for (const r of report.rejected) rejections.add({ line: lines[r.record] ?? Infinity, text: `line ${lines[r.record] ?? "?"}: ${r.message}` });
      const rejected = rejections.list().map((r) => r.text);
      const rejectedCount = rejections.count + report.rejectedCount - report.rejected.length;
      // Training reads a whole namespace and recodes it: once, here, when every chunk is committed.
      const ending = await engine.endImport(own, named, [], { ...(codec ? { codec } : {}), signal: controller.signal });
      const trainedBy = [...(ending.trained ? ([[own, ending.trained]] as const) : []), ...Object.entries(ending.otherTrained ?? {})];
      const trainedLine = trainedBy
        .map(([name, trained]) => trainingLine(trained, trainedBy.length > 1 || ending.otherNamespaces ? ` in ${name}` : ""))
        .filter((line) => line !== "")
        .map((line) => `\n${line}`)
        .join("");
      const workers = Object.entries(report.byWorker)
        .map(([name, n]) => `${name} ${n}`)
        .join(", ");
      emit(
        context,
        { ...report, superseded: superseded.size, rejected, rejectedCount, ...ending, ...(ending.interrupted ? { aborted: true } : {}) },
        `import ${report.importId}: ${report.records} records in ${report.chunks} chunks` +
          `${superseded.size ? ` (${countOf(superseded.size, "line", "lines")} not queued: a later line has the same id)` : ""}` +
          `${report.skippedChunks ? ` (${report.skippedChunks} already done by an earlier run)` : ""}; ` +
          `${report.written} written, ${report.unchanged} unchanged${report.skippedChunks ? " (every run of this import together)" : ""}, ${formatBytes(report.originalBytes)} -> ${formatBytes(report.storedBytes)}` +
          `${report.rerunChunks ? `\n${countOf(report.rerunChunks, "chunk", "chunks")} ran more than once (a worker stalled, died or failed): counted as their last run found them, which finds what an earlier run wrote unchanged` : ""}` +
          `${workers ? `\nby worker: ${workers}` : ""}${trainedLine}${ending.interrupted ? `\n${interruptedLine(ending.interrupted, undefined)}` : ""}` +
          `${rejected
            .slice(0, MAX_REJECTED_LINES)
            .map((r) => `\n  rejected ${r}`)
            .join("")}` +
          (rejectedCount > MAX_REJECTED_LINES ? `\n  ... and ${rejectedCount - MAX_REJECTED_LINES} more rejected (--json lists the first ${rejected.length})` : "") +
          pinAdvice(elsewhere, own, file),
      );
      return ending.interrupted ? signalExitCode(stoppedBy ?? "SIGINT") : rejectedCount ? EXIT_FAILURES_FOUND : 0;
    } finally {
      await handle.close();
    }
  } catch (error) {
    // Stopped while waiting: the wait's own E_ABORTED, with the signal that ends the process with its code.
    if (stoppedBy !== undefined && isMemzipError(error, ErrorCode.ABORTED)) throw stoppedBySignal(stoppedBy, error.message, error.hint ?? "Run the same import again.", error.details);
    throw error;
  } finally {
    stopListening();
    await engine.close();
  }
}
