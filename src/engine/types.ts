/** The engine's public data types: what callers pass in and get back. */
import type { AsyncCodec } from "../codec/async-codec.js";
import type { ShippedAsset } from "../codec/cm/base.js";
import type { AssetKind } from "../codec/codec.js";
import type { Fingerprint, ImportJob, MemoryFilter, MemoryKind, NamespaceCount, RegisteredModel, Store, StoredAsset, StoredMemory } from "../core/store.js";
import type { EngineOptions, WriteCodecName } from "../engine-options.js";
import type { DerivedDirectory } from "../store/derived-dir.js";
import type { ImportOptions, ImportReport } from "../pipeline/batch-import.js";
import type { MemoryInput } from "../pipeline/records.js";
import type { SemanticStatus } from "../semantic/semantic.js";

export interface RememberOptions {
  namespace?: string;
  /** Force one codec (the write is still verified; raw is the fallback if it cannot prove itself). */
  codec?: WriteCodecName;
  /** The model for `llm` (name, fingerprint or GGUF path); defaults to the engine's `model` option. */
  model?: string;
  /**
   * Code on the engine's worker threads (`workers` > 0) even a single memory: language detection
   * and the built-in codecs' encode and verify leave the calling thread. A long-running server wants
   * this (its event loop keeps answering reads); a one-off write does not (it would start a thread).
   * Batches use the workers either way. Defaults to `false`.
   */
  offload?: boolean;
  /** Every memory written without its own `expiresAt` expires this many ms after the write (by the engine's clock). */
  ttlMs?: number;
}

/** One version of a memory (`engine.history`): an earlier text, or the current one (`replacedAt` null). */
export interface MemoryVersion {
  /** 1 for the first text, counting every change of text. */
  version: number;
  text: string;
  kind: MemoryKind;
  tags: string[];
  meta: Record<string, unknown>;
  language?: string;
  /** When this text became current (ms since the epoch): the memory's creation for version 1. */
  createdAt: number;
  /** When a later text replaced it; null for the current text. */
  replacedAt: number | null;
  originalBytes: number;
  /** Bytes kept for it: the envelope for the current text, the delta against its successor for an earlier one. */
  storedBytes: number;
}

export interface ForgetWhereOptions {
  /** Count and list what would go; delete nothing. */
  dryRun?: boolean;
  /** Allow a filter that narrows nothing (every memory). */
  all?: boolean;
}

export interface ForgetWhereReport {
  /** Memories deleted (or, in a dry run, that would be). */
  count: number;
  /** The first of them (at most 100), in insertion order. */
  ids: { namespace: string; id: string }[];
  dryRun: boolean;
}

/** What `engine.update` changes; what it leaves out stays as it is. */
export interface MemoryPatch {
  text?: string;
  kind?: MemoryKind;
  /** The new tag list (replaces the old one). */
  tags?: readonly string[];
  /** A JSON merge patch (RFC 7396) of the meta: keys to set; a key set to null is removed; an object merges key by key. */
  meta?: Record<string, unknown>;
  /** When the memory expires (ms since the epoch), after now (`E_INVALID_INPUT` otherwise: forget it instead); null: never (clears an expiry). */
  expiresAt?: number | null;
  /** Expire this many ms from now (by the engine's clock); more than 0. */
  ttlMs?: number;
}

/** How `engine.update` writes. */
export interface UpdateOptions {
  /** Code a new text on the worker threads (the server's writes). */
  offload?: boolean;
  /**
   * Write only while the memory's tag (`memoryTag`: text, kind, tags, meta, expiry) is this one, as
   * the caller read it; `*` matches any. Otherwise `E_PRECONDITION`, nothing written: read it again.
   */
  ifMatch?: string;
}

export interface RememberResult {
  id: string;
  namespace: string;
  /** The codec the memory is stored with (an unchanged memory's is the one it had). */
  codec: string;
  originalBytes: number;
  storedBytes: number;
  /** `unchanged` when the same id already held the same text. */
  status: "stored" | "updated" | "unchanged";
  /** `update` only: the memory's tag (`memoryTag`) after it, for the next `ifMatch`. */
  etag?: string;
  /** Codecs whose smaller envelope failed the decode check and were passed over. */
  verifyFailures: string[];
  /** The exact text was already stored: this memory references it and adds no envelope bytes. */
  deduplicated?: boolean;
  /** Coded against a dictionary shared with similar memories of its batch. */
  grouped?: boolean;
  /** Summary and entities: written (`on`), not configured (`off`), or every backend failed (`skipped`; the text is stored exactly all the same). */
  semantic: SemanticStatus;
  /** The `llm` envelope was coded conditioned on the memory's summary (stored as an asset it needs). */
  residual?: boolean;
  /** The same text was stored, but its envelope no longer read back (damaged): this write coded it again. */
  repaired?: boolean;
}

