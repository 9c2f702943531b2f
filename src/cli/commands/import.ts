import type { Command, CommandContext } from "../command.js";
import { hardwareFingerprint, loadCalibration } from "../../core/calibration.js";
import { hardwareFromOs } from "../../core/profiles.js";
import { CODING_OPTIONS, STORE_OPTIONS, WRITE_NAMESPACE } from "../command.js";
import { choices, TRANSFER_FORMATS, WRITE_CODEC_NAMES } from "../../core/vocabulary.js";
import type { Engine } from "../../engine.js";
import { ProgressBar, formatBytes } from "../progress.js";
import { bpb, countOf, dbFlag, emit, inputFileSize, modelOutcomeLines, openEngine, parseChoice, parseCodec, parseInteger, parseTtl, readInputFile, requirePositional, settingsOf, shellWord } from "../shared.js";
import { EXIT_FAILURES_FOUND } from "../exit-codes.js";
import { isSignalExit, onStopSignals, signalExitCode, signalName, type StopSignal } from "../stop-signals.js";
import type { ImportProgress } from "../../pipeline/batch-import.js";
import type { FinishStep } from "../../engine.js";
import { MemzipError, ErrorCode } from "../../errors.js";
import { createWriteStream, mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { runQueuedImport } from "./import-queued.js";
import { MAX_REJECTED_LINES, interruptedLine, pinAdvice, trainingLine } from "./import-lines.js";

/** An import this large (~15,000 memories of dev-corpus size) is worth a calibration of the machine first. */
const CALIBRATION_HINT_BYTES = 4 << 20;

/**
 * A large import with profile auto on a machine not yet calibrated: a one-line hint on a terminal
 * that `memzip profile calibrate` measures the settings (it is not run implicitly: it takes a
 * minute or two, and a busy moment would decide the profile for good).
 */
function calibrationHint(context: CommandContext, size: number): void {
  if (size < CALIBRATION_HINT_BYTES || context.stderr.isTTY !== true || context.values.json === true) return;
  const settings = settingsOf(context);
  if ((settings.profile ?? "auto") !== "auto" || settings.workers !== undefined || settings.concurrency !== undefined) return;
  const hardware = hardwareFromOs();
  if (loadCalibration(hardwareFingerprint(hardware.cpuCores, hardware.ramBytes)).classical) return;
  context.stderr.write("memzip: profile auto is sized by arithmetic on this machine; `memzip profile calibrate` measures it (1–2 min, once; see `memzip profile --help`)\n");
}

/** Ratio so far, cache hit rate and model wins for the progress line. */
function progressDetail(p: ImportProgress): string {
  const parts: string[] = [];
  if (p.storedBytes) parts.push(`ratio ${(p.originalBytes / p.storedBytes).toFixed(2)}x`);
  const hits = p.metrics?.cacheHits ?? 0;
  const lookups = hits + (p.metrics?.cacheMisses ?? 0);
  if (lookups) parts.push(`cache ${((100 * hits) / lookups).toFixed(0)}%`);
  if (p.metrics?.deduplicated) parts.push(`dedup ${p.metrics.deduplicated}`);
  if (p.metrics?.llmAttempts || p.metrics?.llmSkipped || p.metrics?.llmDeferred) {
    const skipped = (p.metrics.llmSkipped ?? 0) + (p.metrics.llmDeferred ?? 0);
    parts.push(`llm ${p.metrics.llmWins ?? 0}/${p.metrics.llmAttempts ?? 0}${skipped ? ` (${skipped} not tried)` : ""}`);
  }
  return parts.join(" ");
}

export const importCommand: Command = {
  name: "import",
  positionals: 1,
  summary: "batch-compress a JSONL (or Arrow) file into the store",
  usage: "memzip import FILE.jsonl|FILE.arrow|- [--format jsonl|arrow] [-n NS] [--batch N] [--resume JOB] [--codec C] [--model M] [--ttl DURATION] [--queue URL [--chunk N]] [--db DB] [--json]",
  help: `Each JSONL line is {"text": "...", "id"?, "namespace"?, "kind"?, "tags"?, "meta"?, "createdAt"?, "expiresAt"?}
(times in ms since the epoch; "expiresAt" null: never); other fields are kept in meta (a field meta
also names is rejected). An Arrow file's columns: text, and id, namespace, kind, tags (JSON text or a list
of strings), meta (JSON text or a struct), created_at and expires_at (timestamps), checksum; other columns
of text, numbers, booleans or timestamps are kept in meta. A record whose id is stored already
writes over it; its kind, tags and meta, where the record leaves them out, stay as stored. FILE "-"
reads stdin (JSONL unless --format arrow): it is first copied to a temporary file, removed when
the import finishes; an interrupted one keeps it and names it for --resume, and the resumed import
removes it when it finishes. Without -n a
record that names a namespace (a JSONL field, an Arrow column) goes there, the others to the
default, so a whole-store export restores every namespace; with -n every record goes to NS and
one that names another namespace is rejected. --ttl gives
records without their own "expiresAt" one that long after the import writes them. A record's id is kept; without one the id is derived from the text, so
running the same import again stores nothing twice. Commits every --batch records, so an
interrupted import keeps what it finished and a rerun continues. Ctrl-C or SIGTERM stops it between
steps (reading, training, recoding; exit 130, 143 for SIGTERM) and prints the --resume JOB that
finishes it (a second signal stops at once, marking the job interrupted); a resumed
job keeps the namespace it started with. Profile auto (the default) uses this machine's
calibration when \`memzip profile calibrate\` made one, else its arithmetic; an import never
calibrates by itself (on a terminal, a file of ${CALIBRATION_HINT_BYTES >> 20} MiB or more on a machine not calibrated
prints a one-line hint). At the end the new rows are sealed into blocks once the store holds
128 memories (see \`memzip compact --help\`; config "seal": false or MEMZIP_SEAL=false keeps them as rows).`,
  options: {
    batch: { type: "string", value: "N", help: "records per transaction (default: the profile's, 32)" },
    resume: {
      type: "string",
      value: "JOB",
      help: "continue JSONL import job JOB where its last committed batch ended, in its namespace\n(`memzip jobs` lists them; a plain rerun also works, checking every record)",
    },
    format: { type: "string", value: "F", help: `${choices(TRANSFER_FORMATS)} (default: from the file name)` },
    codec: {
      type: "string",
      value: "C",
      help: `force one codec (${WRITE_CODEC_NAMES.join(", ")}); still verified before commit
(default: every configured codec, plus llm when a model is set; the smallest wins)`,
    },
    queue: {
      type: "string",
      value: "URL",
      help: "redis://HOST:PORT: put the records on the store's queue in chunks for `memzip worker`\nprocesses to code, and wait (JSONL; running it again skips the chunks done)",
    },
    chunk: { type: "string", value: "N", help: "records per queued chunk (default 32)" },
    ttl: { type: "string", value: "DURATION", help: "records expire DURATION after they are written: 30d, 12h, 90m\n(a record's own expiresAt wins; not with --queue)" },
    ...WRITE_NAMESPACE,
    ...CODING_OPTIONS,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const given = requirePositional(context, 0, "FILE to import (- for stdin)");
    if (given === "-" && typeof context.values.queue === "string") {
      throw new MemzipError(ErrorCode.USAGE, "import - does not go with --queue", { hint: "Save the records to a file and queue that: its chunks are read again by position when the import is run again." });
    }
    const spool = given === "-" ? await spoolStdin(context.stderr) : undefined;
    let keepSpool = false;
    if (spool === undefined && typeof context.values.resume === "string" && isStdinSpool(given)) {
      // `--resume` of an import from stdin that was stopped reads the copy it kept: once that import finishes, the copy
      // (the memories' texts, in plaintext under the temporary folder) goes, as it would have at the first run's end —
      // the copy alone, and its folder only when nothing else is in it.
      const exit = await runImport(context, given, () => undefined);
      if (!isSignalExit(exit) && (exit === 0 || exit === EXIT_FAILURES_FOUND)) {
        rmSync(resolve(given), { force: true });
        try {
          rmdirSync(dirname(resolve(given)));
        } catch {
          // Not empty (or gone): left as it is.
        }
      }
      return exit;
    }
    try {
      // The spool's own stop stays until the import's is in place: a signal between them would otherwise end the
      // process the default way, with the copy of stdin (the memories' texts) left behind.
      const exit = await runImport(context, spool?.file ?? given, () => spool?.release());
      keepSpool = spool !== undefined && isSignalExit(exit);
      if (keepSpool) context.stderr.write(`memzip: the records read from stdin are kept in ${spool?.file ?? ""} for --resume (delete its folder when done)\n`);
      return exit;
    } finally {
      spool?.release();
      if (spool !== undefined && !keepSpool) rmSync(spool.dir, { recursive: true, force: true });
    }
  },
};

/** Whether `path` is the copy of stdin an import from `-` kept for `--resume` (`$TMPDIR/memzip-stdin-XXXXXX/stdin.jsonl`). */
function isStdinSpool(path: string): boolean {
  const full = resolve(path);
  return basename(full) === "stdin.jsonl" && basename(dirname(full)).startsWith("memzip-stdin-") && dirname(dirname(full)) === resolve(tmpdir());
}

/**
 * Copies stdin to a temporary file: an import reads its input by position (resumable jobs, progress
 * by bytes), which a pipe cannot give. Ctrl-C (or SIGTERM) while copying, or before `release` is
 * called (once the import listens itself), removes the copy and ends with 130 (143).
 */
async function spoolStdin(stderr: NodeJS.WritableStream): Promise<{ dir: string; file: string; release: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "memzip-stdin-"));
  const file = join(dir, "stdin.jsonl");
  let copying = true;
  const release = onStopSignals((signal) => {
    rmSync(dir, { recursive: true, force: true });
    stderr.write(`memzip: stopped (${signalName(signal)}) ${copying ? "while reading stdin" : "before the import began"}; nothing imported\n`);
    process.exit(signalExitCode(signal));
  });
  try {
    await pipeline(process.stdin, createWriteStream(file));
    copying = false;
    return { dir, file, release };
  } catch (cause) {
    release();
    rmSync(dir, { recursive: true, force: true });
    throw new MemzipError(ErrorCode.USAGE, `cannot copy stdin to ${dir}: ${(cause as Error).message}`, { hint: "Free some space in the temporary folder ($TMPDIR), or import from a file.", cause });
  }
}

