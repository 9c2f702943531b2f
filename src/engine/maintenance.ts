/**
 * Work over a whole namespace or store: verify every memory, train assets, recode with the current
 * policy, decide what to (re)train, compact.
 */
import type { createCodecs } from "../codec/registry.js";
import type { DamagedMemories, EnvelopeUpdate, RegisteredModel, Store, StoredAsset, StoredMemory } from "../core/store.js";
import type { ResolvedEngineOptions } from "../engine-options.js";
import { MemzipError, ErrorCode, isMemzipError } from "../errors.js";
import { forgetWhere } from "./forget-where.js";
import type { LlmCoder } from "../model/llm-coder.js";
import { attemptsKeyAsset, isModelCodecName, modelAttempts, ownSnapshot } from "../model/llm-codec.js";
import type { AssetTrainingOptions, TrainableAssetKind } from "../model/asset-trainers.js";
import { deriveSnapshotStateOffThread, trainAssetOffThread } from "../model/asset-train-thread.js";
import { hasDerivedSnapshot } from "../codec/cm/derived-state.js";
import type { DerivedDirectory, SweptFiles } from "../store/derived-dir.js";
import { damagedColumns } from "../store/damage.js";
import { MAX_TABLE_BITS, tableBitsInRange } from "../codec/cm/snapshot.js";
import { forEachConcurrent, forEachConcurrentAsync } from "../core/concurrency.js";
import { Turns, nextTurn } from "../core/turns.js";
import { ACTIVE_ASSET_GRACE_MS, RETRAIN_GROWTH, storedAssetId, type EngineAssets } from "./assets.js";
import { gatedAttempts, type ModelGate } from "./model-gate.js";
import type { SkipTicket } from "../codec/skip-rule.js";
import type { Metrics } from "../pipeline/metrics.js";
import type { WritePolicy } from "./policy.js";
import type { Reader } from "./reader.js";
import { checkDecoded, checkedRow, damagedEntry, groupedByAsset, printableId, readLimit, sha256Hex, unlessDamaged } from "./rows.js";
import type { AssetComparison, CompactReport, ProgressEvent, RecodeOptions, RecodeReport, RemovedModel, SetAsideReport, TrainedAsset, VerifyReport } from "./types.js";
import { REF_BYTES, openEnvelope } from "../codec/envelope.js";
import type { Writer } from "./writer.js";

/** Text handed to an asset trainer at most, newest memories first (zstd suggests ~100x a 110 KB dictionary). */
const TRAINING_SAMPLE_BYTES = 12 << 20;
/**
 * A training that would replace an active asset is measured first on this many memories spread over the namespace
 * (every n-th), up to this much text: ~1 s of `cm` coding, most of which the recode after it finds in the envelope cache.
 */
const MEASURE_MEMORIES = 1024;
const MEASURE_BYTES = 1 << 20;
/**
 * The new asset is used unless the namespace is estimated to grow by more than this with it: the estimate is a sample's
 * (within ~2 % of what the recode then stored on the dev corpus, 750 of 1500 memories measured), and a model of the
 * newer memories is the better bet for the memories still to come.
 */
const MEASURE_TOLERANCE = 1.02;
/** Only what a decode and the measurement of a training need of a memory (a scanned row carries its tags, meta and more). */
type MeasuredRow = Pick<StoredMemory, "envelope" | "assetId" | "originalLength">;
/** Memories of this many bytes or more are sampled apart from the smaller ones for the measurement of a training. */
const LARGE_MEMORY_BYTES = 64 << 10;

/**
 * About one in `stride` of the rows added, up to `budget` bytes of text: past it, about half of those kept and half the
 * rate from then on, so the sample stays spread over all the rows (`seen` of them). Each row is drawn by a fixed mix of
 * its position, not every n-th: a stride has a period, and every 2nd memory of the dev corpus is one the shipped base
 * model learned from (a namespace of its 2000 records measured 48 KB with the base where it stored 167 KB).
 */
class SpreadSample {
  private kept: { row: MeasuredRow; draw: number }[] = [];
  seen = 0;
  private bytes = 0;
  private rate: number;

  constructor(
    stride: number,
    private readonly budget: number,
  ) {
    this.rate = 1 / stride;
  }

  get rows(): MeasuredRow[] {
    return this.kept.map(({ row }) => row);
  }

  add(row: MeasuredRow): void {
    const draw = positionDraw(this.seen++);
    if (draw >= this.rate) return;
    this.kept.push({ row, draw });
    this.bytes += row.originalLength;
    while (this.bytes > this.budget && this.kept.length > 1) {
      this.rate /= 2;
      const half = this.kept.filter((k) => k.draw < this.rate);
      // Never none: the row drawn lowest stays.
      this.kept = half.length > 0 ? half : [this.kept.reduce((low, k) => (k.draw < low.draw ? k : low))];
      this.bytes = this.kept.reduce((sum, k) => sum + k.row.originalLength, 0);
    }
  }
}