/** One memory encoded and verified, not yet written. */
export interface PlannedWrite {
  result: RememberResult;
  /** What to write; none when the memory is unchanged. */
  row?: StoredMemory;
  /**
   * For an unchanged memory: the row as the plan saw it. Written anyway at commit when an earlier
   * record with the same id (in this batch, or a batch committed since) changed it: the last one wins.
   */
  unchangedRow?: StoredMemory;
  /** The text's bytes, for grouping at commit. */
  bytes?: Uint8Array;
  /** The text's bytes for every plan that writes a row: history codes the text a write replaces against it. */
  text?: Uint8Array;
  /** A summary the envelope may have been conditioned on: stored at commit if the row's envelope needs it. */
  newAsset?: StoredAsset;
  /**
   * For an update: the text the row held when the update read it. The write applies only while the
   * row still holds it (the store's `expected`): a row deleted or changed since is `E_CONFLICT`, never
   * written back (an update must not bring back a memory a concurrent forget removed).
   */
  basis?: Fingerprint;
  /**
   * The fields the record left to the memory's current values (filled from the row it read). A later record of the
   * same id in one batch takes them from the earlier record's row instead, as one sent after it would.
   */
  inherits?: { kind: boolean; tags: boolean; meta: boolean; createdAt: boolean; expiresAt: boolean };
}

/** See `Engine.writer`. */
export interface MemoryWriter {
  /** Memories worth planning at once. */
  concurrency: number;
  plan(input: MemoryInput): Promise<PlannedWrite>;
  commit(plans: readonly PlannedWrite[]): Promise<RememberResult[]>;
}

/**
 * A memory an export skipped (`--skip-bad`): its id and why it could not be read back exactly; or a
 * part of the store that could not be read at all (a damaged sealed block), whose `id` names its
 * seq range, e.g. "(208 memories in the sealed block of seqs 1793..2000)", and `memories` counts them.
 */
export interface ExportFailure {
  id: string;
  code: string;
  message: string;
  /** How many memories this one report stands for: only on a damaged part's report (one memory otherwise). */
  memories?: number;
}

export interface ExportOptions {
  /** Called for each memory that cannot be read back exactly, and once for each part of the store that cannot be read (a damaged sealed block); without it the first such stops the export. */
  onBad?: (failure: ExportFailure) => void;
  /** Stops the export between memories. */
  signal?: AbortSignal;
  /** Only the memories this filter admits (namespaces: the export's own argument). */
  filter?: Omit<MemoryFilter, "namespaces">;
}

export interface VerifyReport {
  checked: number;
  failed: number;
  /** `hint`: what to do; `repairable`: writing the memory's text again with its id (an import of an export or backup holding it) mends it. */
  failures: { id: string; code: string; message: string; hint?: string; repairable?: true }[];
  /**
   * Derived look-up structures of the store that do not read back (SQLite's sealed key runs): no memory is lost, but
   * reads and writes of the keys they hold fail until `compact` makes them again. Absent when there are none.
   */
  indexes?: { where: string; code: string; message: string; hint?: string }[];
}

/** What `setAsideDamaged` did: the parts of the store that could not be read at all, set aside (their bytes kept apart). */
export interface SetAsideReport {
  /** Memories those parts held, unreadable before and gone now: import an export or backup to store them again. */
  memories: number;
  /** One entry per part: where it was (`sealed block of seqs A..B`), how many memories it held, and why it could not be read. */
  parts: { where: string; memories: number; code: string; message: string }[];
}

export interface RecodeReport {
  checked: number;
  recoded: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Memories another writer changed or deleted while recode ran: left as that writer left them. */
  skipped: number;
  /** Memories whose envelope no longer reads back (damaged): left as they are (`verify` lists them; writing their text again repairs them). */
  unreadable: number;
  /**
   * With a forced codec: memories it could not code (it would not make them smaller, or its envelope did not
   * prove itself), written raw instead or left as they were; the rest are in that codec.
   */
  notInCodec?: number;
}

export interface ProgressEvent {
  done: number;
  total?: number;
  originalBytes: number;
  storedBytes: number;
}

