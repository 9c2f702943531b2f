/** Memories in and out in bulk: JSONL and Arrow imports (JSONL as resumable jobs), exports. */
import { setMaxListeners } from "node:events";
import { statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { decodeStoredText } from "../codec/text.js";
import { checkLibraryFilter } from "../core/filter.js";
import type { DamagedMemories, ImportJob, Store, StoredMemory } from "../core/store.js";
import { processEnded, processToken } from "../core/process-token.js";
import type { ResolvedEngineOptions } from "../engine-options.js";
import { MemzipError, ErrorCode, isMemzipError, resourceError } from "../errors.js";
import type { ExportedMemory } from "../pipeline/arrow.js";
import { emptyImportReport, importRecords, linesReplacedLater, pinRejection, type ImportProgress, type SourceItem } from "../pipeline/batch-import.js";
import { maxLineBytesFor, readJsonlRecords } from "../pipeline/jsonl.js";
import type { MemoryInput } from "../pipeline/records.js";
import type { Counters } from "../pipeline/metrics.js";
import type { EngineAssets } from "./assets.js";
import { emptyRecodeReport, type Maintenance, type TrainingBatch } from "./maintenance.js";
import type { Reader } from "./reader.js";
import { checkDecoded, checkedRow, damagedEntry, inAssetOrder, printableId } from "./rows.js";
import type {
  EngineImportOptions,
  EngineImportReport,
  ExportOptions,
  FinishImportsOptions,
  FinishStep,
  ImportEnding,
  ImportJobView,
  ImportTraining,
  RememberOptions,
  TrainedAsset,
} from "./types.js";
import { checkedText, type Writer } from "./writer.js";
import type { ModelGate } from "./model-gate.js";

/** Memories (and their text bytes) an export reads before decoding them grouped by asset (`inAssetOrder`). */
const EXPORT_WINDOW = 1024;
const EXPORT_WINDOW_BYTES = 8 << 20;

export interface IoParts {
  store: Store;
  options: ResolvedEngineOptions;
  assets: EngineAssets;
  reader: Reader;
  writer: Writer;
  maintenance: Maintenance;
  metricsSnapshot: () => Counters;
  gate: ModelGate;
}

/** How often a running import touches its job row (its heartbeat). */
export const JOB_HEARTBEAT_MS = 15_000;
/** A "running" job untouched this long is reported "stale" (four missed heartbeats: a loaded machine is not a dead one). */
export const JOB_STALE_AFTER_MS = 4 * JOB_HEARTBEAT_MS;

export class ImportExport {
  /** Imports under way (`importJsonl`, `importArrow`, `endImport`): `close` stops each and waits for it. */
  private readonly running = new Set<Promise<unknown>>();
  /** Aborted by `close`: every import under way stops after its step in progress, as at its caller's signal. */
  private readonly closing = new AbortController();

  constructor(private readonly parts: IoParts) {
    // One listener per import under way: a server may run any number at once.
    setMaxListeners(0, this.closing.signal);
  }

  /**
   * Stops the imports under way as their callers' signals would (after the batch or step in progress, a job marked
   * "interrupted", the report `aborted`), waits until none is left, and refuses new ones. The engine's close calls it
   * before the store closes, so a job's last update is written.
   */
  async close(): Promise<void> {
    this.closing.abort();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * Runs an import with a signal that its caller's signal and `close` both abort; `close` waits for it. The caller's
   * signal is forwarded by a listener removed at the end (AbortSignal.any keeps every signal it made alive as long as
   * the caller's lives).
   */
  private tracked<T>(callerSignal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.closing.signal.aborted) return Promise.reject(new MemzipError(ErrorCode.USAGE, "the engine is closed", { hint: "Open a new engine (Engine.open) for more work." }));
    const stop = new AbortController();
    const forward = () => stop.abort(callerSignal?.reason);
    const closed = () => stop.abort();
    if (callerSignal?.aborted) forward();
    else callerSignal?.addEventListener("abort", forward, { once: true });
    this.closing.signal.addEventListener("abort", closed, { once: true });
    const work = run(stop.signal).finally(() => {
      callerSignal?.removeEventListener("abort", forward);
      this.closing.signal.removeEventListener("abort", closed);
      this.running.delete(work);
    });
    this.running.add(work);
    return work;
  }

  /**
   * The newest import jobs; a "running" one whose heartbeat stopped (by the engine's clock) is "stale". A stale or
   * interrupted job is "superseded" when a later import of the same file (same size and mtime) into the same
   * namespace finished: its memories are stored, so resuming it has nothing left to do.
   */
  async jobs(limit?: number): Promise<ImportJobView[]> {
    const now = this.parts.options.clock();
    const jobs = await this.parts.store.jobs.list(limit);
    return jobs.map((job): ImportJobView => {
      const { owner, ...view } = job;
      const status = job.status === "running" && (now - job.updatedAt > JOB_STALE_AFTER_MS || processEnded(owner)) ? "stale" : job.status;
      if (status !== "stale" && status !== "interrupted") return { ...view, status };
      const sameImport = (other: ImportJob) =>
        other.status === "done" && other.startedAt > job.startedAt && other.source === job.source && other.sourceSize === job.sourceSize && other.sourceMtime === job.sourceMtime && other.namespace === job.namespace;
      const later = jobs.filter(sameImport).sort((a, b) => a.startedAt - b.startedAt)[0];
      return later ? { ...view, status: "superseded", supersededBy: later.id } : { ...view, status };
    });
  }

  /** Marks a running job "interrupted" (a process stopping at once, before its import returns). */
  async interruptJob(jobId: string): Promise<void> {
    const job = await this.parts.store.jobs.get(jobId);
    if (job?.status === "running") await this.parts.store.jobs.update(jobId, { status: "interrupted" });
  }

  /** Streams a JSONL file into the store in transactions; re-running it skips what is already stored. */
  importJsonl(path: string, options: EngineImportOptions = {}): Promise<EngineImportReport> {
    return this.tracked(options.signal, (signal) => this.importJsonlFile(path, { ...options, signal }));
  }

  private async importJsonlFile(path: string, options: EngineImportOptions): Promise<EngineImportReport> {
    const { store } = this.parts;
    const { job, alreadyDone } = await this.startJob(path, options);
    if (alreadyDone) return { ...emptyImportReport(), namespace: job.namespace, jobId: job.id, alreadyDone: true };
    const from = { position: job.position, line: job.line };
    options.onJob?.(job.id, from);
    const maxLineBytes = maxLineBytesFor(this.parts.options.maxTextBytes);
    async function* source(): AsyncGenerator<SourceItem> {
      for await (const item of readJsonlRecords(path, options.signal, from, { maxLineBytes })) {
        const at = { where: `line ${item.line}`, position: item.bytesRead, line: item.line };
        yield item.ok ? { ok: true, record: item.record, ...at } : { ok: false, error: item.error, ...at };
      }
    }
    // The heartbeat: `jobs` tells this running import from one whose process was killed. Unref'd, and
    // stopped before this returns, so it never keeps a process alive or writes after the import.
    const heartbeat = setInterval(() => void store.jobs.update(job.id, {}).catch(() => undefined), JOB_HEARTBEAT_MS);
    heartbeat.unref();
    try {
      // A resumed restore with no fixed namespace also ends the import of the namespaces named before it stopped.
      const namedBefore = new Set<string>();
      if (from.position > 0 && !options.pinNamespace) {
        for await (const item of readJsonlRecords(path, options.signal, { position: 0, line: 0 }, { maxLineBytes })) {
          if (item.bytesRead > from.position) break;
          if (item.ok && item.record.namespace !== undefined) namedBefore.add(item.record.namespace);
        }
      }
      // A job that had read its whole file stopped while it ended (training, recoding): what it
      // trained stays, and its recode is finished now even when nothing is left to train.
      const readAll = from.position > 0 && from.position >= job.sourceSize;
      const report = await this.importFrom(source, { ...options, namespace: job.namespace }, { id: job.id, namedBefore, readAll });
      clearInterval(heartbeat);
      await store.jobs.update(job.id, { status: report.aborted ? "interrupted" : "done" });
      return { ...report, jobId: job.id, ...(from.position > 0 ? { resumedFrom: from } : {}) };
    } catch (error) {
      clearInterval(heartbeat);
      let marked = true;
      try {
        await store.jobs.update(job.id, { status: "failed" });
      } catch {
        // The store cannot take even this (disk full, still locked): the import's own error says more.
        marked = false;
      }
      const typed = resourceError(error, "write to the store") ?? error;
      // A full disk or another writer's lock: fixed outside memzip, then this job goes on from its last committed batch.
      if (isMemzipError(typed, ErrorCode.RESOURCE) || isMemzipError(typed, ErrorCode.BUSY)) {
        // A row left "running" refuses --resume until it is stale; a plain rerun skips what is stored either way.
        // Every line committed (the job's position at the file's end): what stopped was the ending (training, recoding,
        // compacting). Only the job's resume finishes that: a plain rerun is a new job, which recodes nothing where the
        // training had already saved its assets.
        const ended = await this.readWholeFile(job.id, job.sourceSize);
        if (ended) {
          const finish = marked
            ? `\`memzip import FILE --resume ${job.id}\` finishes it`
            : `\`memzip import FILE --resume ${job.id}\` finishes it once \`memzip jobs\` shows it stale`;
          throw new MemzipError(
            typed.code,
            `${typed.message}; import job ${job.id} had committed every line of its file (stored, or rejected) and stopped while it ended (training, recoding or compacting)`,
            {
              hint: `${isMemzipError(typed, ErrorCode.RESOURCE) ? "Free disk space or raise the file-size limit (ulimit -f, quota)" : "Let the other writer finish"}; then ${finish}: until then, memories written past the namespace's training threshold may keep a plain codec (zstd). What was committed stays. A plain rerun is no substitute: it recodes nothing once the training is saved.`,
              cause: typed.cause ?? typed,
              details: { ...typed.details, jobId: job.id, readAll: true },
            },
          );
        }
        const resume = marked
          ? `\`memzip import FILE --resume ${job.id}\` continues it (a plain rerun also works, checking every record).`
          : `Run the import again: memories already stored are recognised and skipped (\`--resume ${job.id}\` works once \`memzip jobs\` shows it stale).`;
        throw new MemzipError(typed.code, `${typed.message}; import job ${job.id} stopped after its last committed batch`, {
          hint: `${typed.hint ?? ""} ${resume}`.trim(),
          cause: typed.cause ?? typed,
          details: { ...typed.details, jobId: job.id },
        });
      }
      throw typed;
    }
  }

  /** Whether import job `jobId` committed every line of its file (its position is the file's end); false when its row cannot be read. */
  private async readWholeFile(jobId: string, sourceSize: number): Promise<boolean> {
    try {
      const job = await this.parts.store.jobs.get(jobId);
      return job !== undefined && job.position > 0 && job.position >= sourceSize;
    } catch {
      return false;
    }
  }

  /** Imports an Arrow IPC file with a `text` column (and optional id, kind, tags, meta, created_at). */
  importArrow(bytes: Uint8Array | ArrayBuffer, options: EngineImportOptions = {}): Promise<EngineImportReport> {
    return this.tracked(options.signal, (signal) => this.importArrowBytes(bytes, { ...options, signal }));
  }

  private async importArrowBytes(bytes: Uint8Array | ArrayBuffer, options: EngineImportOptions): Promise<EngineImportReport> {
    // apache-arrow takes ~0.4 s to load: only Arrow imports and exports pay for it.
    const { memoriesFromArrow } = await import("../pipeline/arrow.js");
    async function* source(): AsyncGenerator<SourceItem> {
      let position = 0;
      for (const item of memoriesFromArrow(bytes)) {
        position++;
        yield "record" in item ? { ok: true, ...item, position, line: position } : { ok: false, ...item, position, line: position };
      }
    }
    return this.importFrom(source, options);
  }

  /**
   * Every memory with its exact text and its checksum, in insertion order. A memory that cannot
   * be read back exactly stops the export with its typed error, or, with `onBad`, is reported
   * there and skipped so that every readable memory is still exported. So is a part of the store
   * that cannot be read at all (a damaged sealed block): one report for its memories, as `verify`
   * gives it (their ids are inside the block: its seq range names them).
   */
  async *exportMemories(namespace?: string, options: ExportOptions = {}): AsyncGenerator<ExportedMemory> {
    checkLibraryFilter(options.filter, "export filter");
    // Expired memories (not yet deleted by compact) are left out, as every read leaves them out.
    const filter = { ...options.filter, activeAt: this.parts.options.clock() };
    const { onBad } = options;
    // A window of the scan at a time, decoded grouped by asset (`inAssetOrder`: in seq order a store's namespaces
    // interleave, and each switch of `cm` model was a load), then given out in seq order. A damaged part the scan
    // passes over takes its place in the window, so it is reported after the memories before it, as it was.
    type Entry = { memory: StoredMemory } | { damage: DamagedMemories };
    const window: Entry[] = [];
    const onDamaged = onBad && ((damage: DamagedMemories) => void window.push({ damage }));
    const scan = this.parts.store.memories.scan({
      ...(namespace === undefined ? {} : { namespace }),
      filter,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(onDamaged ? { onDamaged } : {}),
    });
    const read = async (entry: Entry): Promise<ExportedMemory | { error: unknown } | { damage: DamagedMemories }> => {
      if ("damage" in entry) return entry;
      const { memory } = entry;
      try {
        const id = checkedRow(memory);
        const { kind, tags, meta, createdAt, expiresAt } = memory;
        const text = decodeStoredText(checkDecoded(memory, await this.parts.reader.decodeBytes(memory.envelope, memory.originalLength, memory.assetId)));
        return { id, namespace: memory.namespace, kind, tags, meta, createdAt, ...(expiresAt === undefined ? {} : { expiresAt }), text, checksum: memory.checksum };
      } catch (error) {
        return { error };
      }
    };
    const flush = async function* (): AsyncGenerator<ExportedMemory> {
      const entries = window.splice(0);
      const results = await inAssetOrder(
        entries.map((entry) => ("memory" in entry ? entry.memory : { assetId: null })),
        (_, i) => read(entries[i] as Entry),
      );
      for (const [i, result] of results.entries()) {
        if ("damage" in result) {
          onBad?.({ ...damagedEntry(result.damage), memories: result.damage.memories });
          continue;
        }
        if (!("error" in result)) {
          yield result;
          continue;
        }
        const { error } = result;
        if (!onBad || !(error instanceof MemzipError)) throw error;
        const entry = entries[i] as { memory: StoredMemory };
        onBad({ id: printableId(entry.memory.id), code: error.code, message: error.message });
      }
    };
    let windowBytes = 0;
    try {
      for await (const memory of scan) {
        window.push({ memory });
        windowBytes += memory.originalLength;
        if (window.length >= EXPORT_WINDOW || windowBytes >= EXPORT_WINDOW_BYTES) {
          yield* flush();
          windowBytes = 0;
        }
      }
    } catch (error) {
      // The scan failed (a damaged part without onBad): the memories read before it are given out first, as one by one.
      if (!options.signal?.aborted) yield* flush();
      throw error;
    }
    yield* flush();
  }

  /** Every memory as one JSON line (without the newline), in insertion order; `importJsonl` reads them back. */
  async *exportJsonl(namespace?: string, options: ExportOptions = {}): AsyncGenerator<string> {
    for await (const memory of this.exportMemories(namespace, options)) yield JSON.stringify(memory);
  }

  async exportArrow(namespace?: string, options: ExportOptions = {}): Promise<Uint8Array> {
    const memories: ExportedMemory[] = [];
    for await (const memory of this.exportMemories(namespace, options)) memories.push(memory);
    const { memoriesToArrow } = await import("../pipeline/arrow.js");
    return memoriesToArrow(memories);
  }

  /** A new job for a JSONL file, or the one `options.resume` names, checked against the file as it is now. */
  private async startJob(path: string, options: EngineImportOptions): Promise<{ job: ImportJob; alreadyDone?: boolean }> {
    const { store } = this.parts;
    const source = resolve(path);
    let stat: { size: number; mtimeMs: number };
    try {
      stat = statSync(source);
    } catch (cause) {
      throw new MemzipError(ErrorCode.USAGE, `cannot read ${path}: ${(cause as Error).message}`, { hint: "Check the file path.", cause });
    }
    const fingerprint = { sourceSize: stat.size, sourceMtime: Math.floor(stat.mtimeMs) };
    if (options.resume !== undefined) {
      const job = await store.jobs.get(options.resume);
      if (!job) throw new MemzipError(ErrorCode.NOT_FOUND, `no import job "${options.resume}"`, { hint: "List jobs with `memzip jobs` (a job belongs to one store: give the same --db / MEMZIP_DB it ran with)." });
      // A resumed job keeps its namespace: naming another is refused, never dropped in silence.
      if (options.namespace !== undefined && options.namespace !== job.namespace) {
        throw new MemzipError(ErrorCode.USAGE, `job ${job.id} imports into namespace "${job.namespace}", not "${options.namespace}"`, {
          hint: `Resume it without naming a namespace (it keeps "${job.namespace}"), or start a new import into "${options.namespace}" (not a resume).`,
          details: { job: job.id, namespace: job.namespace },
        });
      }
      if (job.source !== source) {
        throw new MemzipError(ErrorCode.USAGE, `job ${job.id} imports ${job.source}, not ${source}`, {
          hint: `Resume it with ${job.source}, or import ${path} as a new import (without --resume).`,
          details: { job: job.id, source: job.source },
        });
      }
      if (job.sourceSize !== fingerprint.sourceSize || job.sourceMtime !== fingerprint.sourceMtime) {
        throw new MemzipError(ErrorCode.USAGE, `job ${job.id} read ${job.source} as it was; that file is not the same now`, {
          hint: "Run the import again without --resume: memories already stored are recognised and skipped.",
          details: { job: job.id },
        });
      }
      // Nothing is left to do (the file is the one it finished): said, not redone.
      if (job.status === "done") return { job, alreadyDone: true };
      // A job whose process still touches it (its heartbeat) is that process's: two would import and train it at once.
      // Unless that process is known to have ended (killed: its row says "running" until the heartbeat goes stale).
      const touchedAgo = this.parts.options.clock() - job.updatedAt;
      if (job.status === "running" && touchedAgo <= JOB_STALE_AFTER_MS && !processEnded(job.owner)) {
        const seconds = Math.max(0, Math.round(touchedAgo / 1000));
        throw new MemzipError(ErrorCode.BUSY, `job ${job.id} is running in another process (it saved its progress ${seconds} s ago)`, {
          hint: `Let it finish (\`memzip jobs\` shows its progress). A process of this machine that was killed is seen at once; one of another machine or container, once \`memzip jobs\` shows the job "stale" (at most ${Math.round(JOB_STALE_AFTER_MS / 1000)} s after its last save).`,
          details: { job: job.id, updatedAt: job.updatedAt },
        });
      }
      // Taken only while the row is as read here: of two resumes racing, the second is refused, never run beside the first.
      const owner = processToken() ?? null;
      if (!(await store.jobs.claim(job.id, job, owner))) {
        throw new MemzipError(ErrorCode.BUSY, `job ${job.id} was resumed by another process just now`, {
          hint: "Let that process finish it (`memzip jobs` shows its progress).",
          details: { job: job.id },
        });
      }
      return { job: { ...job, status: "running", owner } };
    }
    const now = Date.now();
    const job: ImportJob = {
      id: `job-${now.toString(36)}-${randomBytes(3).toString("hex")}`,
      kind: "jsonl",
      source,
      ...fingerprint,
      namespace: options.namespace ?? this.parts.options.namespace,
      status: "running",
      position: 0,
      line: 0,
      startedAt: now,
      updatedAt: now,
      owner: processToken() ?? null,
    };
    await store.jobs.create(job);
    return { job };
  }

  /**
   * How every import ends, local or queued (`memzip import --queue`, a server's queued job: the
   * process that enqueued it, once, after the last chunk), in each namespace it wrote to: when the
   * namespace holds at least `autoTrainAfter` memories and the training rules name assets to train (a
   * zstd dictionary, a cm snapshot), they are trained, the namespace recoded with them and superseded
   * assets pruned; then the store is compacted once if any of that freed pages. The namespaces that
   * trained, with what they trained. `options.signal` stops it between steps with an `E_ABORTED`
   * error whose `details.step` is the step not finished: what was written before stays (a trained
   * asset is saved whole or not at all; a recode commits batch by batch, each memory verified).
   */
  async finishImports(namespaces: readonly string[], options: FinishImportsOptions = {}): Promise<Map<string, ImportTraining>> {
    const trainedBy = new Map<string, ImportTraining>();
    for (const namespace of new Set(namespaces)) {
      const trained = await this.trainAfterImport(namespace, options);
      if (trained) trainedBy.set(namespace, trained);
    }
    // The rows written are packed into sealed blocks (a SQLite store; the seal gives the pages it frees back
    // itself, incrementally: an import of one record into a large store costs no rewrite of the file).
    // A stop asked for before it leaves the rows hot (the next import's ending or compact seals them).
    stopIfAborted(options.signal, { step: "compact" });
    await this.parts.store.seal?.();
    // Recoding rewrote most rows smaller and pruning freed asset pages: the file is rebuilt without the
    // free space (O(file), once per doubling of a namespace, cheaper than the recodes before it).
    if ([...trainedBy.values()].some((t) => t.recode.recoded > 0 || t.pruned.length > 0)) {
      const step: FinishStep = { step: "compact" };
      stopIfAborted(options.signal, step);
      options.onStep?.(step);
      await this.parts.store.compact();
    }
    return trainedBy;
  }

  /** `finishImports` of one namespace: what it trained, or undefined. */
  async finishImport(namespace: string, options: FinishImportsOptions = {}): Promise<ImportTraining | undefined> {
    return (await this.finishImports([namespace], options)).get(namespace);
  }

  /**
   * How an import that wrote to `own` ends (a local one, a queued one): `named` counts the records
   * that reached the writer for each namespace they named (a restore with no fixed namespace), and
   * `rejected` the rejections (with the namespace each named); a namespace named only by rejected
   * records is reported apart and not ended. `finishImports` then runs in `own` and each of the
   * others; a stop by `options.signal` is reported in `interrupted`, not thrown.
   */
  endImport(own: string, named: ReadonlyMap<string, number>, rejected: readonly { namespace?: string }[], options: FinishImportsOptions = {}): Promise<ImportEnding> {
    const rejectedByNamespace = new Map<string, number>();
    for (const { namespace } of rejected) if (namespace !== undefined) rejectedByNamespace.set(namespace, (rejectedByNamespace.get(namespace) ?? 0) + 1);
    return this.tracked(options.signal, (signal) => this.ending(own, named, Object.fromEntries(rejectedByNamespace), { ...options, signal }));
  }

  private async ending(own: string, named: ReadonlyMap<string, number>, rejectedByNamespace: Readonly<Record<string, number>>, options: FinishImportsOptions): Promise<ImportEnding> {
    const ending: ImportEnding = namespacesWritten(own, named, rejectedByNamespace);
    try {
      const trainedBy = await this.finishImports([own, ...(ending.otherNamespaces ?? [])], options);
      const trained = trainedBy.get(own);
      if (trained) ending.trained = trained;
      trainedBy.delete(own);
      if (trainedBy.size > 0) ending.otherTrained = Object.fromEntries(trainedBy);
    } catch (error) {
      if (!isMemzipError(error, ErrorCode.ABORTED) || !options.signal?.aborted) throw error;
      ending.interrupted = error.details.step as FinishStep;
    }
    return ending;
  }

  private async trainAfterImport(namespace: string, options: FinishImportsOptions): Promise<ImportTraining | undefined> {
    const { store, maintenance } = this.parts;
    const { signal, onStep } = options;
    const threshold = this.parts.options.autoTrainAfter;
    // A namespace whose model attempts the import deferred is recoded with the model even when it trains nothing.
    const deferred = options.deferred?.has(namespace) === true;
    const trains = threshold > 0 && (await store.memories.count(namespace)) >= threshold;
    if (!trains && !deferred) return undefined;
    const assets: TrainedAsset[] = [];
    const notUsed: TrainedAsset[] = [];
    const kinds = trains ? await maintenance.assetKindsToTrain(namespace) : [];
    let batch: TrainingBatch | undefined;
    try {
      for (const kind of kinds) {
        const step: FinishStep = { step: "train", namespace, kind };
        stopIfAborted(signal, step);
        onStep?.(step);
        try {
          // Every kind's training starts at the first step, on texts read once (a dictionary's process beside a
          // snapshot's thread); each is then measured in turn, against what the namespace writes with by then.
          batch ??= maintenance.beginTrainings(namespace, kinds, signal);
          // A training measured to store the namespace larger than what it writes with is not used: nothing changed.
          // The ending recodes the namespace either way when it withheld the base or an asset is used already: a first
          // training is measured against that recode.
          const trained = await maintenance.trainAsset(kind, namespace, {}, signal, { recodes: deferred || options.recodeAnyway === true || assets.length > 0, batch });
          (trained.activated ? assets : notUsed).push(trained);
        } catch (error) {
          // Stopped by the caller, or by the engine's close: either way the import resumes from here.
          if (signal?.aborted || isMemzipError(error, ErrorCode.ABORTED)) throw stoppedAt(step, error);
          // Too little text of its own to learn from (e.g. every memory a reference to another
          // namespace's copy), or a new asset another process pruned while it was measured: the
          // import stands, the namespace trains at a later import.
          if (error instanceof MemzipError && (error.code === ErrorCode.USAGE || error.code === ErrorCode.CONFLICT)) continue;
          throw error;
        }
      }
    } finally {
      await batch?.close();
    }
    if (assets.length === 0 && !options.recodeAnyway && !deferred) {
      // Nothing to apply: only the trainings that lost are reported.
      return notUsed.length > 0 ? { assets, notUsed, recode: emptyRecodeReport(), pruned: [] } : undefined;
    }
    let step: FinishStep = { step: "recode", namespace, done: 0 };
    stopIfAborted(signal, step);
    onStep?.(step);
    const write = { ...(options.codec ? { codec: options.codec } : {}), ...(options.model ? { model: options.model } : {}), ...(signal ? { signal } : {}) };
    let recode;
    try {
      recode = await maintenance.recode(namespace, write, (p) => {
        step = { step: "recode", namespace, done: p.done, ...(p.total === undefined ? {} : { total: p.total }) };
        onStep?.(step);
      });
    } catch (error) {
      if (signal?.aborted) throw stoppedAt(step, error);
      throw error;
    }
    const pruned = await this.parts.assets.prune({ namespace, unusedActive: true });
    // Finishing an earlier ending that had nothing left to do says nothing.
    if (assets.length === 0 && notUsed.length === 0 && recode.recoded === 0 && pruned.length === 0) return undefined;
    return { assets, ...(notUsed.length > 0 ? { notUsed } : {}), recode, pruned };
  }

  private async importFrom(
    source: () => AsyncIterable<SourceItem>,
    options: EngineImportOptions,
    job?: { id: string; namedBefore: Iterable<string>; readAll: boolean },
  ): Promise<EngineImportReport> {
    const { store } = this.parts;
    const namespace = options.namespace ?? this.parts.options.namespace;
    const coding = { ...(options.codec ? { codec: options.codec } : {}), ...(options.model ? { model: options.model } : {}) };
    const write: RememberOptions = { namespace, ...coding };
    // The model waits for the recode that ends the import in a namespace not trained yet (Writer.writer).
    const writer = await this.parts.writer.writer({ ...write, ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }) }, Infinity, { deferModel: true });
    const withCheckpoint = {
      ...writer,
      checkpoint: async (position: number, line: number) => {
        if (job) await store.jobs.update(job.id, { position, line });
      },
    };
    const onProgress = options.onProgress && ((progress: ImportProgress) => options.onProgress?.({ ...progress, metrics: this.parts.metricsSnapshot() }));
    // Namespaces named before a resumed job's stop were written to then (their count is unknown: any number).
    const named = new Map<string, number>([...(job?.namedBefore ?? [])].map((name) => [name, Number.POSITIVE_INFINITY]));
    // The last line of an id wins: the earlier ones are read and skipped, so a re-import of the same file changes nothing.
    const pinned = options.pinNamespace === true;
    // A line the import will refuse replaces nothing: one naming another namespace than the pinned one, one that
    // would expire as it is written, or one a write refuses for its own fields (an empty text, a lone surrogate, a text
    // over the limit): its earlier line of the id was skipped, and then neither was written.
    const now = this.parts.options.clock();
    const limits = { maxTextBytes: this.parts.options.maxTextBytes, plainJsonOnly: store.plainJsonOnly === true };
    const takes = (record: MemoryInput): boolean => {
      try {
        checkedText(record, limits);
        return true;
      } catch {
        return false;
      }
    };
    const skipLines = await linesReplacedLater(
      source,
      (record) =>
        record.id === undefined || (pinned && record.namespace !== undefined && record.namespace !== namespace) || (typeof record.expiresAt === "number" && record.expiresAt <= now)
          ? undefined
          : `${record.namespace ?? namespace}\u0000${record.id}`,
      takes,
    );
    const items = noting(pinned ? pinnedTo(source(), namespace) : source(), named);
    const imported = await importRecords(withCheckpoint, items, options.batchSize ?? this.parts.options.batchSize, { ...options, skipLines, ...(onProgress ? { onProgress } : {}) });
    this.parts.gate.save();
    if (imported.aborted) return { namespace, ...imported, ...namespacesWritten(namespace, named, imported.rejectedByNamespace) };
    const ending = await this.ending(namespace, named, imported.rejectedByNamespace, {
      ...coding,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onFinishStep ? { onStep: options.onFinishStep } : {}),
      ...(job?.readAll ? { recodeAnyway: true } : {}),
      ...(writer.deferred.size > 0 ? { deferred: writer.deferred } : {}),
    });
    return { namespace, ...imported, ...ending, aborted: ending.interrupted !== undefined };
  }
}