/** Imports `file`; `onListening` is called once this listens to the stop signals itself. */
async function runImport(context: CommandContext, file: string, onListening: () => void = () => undefined): Promise<number> {
  const batchSize = parseInteger(context.values.batch, "batch", 1, 100_000);
  const format = parseChoice(TRANSFER_FORMATS, context.values.format, "format");
  const arrow = format === "arrow" || (format === undefined && /\.(arrow|feather|ipc)$/i.test(file));
  // A missing file is named before the store is opened.
  const size = inputFileSize(file, "FILE");
  const codec = parseCodec(context.values.codec);
  const ttlMs = parseTtl(context.values.ttl);
  if (typeof context.values.queue === "string") {
    if (ttlMs !== undefined) throw new MemzipError(ErrorCode.USAGE, "--ttl does not go with --queue", { hint: 'Give each record its own "expiresAt", or import without --queue.' });
    if (typeof context.values.resume === "string") {
      throw new MemzipError(ErrorCode.USAGE, "--resume does not go with --queue", { hint: "Run the same `memzip import FILE --queue URL` again: it finds its job by the file and settings and skips the chunks done." });
    }
    if (arrow) throw new MemzipError(ErrorCode.USAGE, "--queue imports JSONL files", { hint: "Export the Arrow file as JSONL, or import it without --queue." });
    return runQueuedImport(context, file, context.values.queue, codec);
  }
  if (typeof context.values.resume !== "string") calibrationHint(context, size);
  // A resumed job is in an existing store; only a new import may make one.
  const engine = openEngine(context, {}, { create: typeof context.values.resume !== "string" });
  const controller = new AbortController();
  const bar = new ProgressBar(context.stderr, "import", !context.json);
  let recodeBar: ProgressBar | undefined;
  // The first Ctrl-C or SIGTERM stops after the step in progress; a second stops at once (the batch in
  // flight is not written), marks the job interrupted and prints the command that continues it.
  let jobId: string | undefined;
  let stoppedBy: StopSignal | undefined;
  const stopListening = onStopSignals((signal, before) => {
    if (before === 0) {
      stoppedBy = signal;
      controller.abort();
      const again = signal === "SIGINT" ? "Ctrl-C again stops at once" : "a second SIGTERM or Ctrl-C stops at once";
      context.stderr.write(`${context.stderr.isTTY ? "\n" : ""}memzip: ${signal === "SIGINT" ? "" : "SIGTERM: "}stopping after the step in progress (what is written stays); ${again}\n`);
      return;
    }
    const resume = jobId === undefined ? "" : `; continue with: ${resumeCommand(context, file, jobId)}`;
    context.stderr.write(`memzip: stopped at once (every batch committed before stays)${resume}\n`);
    const marked = jobId === undefined ? Promise.resolve() : engine.interruptJob(jobId).catch(() => undefined);
    // Bounded: a store that cannot take the mark (a server far away) does not keep the process.
    const bound = new Promise((resolve) => setTimeout(resolve, HARD_STOP_MARK_MS).unref());
    void Promise.race([marked, bound]).then(() => process.exit(signalExitCode(signal)));
  });
  onListening();
  try {
    const namespace = context.values.namespace;
    const options = {
      signal: controller.signal,
      // -n pins the namespace: a record naming another is rejected, never written there.
      ...(typeof namespace === "string" ? { namespace, pinNamespace: true } : {}),
      end: arrow ? undefined : size,
      ...(batchSize ? { batchSize } : {}),
      ...(codec ? { codec } : {}),
      ...(ttlMs === undefined ? {} : { ttlMs }),
      ...(typeof context.values.resume === "string" ? { resume: context.values.resume } : {}),
      onJob: (id: string) => {
        jobId = id;
      },
      onProgress: (p: ImportProgress) => bar.update(p.done, p.position, p.end, progressDetail(p)),
      onFinishStep: (step: FinishStep) => {
        if (step.step !== "recode") bar.note(step.step === "train" ? `training a ${step.kind} for namespace ${step.namespace} (Ctrl-C stops it)` : "compacting the store");
        else if (step.done === 0) recodeBar = new ProgressBar(context.stderr, `recode ${step.namespace}`, !context.json);
        else recodeBar?.update(step.done, step.done, step.total);
      },
    };
    const report = arrow ? await engine.importArrow(readInputFile(file, "FILE"), options) : await engine.importJsonl(file, options);
    bar.done();
    if (report.alreadyDone) {
      emit(context, report, `job ${report.jobId ?? ""} had already finished (namespace ${report.namespace}): nothing imported (memzip jobs lists it)`);
      return 0;
    }
    const stats = await engine.stats(report.namespace);
    // A whole-store restore (no -n) writes to every namespace its records name: a line for each.
    const others = report.otherNamespaces ?? [];
    const otherLines: string[] = [];
    for (const name of others.slice(0, MAX_NAMESPACE_LINES)) {
      const s = await engine.stats(name);
      const trainedLine = report.otherTrained?.[name] ? trainingLine(report.otherTrained[name]) : "";
      otherLines.push(
        `\nnamespace ${name}: ${countOf(s.memories, "memory", "memories")}, ${formatBytes(s.originalBytes)} -> ${formatBytes(s.storedBytes)} with assets (${bpb(s.bitsPerByte)} bits/byte)` +
          (trainedLine ? `; ${trainedLine}` : ""),
      );
    }
    if (others.length > MAX_NAMESPACE_LINES) otherLines.push(`\n... and ${others.length - MAX_NAMESPACE_LINES} more namespaces (memzip stats -n NS)`);
    // A namespace that only rejected records named: nothing was written there, and the line says so.
    const rejectedOnly = Object.entries(report.rejectedNamespaces ?? {});
    for (const [name, n] of rejectedOnly.slice(0, MAX_NAMESPACE_LINES)) otherLines.push(`\nnamespace ${name}: nothing stored, ${n} rejected`);
    if (rejectedOnly.length > MAX_NAMESPACE_LINES) otherLines.push(`\n... and ${rejectedOnly.length - MAX_NAMESPACE_LINES} more namespaces with rejected records only`);
    const trainedText = report.trained ? trainingLine(report.trained) : "";
    const trained = trainedText ? `\n${trainedText}` : "";
    const shared =
      report.deduplicated || report.grouped
        ? `\n${report.deduplicated} repeated a text already stored (kept as references, no new bytes); ${report.grouped} coded against a dictionary shared with similar memories`
        : "";
    // Each with its line; a long run of rejections is cut (--json lists the first MAX_REJECTIONS_LISTED).
    const rejected =
      report.rejected
        .slice(0, MAX_REJECTED_LINES)
        .map((r) => `\n  rejected ${r.message.startsWith(r.where) ? r.message : `${r.where}: ${r.message}`}`)
        .join("") + (report.rejectedCount > MAX_REJECTED_LINES ? `\n  ... and ${report.rejectedCount - MAX_REJECTED_LINES} more rejected (--json lists the first ${Math.min(report.rejected.length, report.rejectedCount)})` : "");
    // The pin's advice in this transport's terms (the engine's message names no flag).
    const elsewhere = typeof namespace === "string" ? Object.entries(report.rejectedByNamespace).reduce((sum, [name, n]) => sum + (name === namespace ? 0 : n), 0) : 0;
    const semantic = await semanticSummary(engine);
    const resume = report.jobId === undefined ? undefined : resumeCommand(context, file, report.jobId);
    emit(
      context,
      { ...report, stats, ...(semantic ? { semantic: semantic.json } : {}) },
      `${report.resumedFrom ? `resumed after line ${report.resumedFrom.line} (stored before): ` : ""}read ${report.read}${report.resumedFrom ? " more" : ""}: ${report.stored} stored, ${report.updated} updated${report.repaired ? ` (${report.repaired} repaired: their stored text no longer read back)` : ""}, ${report.unchanged} unchanged, ${report.rejectedCount} rejected` +
        (report.superseded ? ` (${report.superseded} skipped: a later line has the same id, and the last wins)` : "") +
        `${report.aborted && !report.interrupted ? ` (interrupted: ${resume ? `continue with: ${resume}` : "import the file again to continue: what is stored is skipped"})` : ""}` +
        `${shared}${trained}${report.interrupted ? `\n${interruptedLine(report.interrupted, resume)}` : ""}${rejected}${pinAdvice(elsewhere, String(namespace), file)}\n` +
        // A restore into the namespaces its records name says nothing of an empty default namespace.
        (others.length > 0 && stats.memories === 0
          ? `file on disk ${formatBytes(stats.fileBytes)}`
          : `namespace ${report.namespace}: ${countOf(stats.memories, "memory", "memories")}, ${formatBytes(stats.originalBytes)} -> ${formatBytes(stats.storedBytes)} ` +
            `with assets (${bpb(stats.bitsPerByte)} bits/byte; envelopes alone ${bpb(stats.envelopeBitsPerByte)}); file on disk ${formatBytes(stats.fileBytes)}`) +
        `${otherLines.join("")}${modelOutcomeLines(stats.modelOutcomes ?? []).map((line) => `\n${line}`).join("")}${semantic ? `\n${semantic.human}` : ""}`,
    );
    // Interrupted is not "finished with rejected records": 130 (Ctrl-C) or 143 (SIGTERM), as the shell reports a process that signal ended.
    return report.aborted ? signalExitCode(stoppedBy ?? "SIGINT") : report.rejectedCount > 0 ? EXIT_FAILURES_FOUND : 0;
  } finally {
    stopListening();
    await engine.close();
  }
}