/** A position's draw in [0, 1): the same for the same position in every run (murmur3's finalizer over it). */
function positionDraw(position: number): number {
  let x = Math.imul(position ^ 0x9e3779b9, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return (x >>> 0) / 2 ** 32;
}
/**
 * What a namespace's trainings learn from and are measured on, read once for every kind a batch trains: the newest
 * texts (`samples`, oldest first), how many memories they and the namespace hold, the sample of all its memories to
 * measure on (small and large ones apart) with their texts once decoded, and what the namespace stores now.
 */
interface Gathered {
  samples: Uint8Array[];
  /** Memories trained on (their texts read back). */
  memories: number;
  /** The namespace's memories, references included. */
  count: number;
  measured: readonly SpreadSample[];
  texts: Map<MeasuredRow, Uint8Array | undefined>;
  usedAssets: Set<string>;
  namespaceEnvelopes: number;
}

/** A training begun by `beginTrainings`: its texts and the asset's bytes. */
interface BegunTraining {
  gathered: Gathered;
  bytes: Uint8Array;
  trainMs: number;
}

/** The trainings of one namespace begun together (`Maintenance.beginTrainings`). */
export interface TrainingBatch {
  /** The kind's training, for `trainAsset(kind, …, { batch })` (once). */
  take(kind: TrainableAssetKind): Promise<BegunTraining>;
  /** Stops the trainings not taken and waits until every thread has ended. */
  close(): Promise<void>;
}

/** Memories `verify` reads before checking them grouped by asset (`groupedByAsset`). */
const VERIFY_WINDOW = 1024;

function closedWhileTraining(): MemzipError {
  return new MemzipError(ErrorCode.ABORTED, "the engine was closed while it trained an asset", { hint: "Train again on an open engine (an import: resume it)." });
}

/** A recode that checked nothing (an import's ending whose trainings all lost, with nothing to recode). */
export function emptyRecodeReport(): RecodeReport {
  return { checked: 0, recoded: 0, bytesBefore: 0, bytesAfter: 0, skipped: 0, unreadable: 0 };
}

export interface MaintenanceParts {
  store: Store;
  options: ResolvedEngineOptions;
  codecs: ReturnType<typeof createCodecs>;
  policy: WritePolicy;
  assets: EngineAssets;
  reader: Reader;
  writer: Writer;
  llm: LlmCoder;
  gate: ModelGate;
  metrics: Metrics;
  /** Where the trained states of the store's cm snapshots go (undefined: nowhere, each process trains them). */
  modelStates: DerivedDirectory | undefined;
  /** The store's own folder (`<db>.derived/`), which `compact` sweeps; undefined for a server store. */
  derived: DerivedDirectory | undefined;
}

export class Maintenance {
  /** Trainings under way, for `close`. */
  private readonly trainings = new Set<{ stop: AbortController; settled: Promise<void> }>();
  private closing = false;

  constructor(private readonly parts: MaintenanceParts) {}

  /** Decodes every memory and checks it against its checksum; never throws for a bad record. */
  async verify(namespace?: string, onProgress?: (event: ProgressEvent) => void, signal?: AbortSignal): Promise<VerifyReport> {
    const { store, options, reader } = this.parts;
    const report: VerifyReport = { checked: 0, failed: 0, failures: [] };
    // The store's count against what the scan reached, where nothing was written meanwhile (the same change token).
    const tokenBefore = await store.search.changeToken();
    const total = await store.memories.count(namespace);
    let originalBytes = 0;
    let storedBytes = 0;
    // A part of the store that cannot be read (a damaged sealed block): its memories count as checked and failed, and the rest is verified.
    // Each failure's place in the scan: the checks run grouped by asset, and the report lists failures in seq order.
    let scanned = 0;
    const placeOf = new WeakMap<object, number>();
    const onDamaged = (damage: DamagedMemories) => {
      report.checked += damage.memories;
      report.failed += damage.memories;
      const entry = damagedEntry(damage);
      placeOf.set(entry, scanned - 0.5);
      report.failures.push(entry);
    };
    // Each asset a memory in scope needs, against its id (the sha256 of its bytes), read once when the first memory needs
    // it (one asset in memory at a time). A memory decodes from its asset's derived state (`<db>.derived/`, a rebuildable
    // cache) without reading the asset's bytes: a damaged snapshot verified clean until that cache went, and then none
    // of the memories needing it could be read (trial43). An asset row that cannot be read fails its memories alone.
    const assetChecks = new Map<string, Promise<MemzipError | undefined>>();
    const assetProblem = (id: string): Promise<MemzipError | undefined> => {
      let check = assetChecks.get(id);
      if (!check) {
        check = store.assets.get(id).then(
          (asset) =>
            asset && sha256Hex(asset.bytes) !== asset.id
              ? new MemzipError(ErrorCode.CHECKSUM, `its asset ${id} is damaged (its bytes no longer match their sha256): it may decode now from the derived state, and will not once that is rebuilt`, {
                  hint: "Restore the store from a backup, or export it now (while the derived state still decodes it) and import the export into a new store.",
                })
              : undefined,
          (error: unknown) => (error instanceof MemzipError ? error : new MemzipError(ErrorCode.STORE, `its asset ${id} cannot be read: ${String(error)}`)),
        );
        assetChecks.set(id, check);
      }
      return check;
    };
    // What a write of the same text with the same id would mend: damaged metadata columns (written anew), or an envelope
    // that does not read back now (coded anew; a memory whose asset is damaged and still decodes from the derived state
    // is kept as it is by such a write, and a model codec's envelope is not decoded by one).
    const repairable = async (memory: StoredMemory, error: MemzipError): Promise<boolean> =>
      (error.code === ErrorCode.CHECKSUM || error.code === ErrorCode.FORMAT) && typeof memory.id === "string" && (damagedColumns(memory) !== undefined || !(await reader.readsBack(memory)));
    // A window of the scan at a time, grouped by asset: in seq order a store's namespaces interleave, each switch of
    // `cm` model a load (a whole store of five namespaces verified at a few memories a second).
    const numbered = async function* (memories: AsyncIterable<StoredMemory>): AsyncGenerator<StoredMemory> {
      for await (const memory of memories) {
        placeOf.set(memory, scanned++);
        yield memory;
      }
    };
    const scan = groupedByAsset(numbered(store.memories.scan({ ...(namespace === undefined ? {} : { namespace }), ...(signal ? { signal } : {}), onDamaged })), VERIFY_WINDOW);
    const turns = new Turns();
    await forEachConcurrentAsync(scan, options.llm.contexts, async (memory) => {
      // Small memories decode on this thread: the event loop is handed back every ~10 ms.
      await turns.take();
      report.checked++;
      originalBytes += memory.originalLength;
      storedBytes += memory.envelope.length;
      try {
        const assetFailure = memory.assetId ? await assetProblem(memory.assetId) : undefined;
        if (assetFailure) throw assetFailure;
        checkedRow(memory);
        checkDecoded(memory, await reader.decodeBytes(memory.envelope, memory.originalLength, memory.assetId));
      } catch (error) {
        report.failed++;
        const typed = error instanceof MemzipError ? error : new MemzipError(ErrorCode.FORMAT, String(error));
        const entry: VerifyReport["failures"][number] = {
          id: printableId(memory.id),
          code: typed.code,
          message: typed.message,
          ...(typed.hint === undefined ? {} : { hint: typed.hint }),
          ...((await repairable(memory, typed)) ? { repairable: true } : {}),
        };
        placeOf.set(entry, placeOf.get(memory) ?? scanned);
        report.failures.push(entry);
      }
      onProgress?.({ done: report.checked, total, originalBytes, storedBytes });
    });
    report.failures.sort((a, b) => (placeOf.get(a) ?? 0) - (placeOf.get(b) ?? 0));
    // Memories the store counts that no scan reaches (a sealed block's entry gone while its counts stayed) were missed
    // by every check above: export and verify went on without a word (hostile trial of stop 63).
    if (report.checked < total && (await store.search.changeToken()) === tokenBefore) {
      const missing = total - report.checked;
      report.checked += missing;
      report.failed += missing;
      report.failures.push({
        id: `(${missing} ${missing === 1 ? "memory" : "memories"} not reached)`,
        code: ErrorCode.STORE,
        message: `the store counts ${total} memories${namespace === undefined ? "" : ` in namespace "${namespace}"`}, but a scan of it reaches ${total - missing}: ${missing} cannot be read by any path (a part of the store's index of its sealed blocks is damaged)`,
        hint: "Restore the store from a backup; or export it now (what can be read) and import the export into a new store, then import a backup or an older export to store the missing memories again.",
      });
    }
    // Every memory read by its seq above: a damaged key index beside them (which reads and writes by id go through)
    // would verify clean while half the ids failed E_STORE (hostile54).
    const indexes = (await store.damagedIndexes?.()) ?? [];
    if (indexes.length > 0) report.indexes = indexes.map(({ where, error }) => ({ where, code: error.code, message: error.message, ...(error.hint === undefined ? {} : { hint: error.hint }) }));
    return report;
  }

  /**
   * Trains an asset (a zstd dictionary, a context-model snapshot) on the namespace's memories
   * and makes it the one new writes use. Older payloads keep naming the asset they were written with.
   * `internal.recodes`: the caller recodes the namespace whether or not the asset is used (an import's
   * ending), so a first training is measured against what that recode stores without it.
   * `internal.batch`: the kind's texts and training thread, begun by `beginTrainings`.
   */
  async trainAsset(kind: TrainableAssetKind, namespace: string, options: AssetTrainingOptions = {}, signal?: AbortSignal, internal: { recodes?: boolean; batch?: TrainingBatch } = {}): Promise<TrainedAsset> {
    if (this.closing) throw closedWhileTraining();
    // A batch's trainings were begun with the default options.
    if (internal.batch && Object.keys(options).length > 0) throw new Error("a batch's training takes no options");
    return this.stoppable(signal, (stop) => this.train(kind, namespace, options, stop, internal.recodes === true, internal.batch?.take(kind)));
  }

  /**
   * Begins the trainings of `kinds` in `namespace` together, with the default options (an import's ending): the
   * namespace's memories are read and decoded once for all of them, and every kind's training starts at once (a zstd
   * dictionary's process beside a snapshot's thread) instead of one after the other's measurement. Each is then
   * measured and used by `trainAsset(kind, …, { batch })`, in the caller's order, against what the namespace writes
   * with by then. `close` stops what was not taken and waits for it; call it in a `finally`.
   */
  beginTrainings(namespace: string, kinds: readonly TrainableAssetKind[], signal?: AbortSignal): TrainingBatch {
    if (this.closing) throw closedWhileTraining();
    const stop = new AbortController();
    const forward = () => stop.abort(signal?.reason);
    if (signal?.aborted) forward();
    else signal?.addEventListener("abort", forward, { once: true });
    const gathering = this.gather(namespace, kinds.join(" or "), TRAINING_SAMPLE_BYTES, stop.signal);
    const begun = new Map<TrainableAssetKind, Promise<BegunTraining>>();
    for (const kind of kinds) {
      const started = gathering.then(async (gathered) => ({ gathered, ...(await this.trainThread(kind, gathered, {}, stop.signal)) }));
      // Its failure is seen where trainAsset takes it; one never taken fails unheard.
      started.catch(() => undefined);
      begun.set(kind, started);
    }
    // Stoppable by the engine's close while a thread runs; the measurements after run under trainAsset's own entry.
    const entry = { stop, settled: Promise.resolve() };
    entry.settled = Promise.allSettled([gathering, ...begun.values()]).then(() => {
      this.trainings.delete(entry);
    });
    this.trainings.add(entry);
    return {
      take: (kind) => {
        const started = begun.get(kind);
        if (!started) return Promise.reject(new Error(`no ${kind} training was begun`));
        begun.delete(kind);
        return started;
      },
      close: async () => {
        // A training never taken (the ending stopped or failed before it) is stopped: no one would measure it. One that
        // had finished leaves a snapshot no one saves, and the state its thread wrote goes with it.
        stop.abort(closedWhileTraining());
        await entry.settled;
        signal?.removeEventListener("abort", forward);
        for (const outcome of await Promise.allSettled(begun.values())) if (outcome.status === "fulfilled") await this.dropUnsavedState(outcome.value.bytes);
      },
    };
  }

  /**
   * Runs `work` with a signal of its own, registered so that `close` stops it and waits for it; the caller's `signal`
   * is forwarded by a listener removed at the end (AbortSignal.any keeps every signal it made alive as long as the
   * caller's lives).
   */
  private async stoppable<T>(signal: AbortSignal | undefined, work: (stop: AbortSignal) => Promise<T>): Promise<T> {
    const stop = new AbortController();
    const forward = () => stop.abort(signal?.reason);
    if (signal?.aborted) forward();
    else signal?.addEventListener("abort", forward, { once: true });
    const running = work(stop.signal);
    const entry = { stop, settled: running.then(() => undefined, () => undefined) };
    this.trainings.add(entry);
    try {
      return await running;
    } finally {
      this.trainings.delete(entry);
      signal?.removeEventListener("abort", forward);
    }
  }

  /**
   * Stops the trainings under way (their threads, a zstd process) and waits until each has ended; a
   * training asked for from now on (an import's next step, a request during shutdown) is refused.
   */
  async close(): Promise<void> {
    this.closing = true;
    while (this.trainings.size > 0) {
      const running = [...this.trainings];
      for (const { stop } of running) stop.abort(closedWhileTraining());
      await Promise.all(running.map(({ settled }) => settled));
    }
  }

  /**
   * The newest texts of `namespace` up to `budget` bytes, decoded, to train on, and a sample of all its memories to
   * measure a training on. `what` names the asset(s) in the errors.
   */
  private async gather(namespace: string, what: string, budget: number, signal: AbortSignal): Promise<Gathered> {
    // The newest memories up to a byte budget, so training a namespace of millions stays bounded. The scan keeps the
    // newest rows by their texts' lengths and only those are decoded: an older memory costs a read, not a decode (a
    // retraining of a namespace of 500 MB decoded all of it, ~1 MB/s for cm, to keep its newest 12 MiB).
    let rows: MeasuredRow[] = [];
    let first = 0;
    let windowBytes = 0;
    let memories = 0;
    // For the measurement: memories of the whole namespace (not only the newest trained on), the small ones and the
    // large ones sampled apart (one large memory among small ones stood for a thousand of them), and every asset the
    // namespace's memories use now.
    // Its memories, references to another's text included: what an import's retraining rule counts (with the texts of
    // its own only, a namespace of 150 texts and 250 copies of them trained again at every import).
    const count = await this.parts.store.memories.count(namespace);
    const small = new SpreadSample(Math.max(1, Math.ceil(count / MEASURE_MEMORIES)), MEASURE_BYTES);
    const large = new SpreadSample(1, 4 * MEASURE_BYTES);
    const usedAssets = new Set<string>();
    let namespaceEnvelopes = 0;
    for await (const memory of this.parts.store.memories.scan({ namespace, signal })) {
      if (memory.contentOf) continue;
      // A copy: a sealed block's rows are views of the whole block, which a kept view would keep.
      const row = { envelope: memory.envelope.slice(), assetId: memory.assetId, originalLength: memory.originalLength };
      rows.push(row);
      (row.originalLength >= LARGE_MEMORY_BYTES ? large : small).add(row);
      if (row.assetId !== null) usedAssets.add(row.assetId);
      namespaceEnvelopes += memory.envelope.length;
      windowBytes += memory.originalLength;
      memories++;
      while (windowBytes > budget && first < rows.length - 1) windowBytes -= (rows[first++] as (typeof rows)[number]).originalLength;
      if (first > 4096 && first > rows.length / 2) {
        rows = rows.slice(first);
        first = 0;
      }
    }
    if (memories === 0) {
      throw new MemzipError(ErrorCode.USAGE, `namespace ${JSON.stringify(namespace)} has no text of its own to train a ${what} on`, {
        hint: "Its memories are empty or copies of texts another namespace holds; train where the texts are, or add memories first.",
      });
    }
    const samples: Uint8Array[] = [];
    for (const memory of rows.slice(first)) {
      // A memory whose envelope no longer reads back (damaged) has no text to learn from: left out, as `verify` reports it.
      const sample = await unlessDamaged(this.parts.reader.decodeBytes(memory.envelope, 0, memory.assetId));
      if (sample === undefined) {
        memories--;
        continue;
      }
      samples.push(sample);
      // Decodes run on this thread: a turn of the event loop every few dozen keeps a server's requests answered.
      if (samples.length % 32 === 0) {
        await nextTurn();
        signal.throwIfAborted();
      }
    }
    if (samples.length === 0) {
      throw new MemzipError(ErrorCode.CHECKSUM, `namespace ${JSON.stringify(namespace)} has no memory whose text reads back to train a ${what} on`, {
        hint: "`memzip verify` lists the damaged memories: write their texts again (import an export or backup) to repair them.",
      });
    }
    return { samples, memories, count, measured: [small, large], usedAssets, namespaceEnvelopes, texts: new Map() };
  }

  /** Trains `kind` on the gathered texts off this thread (with its model state written where the codecs read it). */
  private async trainThread(kind: TrainableAssetKind, gathered: Gathered, options: AssetTrainingOptions, signal: AbortSignal): Promise<{ bytes: Uint8Array; trainMs: number }> {
    // Off this thread (seconds per MB of text): a server goes on answering, an import's progress and Ctrl-C go on working.
    // The thread writes a new snapshot's model state too (where the codecs read it): deriveState then has nothing to do.
    const started = performance.now();
    const states = this.parts.modelStates;
    const bytes = await trainAssetOffThread(kind, gathered.samples, options, signal, states ? { derivedDir: states.path, derivedOptions: states.options } : undefined);
    const trainMs = performance.now() - started;
    if (signal.aborted) {
      // Stopped as the thread ended: the state it wrote is of no asset.
      await this.dropUnsavedState(bytes);
      signal.throwIfAborted();
    }
    return { bytes, trainMs };
  }

  /**
   * Removes the model state a training thread wrote for the snapshot `bytes` unless the store holds that snapshot: a
   * training stopped or failed before its snapshot was saved leaves nothing derived from it (a state holds the texts).
   */
  private async dropUnsavedState(bytes: Uint8Array): Promise<void> {
    const states = this.parts.modelStates;
    if (!states) return;
    const id = sha256Hex(bytes);
    try {
      if (await this.parts.store.assets.get(id)) return;
    } catch {
      // A store that cannot answer: the state goes (derived data, made again on a saved snapshot's first use).
    }
    states.removeFor(id);
  }

  private async train(kind: TrainableAssetKind, namespace: string, options: AssetTrainingOptions, signal: AbortSignal, recodes: boolean, begun?: Promise<BegunTraining>): Promise<TrainedAsset> {
    const { tableBits } = options;
    if (tableBits !== undefined && !tableBitsInRange(tableBits)) {
      throw new MemzipError(ErrorCode.USAGE, `tableBits ${tableBits} is out of range`, {
        hint: `Give an integer from 16 to ${MAX_TABLE_BITS}: the model takes 4 bytes × 2^tableBits of RAM (23, the default: 32 MiB).`,
      });
    }
    // A new asset is used only where it is measured to store the namespace smaller than what new writes use now: the
    // active asset of its kind, or in a namespace without one, the codecs it writes with (cm's shipped base model, zstd
    // without a dictionary). A first training used unmeasured made young namespaces larger: 40 notes stored in 3.8 KiB
    // with the base took 4.7 KiB with a snapshot of their own, and 9.9 KiB with a dictionary (newcomer trial, stop 63).
    const measure = options.force !== true;
    const active = measure ? await this.parts.assets.active(namespace, kind) : undefined;
    let gathered: Gathered;
    let bytes: Uint8Array;
    let trainMs: number;
    if (begun) {
      ({ gathered, bytes, trainMs } = await begun);
    } else {
      gathered = await this.gather(namespace, kind, Math.max(options.maxBytes ?? 0, TRAINING_SAMPLE_BYTES), signal);
      ({ bytes, trainMs } = await this.trainThread(kind, gathered, options, signal));
    }
    const { memories, count } = gathered;
    const trained = { kind, bytes: bytes.length, samples: memories, trainMs };
    let asset: StoredAsset;
    try {
      signal.throwIfAborted();
      // Stored (with force: and used); else stored but not used yet, measured first against what new writes use now.
      const meta = { samples: Math.max(memories, count) };
      asset = measure ? await this.parts.assets.put(kind, namespace, bytes, meta) : await this.parts.assets.save(kind, namespace, bytes, meta);
    } catch (error) {
      await this.dropUnsavedState(bytes);
      throw error;
    }
    if (!measure) {
      await this.deriveState(asset, signal);
      return { id: asset.id, ...trained, activated: true };
    }
    if (asset.id === active?.id) return { id: asset.id, ...trained, activated: true };
    let comparison: AssetComparison;
    try {
      await this.deriveState(asset, signal);
      comparison = await this.compare(namespace, active, asset, gathered, signal, recodes);
    } catch (error) {
      await this.parts.assets.discard(asset.id);
      throw error;
    }
    if (comparison.trainedBytes > comparison.activeBytes * MEASURE_TOLERANCE) {
      // The namespace keeps what it writes with; an import retrains when the namespace has doubled again, not at its next finish.
      await this.parts.assets.discard(asset.id);
      await this.parts.store.assets.keepActive(namespace, kind, active?.id ?? null, Math.max(memories, count));
      return { id: asset.id, ...trained, activated: false, comparison };
    }
    await this.parts.assets.activate(namespace, asset);
    return { id: asset.id, ...trained, activated: true, comparison };
  }

  /**
   * What the namespace stores now (its envelopes and the assets it keeps: exact) against what it would store once a
   * recode had moved it to the trained asset (estimated). The measured texts are coded as the write policy codes them
   * with the trained asset in place of the active one; each takes its new envelope where the recode would (always for
   * a memory on an asset the namespace no longer writes with, the active one or an older one: the recode moves those
   * whatever the size; else where smaller), and the change is scaled by count within each sample (each measured
   * memory stands for the ones around it; scaled by text bytes instead, a namespace of cm-ref envelopes, ~10 bytes
   * whatever the text's length, was estimated 25 % smaller than its recode made it). The assets the memories need are
   * counted before, and after only those the recode leaves in use (one whose every measured user moves is pruned
   * after it: a group dictionary of 236 notes, 746 bytes, was counted after as well, and the estimate was 22 % over
   * what the recode stored). A first training (no `active` asset) in an import's ending (`recodes`) is measured
   * against the recode the ending runs without it: a memory the import wrote without the shipped base model counts as
   * what the base stores it in.
   */
  private async compare(
    namespace: string,
    active: StoredAsset | undefined,
    trained: StoredAsset,
    gathered: Gathered,
    signal: AbortSignal,
    recodes: boolean,
  ): Promise<AssetComparison> {
    const totals = { envelopes: gathered.namespaceEnvelopes, assetIds: gathered.usedAssets };
    const { writer, reader, policy, assets, options, store } = this.parts;
    const trial = (await assets.byId(trained.id)) ?? trained;
    const candidates = await writer.candidatesFor(namespace, undefined, trial);
    // A `model train` that loses recodes nothing: its namespace stays as stored (one written without the base took
    // 105 KiB, measured as the 45 KiB a recode with the base stores, and kept 105 KiB).
    const without = !active && recodes ? await writer.candidatesFor(namespace) : undefined;
    // The trial's own candidates, where it keeps every other candidate as it is (a first dictionary beside cm: not a
    // first snapshot, which takes the base's place).
    const keepsOthers = without?.every((w) => candidates.some((c) => c.codec === w.codec && c.asset?.id === w.asset?.id)) === true;
    const added = keepsOthers ? candidates.filter((c) => c.asset?.id === trial.id) : undefined;
    const current = new Set(candidates.flatMap((c) => (c.asset ? [c.asset.id] : [])));
    // As the recode decides: a shared group dictionary or a memory's own summary is not superseded by a training.
    const keptAsset = new Map<string, boolean>();
    const keeps = async (assetId: string): Promise<boolean> => {
      let kept = keptAsset.get(assetId);
      if (kept === undefined) {
        const asset = await assets.byId(assetId);
        kept = current.has(assetId) || asset?.meta.group === true || (asset?.kind === "llm-prefix" && asset.meta.summary === true);
        keptAsset.set(assetId, kept);
      }
      return kept;
    };
    const usePool = options.workers > 0;
    let memories = 0;
    let originalBytes = 0;
    let change = 0;
    let nowChange = 0;
    // The assets measured memories use, and those some measured memory keeps using after the recode: one every measured
    // user of which moves (a group dictionary of memories the new asset codes smaller) falls out of use and is pruned.
    const measuredOn = new Set<string>();
    const keptOn = new Set<string>();
    // The assets measured memories would move to, with and without the training: one no memory uses yet counts too (a
    // dictionary activated by the same import's ending, before the recode: a snapshot measured against memories coded
    // with it, its 110 KB left out, lost, and the namespace stored 175,789 bytes where the snapshot stores 69,702).
    const usedNow = new Set<string>();
    const usedAfter = new Set<string>();
    for (const sample of gathered.measured) {
      let sampleChange = 0;
      let sampleNowChange = 0;
      let measured = 0;
      await forEachConcurrent(sample.rows, usePool ? options.concurrency : 1, async (row) => {
        signal.throwIfAborted();
        // Decoded once for every kind a batch measures on the same rows.
        let text = gathered.texts.get(row);
        if (text === undefined && !gathered.texts.has(row)) {
          text = await unlessDamaged(reader.decodeBytes(row.envelope, row.originalLength, row.assetId));
          gathered.texts.set(row, text);
        }
        if (text === undefined) return;
        // Without the training: as stored, or after a first training lost, as the recode without it stores it.
        const before = without ? await policy.choose(text, without, usePool) : undefined;
        let now = row.envelope.length;
        if (before && before.envelope.length < now) {
          now = before.envelope.length;
          if (before.asset) usedNow.add(before.asset.id);
        }
        // A training that only adds a codec: what the others choose, or its own where smaller (coded once, not twice).
        const own = before && added ? await policy.choose(text, added, usePool) : undefined;
        const choice = before && own ? (own.envelope.length < before.envelope.length ? own : before) : await policy.choose(text, candidates, usePool);
        const next = choice.envelope.length;
        const moves = row.assetId !== null && !(await keeps(row.assetId));
        measured++;
        originalBytes += text.length;
        if (row.assetId !== null) {
          measuredOn.add(row.assetId);
          if (!moves && row.envelope.length <= next) keptOn.add(row.assetId);
        }
        if ((moves || next < row.envelope.length) && choice.asset) usedAfter.add(choice.asset.id);
        sampleChange += (moves ? next : Math.min(next, row.envelope.length)) - row.envelope.length;
        sampleNowChange += now - row.envelope.length;
      });
      memories += measured;
      if (measured > 0) {
        change += (sampleChange * sample.seen) / measured;
        nowChange += (sampleNowChange * sample.seen) / measured;
      }
    }
    signal.throwIfAborted();
    // A compact or prune in another process may remove the trained asset while it is unused: every envelope coded with
    // it then failed its check and the measurement means nothing. Refused, not decided on.
    if (!(await store.assets.get(trained.id))) {
      throw new MemzipError(ErrorCode.CONFLICT, `the new ${trained.kind} was removed while it was measured (a compact or prune in another process); nothing changed`, {
        hint: "Train again (the namespace keeps what it writes with meanwhile).",
      });
    }
    // The assets the namespace's memories need (an active one no memory uses yet, after `--no-recode`, is counted only
    // where measured memories would move to it: `stats` leaves it out of what the namespace stores, and compact drops it).
    const held = new Map<string, number>();
    for (const id of totals.assetIds) {
      const asset = id === active?.id ? active : await assets.byId(id);
      if (asset) held.set(id, asset.bytes.length);
    }
    const nowAssets = new Set(held.keys());
    const afterAssets = new Set<string>();
    for (const id of held.keys()) if (id !== trained.id && (await keeps(id)) && (keptOn.has(id) || !measuredOn.has(id))) afterAssets.add(id);
    for (const id of usedNow) nowAssets.add(id);
    for (const id of usedAfter) if (id !== trained.id) afterAssets.add(id);
    // Bytes of stored assets only (the shipped base model is in the package, not the store).
    const storedBytes = async (ids: Set<string>) => {
      let sum = 0;
      for (const id of ids) sum += held.get(id) ?? (await assets.byId(id))?.bytes.length ?? 0;
      return sum;
    };
    const now = totals.envelopes + Math.round(nowChange) + (await storedBytes(nowAssets));
    const after = totals.envelopes + Math.round(change) + trained.bytes.length + (await storedBytes(afterAssets));
    return { ...(active ? { activeId: active.id } : {}), memories, originalBytes, activeBytes: Math.max(0, now), trainedBytes: Math.max(0, after) };
  }

  /**
   * Writes a new cm snapshot's model state where the codecs read it, on a thread of its own: its
   * first use (the recode after an import) would otherwise decode the snapshot and write the state
   * on the thread that uses it. A state that cannot be made leaves that to the first use, as before.
   * The asset is saved by now, so an abort stops only this (the training stands: the caller's next
   * step sees the abort). An asset pruned meanwhile (nothing used it yet) loses the state written for
   * it: the prune's own removal ran before the file was there, and the state holds the texts.
   */
  private async deriveState(asset: StoredAsset, signal: AbortSignal): Promise<void> {
    const states = this.parts.modelStates;
    if (asset.kind !== "cm-snapshot" || !states) return;
    try {
      // Written by the training thread (trainAssetOffThread's `derive`), unless that failed.
      if (!hasDerivedSnapshot(states, asset)) await deriveSnapshotStateOffThread(asset, states.path, states.options, signal);
    } catch {
      // Derived data: its first use makes it.
    }
    if (!(await this.parts.store.assets.get(asset.id))) states.removeFor(asset.id);
  }

  /**
   * Re-encodes a namespace with the current policy (or one forced codec). A new envelope replaces
   * the old one when it is smaller, when the codec is forced, or when the old one needs an asset
   * the namespace no longer writes with — so superseded assets fall out of use and can be pruned.
   * Every new envelope is verified first.
   */
  async recode(namespace: string, options: RecodeOptions = {}, onProgress?: (event: ProgressEvent) => void): Promise<RecodeReport> {
    const { store, assets, reader, writer } = this.parts;
    const codec = options.codec;
    const model = await writer.writeModel(options);
    const candidates = await writer.candidatesFor(namespace, codec);
    const prefix = await assets.active(namespace, "llm-prefix");
    // A forced `llm-mix` mixes with the namespace's snapshot, else the shipped base; the policy's mix with the namespace's own only.
    const snapshot = codec === "llm-mix" && model ? await writer.mixSnapshotFor(namespace) : ownSnapshot(candidates);
    const current = new Set([...candidates.flatMap((c) => (c.asset ? [c.asset.id] : [])), ...(model && prefix ? [prefix.id] : [])]);
    const report: RecodeReport = { ...emptyRecodeReport(), ...(codec === undefined ? {} : { notInCodec: 0 }) };
    const total = await store.memories.count(namespace);
    let batch: EnvelopeUpdate[] = [];
    // Set when another process pruned an asset this recode codes with: it trained a newer one and recoded the namespace itself.
    let overtaken = false;
    // Compare-and-set: a memory rewritten or deleted since it was read keeps what the other writer left.
    const flush = async () => {
      const updates = batch;
      batch = [];
      if (updates.length === 0) return;
      let lost: number;
      try {
        lost = updates.length - (await store.memories.replaceEnvelopes(updates));
      } catch (error) {
        // The batch wrote nothing: its memories keep the envelopes they have (and the assets those need), and this recode stops.
        if (!isMemzipError(error, ErrorCode.MISSING_ASSET)) throw error;
        overtaken = true;
        lost = updates.length;
      }
      report.skipped += lost;
      report.recoded -= lost;
    };
    const filter = { ...options.filter, activeAt: this.parts.options.clock() };
    const scan = store.memories.scan({ namespace, filter, ...(options.signal ? { signal: options.signal } : {}) });
    // Holders whose envelope this recode has taken up (each once).
    const seen = new Set<string>();
    const key = (m: { namespace: string; id: string }) => `${m.namespace}\u0000${m.id}`;
    // The skip rule decides the model attempts (not a forced codec's), in scan order.
    const { gate, metrics } = this.parts;
    const session = model && codec === undefined && gate.enabled ? gate.session() : undefined;
    // The built-in codecs code on the engine's worker threads, as imports do: a server's recode after an import's
    // training (seconds of CPU per thousand memories) leaves its event loop to the requests.
    const usePool = this.parts.options.workers > 0;
    const recodeOne = async (scanned: StoredMemory, ticket: SkipTicket | undefined) => {
      if (overtaken) return;
      let memory = scanned;
      if (scanned.contentOf) {
        // A reference shares its holder's envelope: recoding the holder recodes both. A holder this
        // scan does not reach (expired, or left out by the filter) is recoded for its live reference;
        // a live holder in another namespace is left to that namespace's recode.
        const holder = await this.holderOf(scanned);
        if (!holder || seen.has(key(holder)) || (holder.namespace !== namespace && !reader.expired(holder))) return;
        memory = holder;
      } else if (seen.has(key(scanned))) {
        // A holder already recoded through one of its references.
        return;
      }
      seen.add(key(memory));
      const bytes = await unlessDamaged(reader.decodeBytes(memory.envelope, memory.originalLength, memory.assetId));
      // Damaged (its envelope no longer reads back): left as it is for `verify` to list and a write of its text to repair.
      if (bytes === undefined) {
        report.unreadable++;
        return;
      }
      // A memory coded against its summary may stay so (when that is still the smallest).
      const own = memory.assetId ? await assets.byId(memory.assetId) : undefined;
      const summary = own?.kind === "llm-prefix" && own.meta.summary === true ? own : undefined;
      const models = modelAttempts(this.parts.llm, model, summary ? [prefix, summary] : [prefix], codec === "llm-mix" || (codec === undefined && !summary) ? snapshot : undefined, codec);
      const gated = await gatedAttempts(gate, ticket, memory.namespace, models, attemptsKeyAsset(models, prefix), bytes, this.parts.options.rawBelow, metrics);
      const choice = await this.parts.policy.choose(bytes, [...candidates, ...gated.models], usePool);
      gated.settle(choice);
      report.checked++;
      if (codec !== undefined && choice.codec !== codec) report.notInCodec = (report.notInCodec ?? 0) + 1;
      report.bytesBefore += memory.envelope.length;
      // A shared group dictionary or a memory's own summary is not superseded by training: the memory stays unless something smaller comes.
      const superseded = memory.assetId !== null && !current.has(memory.assetId) && own?.meta.group !== true && !summary;
      const better =
        codec !== undefined
          ? choice.codec !== memory.codec || choice.envelope.length !== memory.envelope.length
          : superseded || choice.envelope.length < memory.envelope.length;
      if (better) {
        report.recoded++;
        batch.push({ namespace: memory.namespace, id: memory.id, version: memory.version ?? 0, codec: choice.codec, envelope: choice.envelope, assetId: storedAssetId(choice.asset) });
        if (batch.length >= this.parts.options.batchSize) await flush();
      }
      report.bytesAfter += better ? choice.envelope.length : memory.envelope.length;
      onProgress?.({ done: report.checked, total, originalBytes: 0, storedBytes: report.bytesAfter });
    };
    await forEachConcurrentAsync(scan, model ? this.parts.options.llm.contexts : usePool ? this.parts.options.concurrency : 1, async (scanned) => {
      const ticket = session?.ticket();
      try {
        await recodeOne(scanned, ticket);
      } finally {
        ticket?.release();
      }
    });
    await flush();
    gate.save();
    return report;
  }

  /** The row holding a reference's envelope (its current version), when the store still names it. */
  private async holderOf(reference: StoredMemory): Promise<StoredMemory | undefined> {
    const { memories } = this.parts.store;
    if (!reference.contentHash || !reference.contentOf) return undefined;
    const found = await memories.findContent(reference.namespace, reference.contentHash, reference.checksum, reference.originalLength);
    if (found && found.id === reference.contentOf) {
      const holder = await memories.get(found.namespace, found.id);
      return holder && !holder.contentOf ? holder : undefined;
    }
    // A reference across namespaces, written by an earlier build (content addressing is per namespace
    // now): its holder is the row of that id, in another namespace, that holds this very text.
    for (const namespace of await memories.namespacesOf(reference.contentOf)) {
      if (namespace === reference.namespace) continue;
      const holder = await memories.get(namespace, reference.contentOf);
      if (holder && !holder.contentOf && sameContent(holder, reference)) return holder;
    }
    return undefined;
  }

  /**
   * Asset kinds the configured codecs need that the namespace lacks, or whose active asset learned
   * from less than half of the memories the namespace now holds (it has outgrown it).
   */
  async assetKindsToTrain(namespace: string): Promise<TrainableAssetKind[]> {
    const { store, options, codecs } = this.parts;
    const kinds = new Set<TrainableAssetKind>();
    const memories = await store.memories.count(namespace);
    for (const name of options.codecs) {
      const needs = codecs.byName.get(name)?.requires as TrainableAssetKind | undefined;
      if (!needs) continue;
      // Kept after the asset is pruned for losing to another codec: it is not retrained until the namespace outgrows it.
      const learnedFrom = await store.assets.learnedFrom(namespace, needs);
      if (learnedFrom * RETRAIN_GROWTH <= memories) kinds.add(needs);
    }
    return [...kinds];
  }

  /** Registers a GGUF model file in the store (or renames / relocates one already known). */
  async addModel(path: string, name?: string): Promise<RegisteredModel> {
    const model = await this.parts.llm.resolveModel(path, name);
    if (name === undefined || name === model.name) return model;
    const renamed = { ...model, name };
    await this.parts.store.models.put(renamed);
    return renamed;
  }

  /**
   * Forgets a registered model (by name or fingerprint; its file is left where it is). Refused while
   * memories are coded with it (`llm`, `llm-mix`: their envelopes name it), unless `force`: those
   * then fail with E_MISSING_MODEL until the same file is registered again. Memories' earlier texts
   * (`history`) are not looked at.
   */
  async removeModel(nameOrFingerprint: string, options: { force?: boolean; signal?: AbortSignal } = {}): Promise<RemovedModel> {
    const { store, options: engineOptions } = this.parts;
    const model = await store.models.get(nameOrFingerprint);
    if (!model) {
      throw new MemzipError(ErrorCode.MISSING_MODEL, `no model "${nameOrFingerprint}" is registered in this store`, { hint: "List the registered models with `memzip models ls`." });
    }
    const ref = model.fingerprint.slice(0, 2 * REF_BYTES);
    const needing = new Map<string, number>();
    let unchecked = 0;
    // An llm-mix envelope names only its engine record, which names the model (the check looked at `llm`'s model
    // reference alone, so a model llm-mix memories needed was removed without --force: newcomer trial of stop 63).
    const mixModels = new Map<string, Promise<string | undefined>>();
    const mixModelOf = (engine: Uint8Array): Promise<string | undefined> => {
      const key = Buffer.from(engine).toString("hex");
      let found = mixModels.get(key);
      if (!found) mixModels.set(key, (found = store.models.getEngineByRef(engine).then((record) => record?.settings.mix?.model)));
      return found;
    };
    const scan = store.memories.scan({ ...(options.signal ? { signal: options.signal } : {}), onDamaged: (damage) => (unchecked += damage.memories) });
    for await (const memory of scan) {
      if (!isModelCodecName(memory.codec)) continue;
      let needs: boolean;
      try {
        const opened = openEnvelope(memory.envelope, readLimit(engineOptions.maxTextBytes, memory.originalLength));
        if (opened.model) needs = Buffer.from(opened.model).toString("hex") === ref;
        else if (opened.engine) needs = (await mixModelOf(opened.engine)) === model.fingerprint;
        else needs = false;
      } catch {
        unchecked++;
        continue;
      }
      if (needs) needing.set(memory.namespace, (needing.get(memory.namespace) ?? 0) + 1);
    }
    const counts = [...needing].map(([namespace, memories]) => ({ namespace, memories })).sort((a, b) => b.memories - a.memories || a.namespace.localeCompare(b.namespace));
    const total = counts.reduce((sum, c) => sum + c.memories, 0);
    if (total > 0 && !options.force) {
      const where = counts.map((c) => `${c.namespace} ${c.memories}`).join(", ");
      throw new MemzipError(ErrorCode.USAGE, `model ${model.name} is needed to read ${total} ${total === 1 ? "memory" : "memories"} (by namespace: ${where})`, {
        hint: `Recode them with another codec first (\`memzip recode --to cm -n ${counts[0]?.namespace ?? "NS"}\` for each namespace), or remove the model anyway with --force: they then cannot be read until the same file is added again.`,
        details: { needing: counts },
      });
    }
    await store.models.delete(model.fingerprint);
    return { model, needing: counts, unchecked };
  }

  /** Sets aside the parts of the store that cannot be read at all (`Engine.setAsideDamaged`). */
  async setAsideDamaged(): Promise<SetAsideReport> {
    const dropped = (await this.parts.store.dropDamaged?.()) ?? [];
    return {
      memories: dropped.reduce((sum, part) => sum + part.memories, 0),
      parts: dropped.map(({ where, memories, error }) => ({ where, memories, code: error.code, message: error.message })),
    };
  }

  /**
   * Deletes every expired memory for good (with its history; a text it held goes to a memory that
   * reads it), prunes every asset no memory needs (also ones a namespace writes with), moves the
   * write-ahead log into the file and rebuilds the file without free pages.
   */
  async compact(): Promise<CompactReport> {
    const { store, assets } = this.parts;
    const fileBytesBefore = (await store.usage()).fileBytes;
    // Expired memories go as a delete by filter would take them (each with its history; a text it held is handed over).
    const { count: expired } = await forgetWhere(store, assets, { expiredBy: this.parts.options.clock() });
    const removed = await assets.prune({ unusedActive: true, keepRecentActive: true });
    await store.compact();
    return { removed, expired, fileBytesBefore, fileBytesAfter: (await store.usage()).fileBytes, derivedRemoved: await this.sweepDerived() };
  }

  /**
   * The store's own folder of model states without leftovers: a state is kept while the store holds its asset, or for
   * `ACTIVE_ASSET_GRACE_MS` after it was written (its training may not have saved the snapshot yet).
   */
  private async sweepDerived(): Promise<SweptFiles> {
    const { derived, store } = this.parts;
    if (!derived) return { files: 0, bytes: 0 };
    const held = new Set((await store.assets.usage()).map((usage) => usage.id));
    // Files are aged by the machine's clock (their mtimes), not the engine's.
    return derived.sweep((id) => held.has(id), ACTIVE_ASSET_GRACE_MS);
  }
}

/** Whether two rows name the same text (content hash, checksum and length). */
function sameContent(a: StoredMemory, b: StoredMemory): boolean {
  return a.checksum === b.checksum && a.originalLength === b.originalLength && a.contentHash !== undefined && b.contentHash !== undefined && Buffer.from(a.contentHash).equals(Buffer.from(b.contentHash));
}