/** The error that stops `finishImports` at `step`. */
function stoppedAt(step: FinishStep, cause?: unknown): MemzipError {
  const what = step.step === "compact" ? "before compacting the store" : `while ${step.step === "train" ? `training a ${step.kind} for` : "recoding"} namespace "${step.namespace}"`;
  return new MemzipError(ErrorCode.ABORTED, `stopped ${what}; every batch written before stays`, {
    hint: "Resume the import to finish it (what it trained and recoded stays).",
    details: { step },
    ...(cause === undefined ? {} : { cause }),
  });
}

function stopIfAborted(signal: AbortSignal | undefined, step: FinishStep): void {
  if (signal?.aborted) throw stoppedAt(step);
}

/** `own`'s other namespaces that `named` records reached the writer for, less those whose every record was rejected (reported apart). */
function namespacesWritten(own: string, named: ReadonlyMap<string, number>, rejectedByNamespace: Readonly<Record<string, number>>): Pick<ImportEnding, "otherNamespaces" | "rejectedNamespaces"> {
  const rejectedIn = new Map(Object.entries(rejectedByNamespace).filter(([name]) => named.has(name)));
  const others: string[] = [];
  const rejectedOnly: [string, number][] = [];
  for (const [name, count] of named) {
    if (name === own) continue;
    const lost = rejectedIn.get(name) ?? 0;
    if (count > lost) others.push(name);
    else rejectedOnly.push([name, lost]);
  }
  rejectedOnly.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    ...(others.length > 0 ? { otherNamespaces: others.sort() } : {}),
    ...(rejectedOnly.length > 0 ? { rejectedNamespaces: Object.fromEntries(rejectedOnly) } : {}),
  };
}

/** The items of `source`, each accepted record counted in `named` under the namespace it names (when it names one). */
async function* noting(source: AsyncIterable<SourceItem>, named: Map<string, number>): AsyncGenerator<SourceItem> {
  for await (const item of source) {
    if (item.ok) noteNamespace(named, item.record);
    yield item;
  }
}

/** Counts `record` in `named` under the namespace it names, if it names one (`Engine.endImport`'s `named`). */
export function noteNamespace(named: Map<string, number>, record: MemoryInput): void {
  if (record.namespace !== undefined) named.set(record.namespace, (named.get(record.namespace) ?? 0) + 1);
}

/** The items of `source`, a record that names another namespace than `namespace` turned into its rejection. */
async function* pinnedTo(source: AsyncIterable<SourceItem>, namespace: string): AsyncGenerator<SourceItem> {
  for await (const item of source) {
    const error = item.ok ? pinRejection(item.record, namespace, item.where) : undefined;
    yield error && item.ok ? { ok: false, error, where: item.where, position: item.position, line: item.line, ...(item.record.namespace === undefined ? {} : { namespace: item.record.namespace }) } : item;
  }
}