export interface EngineImportOptions extends ImportOptions {
  namespace?: string;
  /**
   * Every record goes to `namespace` (the engine's when not given): one that names another is
   * rejected (E_INVALID_INPUT) and written nowhere. A server's import job and `memzip import -n` pin
   * it; without it a record's own `namespace` field wins (a whole-store export restores every namespace).
   */
  pinNamespace?: boolean;
  codec?: WriteCodecName;
  model?: string;
  /** Continue the import job with this id where its last committed batch ended (JSONL only). */
  resume?: string;
  /** Records without their own `expiresAt` expire this many ms after they are written. */
  ttlMs?: number;
  /** Told each step of the import's ending (training, recoding, compacting; see `Engine.finishImports`); `signal` stops it between them. */
  onFinishStep?: (step: FinishStep) => void;
  /** Told the id of the JSONL import's job as soon as it is started or resumed (before any record is read), and where it begins (0 and 0 for a new one). */
  onJob?: (jobId: string, from: { line: number; position: number }) => void;
}

export interface EngineImportReport extends ImportReport, ImportEnding {
  namespace: string;
  /** The job that tracks a JSONL import's progress (`memzip jobs`, `--resume`). */
  jobId?: string;
  /** `resume` named a job that had finished: nothing was read, trained or written. */
  alreadyDone?: boolean;
  /**
   * A resumed job: where this run began (the lines and bytes an earlier run had committed). The report's counts and its
   * progress's `done` cover this run only, the lines after `line`.
   */
  resumedFrom?: { line: number; position: number };
}

/**
 * How an import ended beyond its own rows (`Engine.endImport`): what it trained in its namespace
 * and in the others its records named, and where a signal stopped the ending.
 */
export interface ImportEnding {
  /** Set when the import passed `autoTrainAfter` and assets were trained, then applied by a recode. */
  trained?: ImportTraining;
  /** The other namespaces the records written named (an import with no fixed namespace restores each record to its own), sorted. */
  otherNamespaces?: string[];
  /** The same as `trained` for each of `otherNamespaces` that trained. */
  otherTrained?: Record<string, ImportTraining>;
  /** Namespaces named only by records that were rejected (nothing written there by this import): their rejections. */
  rejectedNamespaces?: Record<string, number>;
  /**
   * Set when the signal stopped the ending (training, recoding, compacting) between two steps:
   * every batch written before stays, the step named was not finished, and the steps after it were
   * not run. Resuming the job (or `memzip recode -n NS` for an import without one) finishes it.
   */
  interrupted?: FinishStep;
}

/** A step of ending an import (`Engine.finishImports`), reported as it starts (a recode after each memory too). */
export type FinishStep =
  | { step: "train"; namespace: string; kind: AssetKind }
  | { step: "recode"; namespace: string; done: number; total?: number }
  | { step: "compact" };

/** How `Engine.finishImports` codes, and what may stop or watch it. */
export interface FinishImportsOptions {
  codec?: WriteCodecName;
  model?: string;
  /** Stops between steps (before a training, between recoded memories, before compacting): an `E_ABORTED` error names the step. */
  signal?: AbortSignal;
  onStep?: (step: FinishStep) => void;
  /**
   * Recode (and prune) a namespace that passed `autoTrainAfter` even when nothing needs training:
   * an earlier ending was cut short after its assets were trained (a resumed job that had read its whole file).
   */
  recodeAnyway?: boolean;
  /**
   * Namespaces whose model attempts the import left to this recode, or whose memories past `autoTrainAfter` it
   * wrote without the shipped base (recoded even when nothing trains, or the training lost to the base).
   */
  deferred?: ReadonlySet<string>;
}

/** What ending an import trained in one namespace: the assets, the recode that applied them, the assets they superseded. */
export interface ImportTraining {
  assets: TrainedAsset[];
  /**
   * Trainings measured to store the namespace larger than what it writes with: removed again (their ids name no stored
   * asset), nothing changed, each with its `comparison`.
   */
  notUsed?: TrainedAsset[];
  recode: RecodeReport;
  pruned: { id: string; kind: AssetKind; bytes: number }[];
}

export interface TrainedAsset {
  id: string;
  kind: AssetKind;
  bytes: number;
  samples: number;
  trainMs: number;
  /**
   * Whether new writes use it now. A training is measured first (`comparison`) against what the namespace writes
   * with: its active asset of the kind, or, in a namespace that has none yet, the codecs it uses without one (`cm`
   * with the shipped base model, zstd without a dictionary). It is used unless the namespace is estimated to grow by
   * more than 2 % with it (or with `force`); one that lost is removed again, and nothing changes.
   */
  activated: boolean;
  /** The measurement (absent with `force`, or when the training made the active asset again). */
  comparison?: AssetComparison;
}