/** How long a hard stop (a second Ctrl-C or SIGTERM) waits for the store to mark the job interrupted. */
const HARD_STOP_MARK_MS = 2000;

/** Namespaces beside the import's own that the summary lists one line each. */
const MAX_NAMESPACE_LINES = 10;

/** What the semantic backends did in this run and what it cost; undefined when none is configured. */
async function semanticSummary(engine: Engine): Promise<{ json: unknown; human: string } | undefined> {
  const stats = await engine.semanticStats();
  const costs = await engine.semanticCosts();
  if (!stats || !costs) return undefined;
  const money = (v: number) => v.toFixed(4);
  const tokens = costs.lines.map((l) => `${l.backend} ${l.calls} calls, ${l.promptTokens}+${l.completionTokens} tokens`).join("; ");
  return {
    json: { described: stats.described, skipped: stats.skipped, fallbacks: stats.fallbacks, entityFallbacks: stats.entityFallbacks, json: stats.json, backends: stats.backends, costs },
    human:
      `semantic: ${stats.described} summarized, ${stats.skipped} skipped, ${stats.fallbacks} fallbacks (${tokens}); ` +
      `answers not valid JSON: ${stats.json.repaired} repaired, ${stats.json.retries} asked again, ${stats.json.failed} given up\n` +
      (stats.entityFallbacks > 0 ? `entities: the tagger failed on ${stats.entityFallbacks} memories, which took the rules+nlp entities\n` : "") +
      `cost ${money(costs.total)} (${money(costs.per1000Memories)} per 1,000 memories); local work ${money(costs.local.cost)} against ${money(costs.local.cloudEquivalent)} in the cloud (saved ${(costs.local.savingsShare * 100).toFixed(0)} %)`,
  };
}

/**
 * The command that continues job `jobId` as this one ran, to be pasted: the file, every option given (`-n` pins the
 * namespace, `--ttl` gives the records an expiry, `--codec`, `--model`, … — the job row keeps none of them: a resume
 * without `-n` stored the records that named other namespaces there) and the store. `--resume JOB` alone is E_USAGE.
 */
function resumeCommand(context: CommandContext, file: string, jobId: string): string {
  const flags: string[] = [];
  for (const [name, value] of Object.entries(context.values)) {
    if (name === "resume" || name === "db" || name === "json" || name === "help") continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one === true) flags.push(`--${name}`);
      else if (typeof one === "string") flags.push(`--${name} ${shellWord(one)}`);
    }
  }
  return `memzip import ${shellWord(file)}${flags.map((flag) => ` ${flag}`).join("")} --resume ${jobId}${dbFlag(context)}`;
}