/** A newly trained asset against what a namespace writes with, on texts sampled across the namespace. */
export interface AssetComparison {
  /** The asset of this kind new writes used before the training; absent when the namespace had none. */
  activeId?: string;
  /** Memories sampled (every n-th of the namespace, up to 1 MiB of text) and their text's bytes. */
  memories: number;
  originalBytes: number;
  /**
   * What the namespace stores now: its active asset's bytes and all its envelopes. Estimated from the sample where the
   * namespace has no asset of this kind and an import's ending trained it: that ending recodes the namespace either way
   * (the memories it wrote without the shipped base get the base), and the measured memories count as that recode
   * would store them.
   */
  activeBytes: number;
  /**
   * What it would store once recoded with the new asset, estimated: the new asset's bytes, the envelopes, and the
   * change a recode would make to the sampled memories' envelopes, scaled to all of the namespace's memories.
   */
  trainedBytes: number;
}

export interface RecodeOptions {
  /** Force this codec (`--to`); every memory is rewritten with it where it proves itself. */
  codec?: WriteCodecName;
  /** The model for `llm`; defaults to the engine's. */
  model?: string;
  /** Stops the recode between memories (batches already written stay). */
  signal?: AbortSignal;
  /** Only the memories this filter admits (within the recoded namespace). */
  filter?: Omit<MemoryFilter, "namespaces">;
}

export type { RecallMode } from "../core/vocabulary.js";

/** An asset a prune removed. */
/**
 * What `stats` say of the base models shipped with memzip (while `cmBase` is on, or while any memory
 * needs one): they are in memzip's package, not in the store, and never part of its sizes.
 */
export interface ShippedBaseStats {
  shippedAssets: ShippedAsset[];
  /** Memories (of the namespace, or all) coded with a shipped base: `cm` rows that name no stored asset. */
  baseCodedMemories: number;
  /** The same, per namespace (namespaces with none left out). */
  baseCodedByNamespace: NamespaceCount[];
}

export interface RemovedAsset {
  id: string;
  kind: AssetKind;
  bytes: number;
}

/** A model `removeModel` forgot, with the memories coded with it (only with `force`: otherwise it refuses). */
export interface RemovedModel {
  model: RegisteredModel;
  /** Memories whose envelopes name the model, by namespace, most first: they cannot be read until it is registered again. */
  needing: NamespaceCount[];
  /** Memories the check could not read (a damaged part of the store or envelope), which may need it too. */
  unchecked: number;
}

/** What `compact` removed and the file's size before and after. */
export interface CompactReport {
  removed: RemovedAsset[];
  /** Expired memories deleted for good (each with its history; a text they held is handed to a memory that reads it). */
  expired: number;
  fileBytesBefore: number;
  fileBytesAfter: number;
  /**
   * Leftovers removed from the model states beside the store (`<db>.derived/`, not counted in its bytes): states of
   * assets the store does not hold (a training killed after writing its state, before saving its snapshot) and
   * temporary files of killed writers. Zero for a server store (its states are in the per-user folder).
   */
  derivedRemoved: { files: number; bytes: number };
}

/** Which assets a prune may remove (see `Engine.pruneAssets`). */
export interface PruneFilter {
  kind?: AssetKind;
  namespace?: string;
  unusedActive?: boolean;
  /**
   * With `unusedActive`: an active asset stored within `ACTIVE_ASSET_GRACE_MS` is kept all the same (`compact`: the
   * recode after its training, perhaps in another process, has not committed with it yet). An import's own prune,
   * after its own recode, leaves this off.
   */
  keepRecentActive?: boolean;
}

/** What `Engine.create` takes: any store, a cache, the engine's options. */
export interface EngineParts extends Omit<EngineOptions, "db" | "cache"> {
  store: Store;
  cache?: EngineOptions["cache"];
  /** Derived model state beside the store (a directory); none by default. */
  derived?: DerivedDirectory;
  /** Codecs from outside (`AsyncCodec`, ids and names not taken, else E_USAGE): writes try them after the configured ones, reads decode their envelopes. */
  extraCodecs?: readonly AsyncCodec[];
}

/**
 * An import job as `engine.jobs` reports it. A running import touches its row every
 * `JOB_HEARTBEAT_MS`; a "running" row untouched for `JOB_STALE_AFTER_MS` is reported "stale": its
 * process stopped (killed, or its machine went away) and `memzip import FILE --resume ID` continues it. A stale
 * or interrupted job that a later import of the same file into the same namespace finished is "superseded".
 */
export interface ImportJobView extends Omit<ImportJob, "status" | "owner"> {
  status: ImportJob["status"] | "stale" | "superseded";
  /** The finished job that imported the same file (same size and mtime) into the same namespace after this one stopped. */
  supersededBy?: string;
}
