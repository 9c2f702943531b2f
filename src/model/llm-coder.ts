import { existsSync, statSync } from "node:fs";
import type { Asset } from "../codec/codec.js";
import type { OpenedEnvelope } from "../codec/envelope.js";
import type { LlmCodingSettings } from "../codec/llm.js";
import { z } from "zod";
import { maxMixedBytesFor, MIX_CODER_REVISION, MIX_TUNING } from "../codec/llm-mix.js";
import { MemzipError, ErrorCode } from "../errors.js";
import type { EngineRecord, MixEngineSettings, ModelRepository, RegisteredModel } from "../core/store.js";
import { LlamaTokenModel, type LlamaRuntimeOptions } from "./llama.js";
import { fileSha256, inspectModelFile } from "./registry.js";
import { codingSettings, decodeLoaded, decodeMixedLoaded, encodeLoaded, encodeMixedLoaded, engineRecordFor, matches, mixEngineRecordFor, primingTokens, refOf, type LlmEncoding } from "./llm-core.js";
import { MixModels } from "./mix-models.js";
import { LlmWorkerPool } from "./llm-pool.js";

export type { LlmEncoding } from "./llm-core.js";

/** Settings of the `llm` codec; the coding ones are recorded with every payload (engine record). */
export interface LlmOptions extends LlamaRuntimeOptions {
  /** Tokens per distribution that keep their own probability; `0` codes the full vocabulary. */
  topK: number;
  /** Tokens the model sees at once; `0` means the model's context length, at most 2048. */
  windowTokens: number;
  /** Tokens carried into the next window when a long text overflows one; `0` means a quarter window. */
  carryTokens: number;
  /**
   * Worker threads that run the model for writes, each with its share of `contexts`; `0` writes on
   * the main thread. On a CPU the per-token JavaScript of node-llama-cpp keeps one thread busy, so
   * threads, not contexts, are what scale there. Reads (recall, verify) stay on the main thread.
   */
  workers: number;
  /**
   * Where the namespace has a `cm` snapshot of its own, the model's attempt mixes the model with
   * that `cm` (`llm-mix`, docs/LLM.md "Mixing with `cm`") instead of coding with the model alone.
   * It runs on the main thread (not on `workers`) and takes no priming prefix.
   */
  mix: boolean;
}

const share = z.number().int().min(0).max(4096);
/** What an llm-mix engine record must hold (docs/FORMAT.md): ids, the coder's revision, and a tuning within the coder's ranges. */
const MIX_SETTINGS_SCHEMA = z.object({
  model: z.string().regex(/^[0-9a-f]{64}$/),
  cm: z.string().regex(/^[0-9a-f]{64}$/),
  coder: z.literal(MIX_CODER_REVISION),
  tuning: z.object({
    weights: z.array(z.array(z.number().min(-64).max(64)).length(3)).length(MIX_TUNING.weights.length),
    rate: share,
    early: share,
    prior: z.enum(["cm", "vocabulary"]),
    segmentation: z.enum(["coded", "greedy", "beam"]),
    cut: z.enum(["longest", "likely"]),
    select: z.boolean(),
    apm: z.boolean(),
    speculate: share,
    beam: z.number().int().min(1).max(16),
    prune: share,
    merge: z.boolean(),
  }),
});

/** Private `cm` models a snapshot keeps for `llm-mix` at most (each ~45 MiB; two snapshots are kept): more mixed records wait. */
export const MAX_MIX_MODELS = 4;

export const LLM_DEFAULTS: LlmOptions = { gpu: "auto", threads: 1, contexts: 1, gpuLayers: "auto", topK: 64, windowTokens: 0, carryTokens: 0, workers: 0, mix: false };

/**
 * Writes and reads `llm` envelopes: resolves registered models, loads each once, records the
 * engine a payload was written with, and turns decode failures into the error that names why.
 */
export class LlmCoder {
  private readonly loaded = new Map<string, Promise<LlamaTokenModel>>();
  private readonly verifiedFiles = new Set<string>();
  /** Model files hashed after a decode failure (`checkContent`), by path, size, time and fingerprint: whether each holds its registered bytes. */
  private readonly hashedFiles = new Map<string, boolean>();
  private readonly engines = new WeakMap<LlamaTokenModel, EngineRecord>();
  /** Writes on model worker threads (`options.workers`), started on the first encode. */
  private pool: LlmWorkerPool | undefined;
  private readonly knownEngines = new Set<string>();
  /** Set by close: nothing loads a model or starts a thread after it (they would never be released). */
  private closed = false;

  /** Private `cm` models per snapshot for `llm-mix` (a record holds one across the model's awaits). */
  private readonly mixModels: MixModels;
  private readonly mixEngines = new Map<string, EngineRecord>();

  /** `assetById` finds the `cm` snapshot an `llm-mix` engine record names (the store's assets). */
  constructor(
    private readonly store: ModelRepository,
    readonly options: LlmOptions,
    private readonly assetById: (id: string) => Promise<Asset | undefined> = async () => undefined,
  ) {
    // One private cm model per context mixing at once, at most MAX_MIX_MODELS a snapshot (review25 M-2: ~45 MiB each).
    this.mixModels = new MixModels(Math.max(1, Math.min(options.contexts, MAX_MIX_MODELS)));
  }

  /**
   * A registered model by name or fingerprint, or a GGUF path (registered on first use). `name`: the name the file is to
   * have; one that belongs to another model is refused before anything is registered (trial44: the refused file was
   * registered under its own name).
   */
  async resolveModel(nameOrPath: string, name?: string): Promise<RegisteredModel> {
    const known = await this.store.get(nameOrPath);
    if (known && name === undefined) return known;
    if (!existsSync(nameOrPath)) {
      throw new MemzipError(ErrorCode.MISSING_MODEL, `no model named "${nameOrPath}" is registered and no file has that path`, {
        hint: "Register one with `memzip models add PATH --name NAME`, or list them with `memzip models ls`.",
        details: { model: nameOrPath },
      });
    }
    const inspected = known ?? (await inspectModelFile(nameOrPath));
    const named = name === undefined ? undefined : await this.store.get(name);
    if (named && named.fingerprint !== inspected.fingerprint) {
      throw new MemzipError(ErrorCode.USAGE, `the name "${name}" already belongs to model ${named.fingerprint.slice(0, 12)}…`, { hint: "Pick another name with --name; nothing was registered." });
    }
    if (known) return known;
    const sameFile = await this.store.get(inspected.fingerprint);
    const model = sameFile ? { ...sameFile, path: inspected.path, size: inspected.size, mtime: inspected.mtime } : await uniqueName(this.store, inspected);
    await this.store.put(model);
    return model;
  }

  /**
   * Codes `text` with `model`; `null` when the tokenizer cannot reproduce the text or the payload
   * would not fit in `budgetBytes` (the smallest envelope another codec already made), or when
   * `signal` aborts (a deadline) before it is done.
   */
  async encode(
    text: string,
    original: Uint8Array,
    model: RegisteredModel,
    budgetBytes = Infinity,
    prefix?: Asset,
    signal?: AbortSignal,
  ): Promise<LlmEncoding | null> {
    if (this.options.workers > 0) {
      await this.checkFile(model);
      this.checkOpen();
      this.pool ??= new LlmWorkerPool(this.options);
      const { encoding, engine, verifyFailed } = await this.pool.encode({ path: model.path, fingerprint: model.fingerprint, text, original, budgetBytes, prefix }, signal);
      if (verifyFailed) throw new MemzipError(ErrorCode.VERIFY, "the model's envelope did not decode back to the text in the worker that wrote it");
      if (!this.knownEngines.has(engine.id)) {
        await this.store.putEngine(engine);
        this.knownEngines.add(engine.id);
      }
      return encoding;
    }
    const llama = await this.load(model);
    const settings = codingSettings(llama, this.options, prefix);
    const engine = await this.engineRecord(llama, settings);
    return encodeLoaded(llama, text, original, { modelFingerprint: model.fingerprint, engineId: engine.id, prefix }, settings, budgetBytes, signal);
  }

  /** Rebuilds the original bytes of an opened `llm` envelope, or throws the typed error that says why not. */
  async decode(opened: OpenedEnvelope, resolveAsset: (ref: Uint8Array) => Asset | undefined | Promise<Asset | undefined>): Promise<Uint8Array> {
    if (!opened.model || !opened.engine) throw new MemzipError(ErrorCode.FORMAT, "an llm envelope must name its model and engine");
    let prefix: Asset | undefined;
    if (opened.asset) {
      prefix = await resolveAsset(opened.asset);
      if (!prefix || prefix.kind !== "llm-prefix") {
        const ref = Buffer.from(opened.asset).toString("hex");
        throw new MemzipError(ErrorCode.MISSING_ASSET, `the llm-prefix ${ref}… that this memory was primed with is not in the store`, {
          hint: "Import the asset from the store that wrote the memory, then retry.",
          details: { codec: "llm", assetRef: ref, kind: "llm-prefix" },
        });
      }
    }
    const modelRef = Buffer.from(opened.model).toString("hex");
    const model = await this.store.getByRef(opened.model);
    if (!model) {
      throw new MemzipError(ErrorCode.MISSING_MODEL, `the model ${modelRef}… that this memory was written with is not registered in this store`, {
        hint: "Register the same GGUF file with `memzip models add PATH` (its sha256 starts with the fingerprint shown).",
        details: { modelRef },
      });
    }
    const engine = await this.store.getEngineByRef(opened.engine);
    if (!engine) {
      throw new MemzipError(ErrorCode.ENGINE_MISMATCH, `the engine record ${Buffer.from(opened.engine).toString("hex")}… of this memory is not in this store`, {
        hint: "Move llm memories between stores with `memzip export` / `import` (which re-encode them), not by copying envelopes.",
      });
    }
    const llama = await this.load(model);
    const settings: LlmCodingSettings = {
      vocabularySize: llama.vocabularySize,
      bosToken: llama.bosToken,
      ...engine.settings,
      prefix: prefix ? primingTokens(llama, prefix, engine.settings.windowTokens, engine.settings.carryTokens) : [],
    };
    let decoded: Uint8Array | undefined;
    let failure: unknown;
    try {
      decoded = await decodeLoaded(llama, opened.payload, opened.originalLength, settings);
    } catch (error) {
      failure = error;
    }
    if (decoded && matches(decoded, opened.originalLength, opened.checksum)) return decoded;
    if (engine.runtime !== llama.engine) {
      throw new MemzipError(ErrorCode.ENGINE_MISMATCH, `this llm memory was written by another inference engine and does not decode here`, {
        hint: "Recall it on a machine with the engine that wrote it and run `memzip recode --to zstd` there (or recode before changing machines).",
        cause: failure,
        details: { writtenBy: engine.runtime, here: llama.engine, model: model.name },
      });
    }
    await this.checkContent(model);
    if (failure) {
      throw new MemzipError(ErrorCode.FORMAT, `the llm payload cannot be decoded (${(failure as Error).message})`, {
        hint: "The payload is corrupted or truncated; restore the memory from a backup or an export.",
        cause: failure,
      });
    }
    throw new MemzipError(ErrorCode.CHECKSUM, "the llm payload decoded to bytes that fail the original's checksum", {
      hint: "The payload is corrupted or was written with another model file; restore from a backup.",
      details: { model: model.name },
    });
  }

  /**
   * Codes `text` with `model` and the `cm` of `snapshot` mixed (`llm-mix`): an envelope naming one
   * engine record, which names the model, the snapshot, the window and the tuning. `null` as
   * `encode`'s (and where the engine record's 4-byte reference is taken by another record).
   * Runs on the main thread.
   */
  async encodeMixed(text: string, original: Uint8Array, model: RegisteredModel, snapshot: Asset, budgetBytes = Infinity, signal?: AbortSignal): Promise<LlmEncoding | null> {
    if (snapshot.kind !== "cm-snapshot") throw new MemzipError(ErrorCode.USAGE, `llm-mix writes with a cm-snapshot, not a ${snapshot.kind}`);
    const llama = await this.load(model);
    const settings = codingSettings(llama, this.options);
    const engine = await this.mixEngineRecord(llama, settings, model, snapshot);
    if (!engine) return null;
    const mix = engine.settings.mix as MixEngineSettings;
    return this.mixModels.with(snapshot, (cm) => encodeMixedLoaded(llama, text, original, engine.id, settings, mix.tuning, cm, budgetBytes, signal));
  }

  /** Rebuilds the original bytes of an opened `llm-mix` envelope, or throws the typed error that says why not. */
  async decodeMixed(opened: OpenedEnvelope): Promise<Uint8Array> {
    if (!opened.engine || opened.model || opened.asset) throw new MemzipError(ErrorCode.FORMAT, "an llm-mix envelope must name its engine record and nothing else");
    const engineRef = Buffer.from(opened.engine).toString("hex");
    const engine = await this.store.getEngineByRef(opened.engine);
    if (!engine) {
      throw new MemzipError(ErrorCode.ENGINE_MISMATCH, `the engine record ${engineRef}… of this llm-mix memory is not in this store`, {
        hint: "Move llm-mix memories between stores with `memzip export` / `import` (which re-encode them), not by copying envelopes.",
        details: { codec: "llm-mix", engineRef },
      });
    }
    const mix = engine.settings.mix;
    if (!mix) throw new MemzipError(ErrorCode.FORMAT, `the engine record ${engineRef}… is an llm record, not an llm-mix one`, { hint: "The envelope is corrupted; restore the memory from a backup or an export." });
    if (typeof mix.coder === "number" && mix.coder !== MIX_CODER_REVISION) {
      throw new MemzipError(ErrorCode.VERSION, `this llm-mix memory was written by mixing coder revision ${String(mix.coder)}; this memzip has revision ${MIX_CODER_REVISION}`, {
        hint: "Recall it with the memzip version that wrote it and run `memzip recode --to cm` there, or upgrade memzip.",
        details: { codec: "llm-mix", written: mix.coder, here: MIX_CODER_REVISION },
      });
    }
    // The record is read from the store like an envelope: checked before the coder trusts it (review25 M-4).
    const checked = MIX_SETTINGS_SCHEMA.safeParse(mix);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new MemzipError(ErrorCode.FORMAT, `the engine record ${engineRef}… of this llm-mix memory is damaged (${issue ? `${issue.path.join(".")}: ${issue.message}` : "invalid"})`, {
        hint: "Restore the store (or its engines table) from a backup; the memories it names cannot be decoded without it.",
        details: { codec: "llm-mix", engineRef },
      });
    }
    // A damaged length field would have the model decode up to maxTextBytes before the checksum refuses it: refused here, with no model work.
    const most = maxMixedBytesFor(opened.payload.length, checked.data.tuning);
    if (opened.originalLength > most) {
      throw new MemzipError(ErrorCode.FORMAT, `this llm-mix envelope claims ${opened.originalLength} bytes, more than its ${opened.payload.length}-byte payload can hold (at most ${most})`, {
        hint: "The envelope is corrupted (its length field); restore the memory from a backup or an export.",
        details: { codec: "llm-mix", claimed: opened.originalLength, payloadBytes: opened.payload.length, most },
      });
    }
    const model = await this.store.get(mix.model);
    if (!model) {
      throw new MemzipError(ErrorCode.MISSING_MODEL, `the model ${mix.model.slice(0, 16)}… that this llm-mix memory was written with is not registered in this store`, {
        hint: "Register the same GGUF file with `memzip models add PATH` (its sha256 is the fingerprint shown).",
        details: { codec: "llm-mix", fingerprint: mix.model },
      });
    }
    const snapshot = await this.assetById(mix.cm);
    if (!snapshot || snapshot.kind !== "cm-snapshot") {
      throw new MemzipError(ErrorCode.MISSING_ASSET, `the cm-snapshot ${mix.cm.slice(0, 16)}… that this llm-mix memory was mixed with is not in the store`, {
        hint: "Restore the store from a backup that holds the asset (`memzip export --skip-bad` first saves every memory that still reads; an export holds texts, not assets).",
        details: { codec: "llm-mix", assetId: mix.cm, kind: "cm-snapshot" },
      });
    }
    const llama = await this.load(model);
    const settings: LlmCodingSettings = { vocabularySize: llama.vocabularySize, bosToken: llama.bosToken, topK: engine.settings.topK, windowTokens: engine.settings.windowTokens, carryTokens: engine.settings.carryTokens, prefix: [] };
    let decoded: Uint8Array | undefined;
    let failure: unknown;
    try {
      decoded = await this.mixModels.with(snapshot, (cm) => decodeMixedLoaded(llama, opened.payload, opened.originalLength, settings, mix.tuning, cm));
    } catch (error) {
      failure = error;
    }
    if (decoded && matches(decoded, opened.originalLength, opened.checksum)) return decoded;
    if (engine.runtime !== llama.engine) {
      throw new MemzipError(ErrorCode.ENGINE_MISMATCH, `this llm-mix memory was written by another inference engine and does not decode here`, {
        hint: "Recall it on a machine with the engine that wrote it and run `memzip recode --to cm` there (or recode before changing machines).",
        cause: failure,
        details: { writtenBy: engine.runtime, here: llama.engine, model: model.name },
      });
    }
    await this.checkContent(model);
    if (failure) {
      throw new MemzipError(ErrorCode.FORMAT, `the llm-mix payload cannot be decoded (${(failure as Error).message})`, {
        hint: "The payload is corrupted or truncated; restore the memory from a backup or an export.",
        cause: failure,
      });
    }
    throw new MemzipError(ErrorCode.CHECKSUM, "the llm-mix payload decoded to bytes that fail the original's checksum", {
      hint: "The payload is corrupted, or the model file or the cm snapshot is not the one it was written with; restore from a backup.",
      details: { model: model.name, snapshot: snapshot.id },
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.mixModels.clear();
    await this.pool?.close();
    this.pool = undefined;
    const models = [...this.loaded.values()];
    this.loaded.clear();
    for (const model of models) await (await model.catch(() => undefined))?.dispose();
  }

  /** The coding settings for a loaded model: window from the model's context unless configured. */
  settingsFor(llama: LlamaTokenModel, prefix?: Asset): LlmCodingSettings {
    return codingSettings(llama, this.options, prefix);
  }

  /** Loads a registered model once, after checking that the file on disk is still that model. */
  async load(model: RegisteredModel): Promise<LlamaTokenModel> {
    this.checkOpen();
    let loading = this.loaded.get(model.fingerprint);
    if (!loading) {
      loading = this.checkFile(model).then(() => LlamaTokenModel.load(model.path, this.options));
      this.loaded.set(model.fingerprint, loading);
      loading.catch(() => this.loaded.delete(model.fingerprint));
    }
    return loading;
  }

  private checkOpen(): void {
    if (this.closed) throw new MemzipError(ErrorCode.USAGE, "the llm coder is closed", { hint: "Open a new engine (Engine.open) for more work." });
  }

  private async checkFile(model: RegisteredModel): Promise<void> {
    const missing = (why: string) => missingModel(model, why);
    let stat: { size: number; mtimeMs: number };
    try {
      stat = statSync(model.path);
    } catch {
      throw missing(`is not at ${model.path} any more`);
    }
    if (stat.size === model.size && Math.floor(stat.mtimeMs) === model.mtime) return;
    if (this.verifiedFiles.has(model.path)) return;
    // The file changed on disk since it was registered: only its content can say whether it is the same model.
    if (stat.size !== model.size || (await fileSha256(model.path)) !== model.fingerprint) throw missing(`at ${model.path} is now a different file`);
    this.verifiedFiles.add(model.path);
    await this.store.put({ ...model, mtime: Math.floor(stat.mtimeMs) });
  }

  /**
   * After a payload failed to decode under the runtime that wrote it: a model file whose size and time are those
   * registered (`checkFile` trusts them) may still hold other bytes (rewritten in place and its time set back, a
   * damaged disk). Its content is hashed, once per file and process, so that the error names the model, not the
   * memory: it said the payload was corrupted and to restore the memory from a backup (trial44).
   */
  private async checkContent(model: RegisteredModel): Promise<void> {
    // Kept per file as it is now (path, size, time) and the model it should be: a file rewritten or put back is hashed again.
    let stat: { size: number; mtimeMs: number };
    try {
      stat = statSync(model.path);
    } catch {
      return;
    }
    const key = `${model.path}\u0000${stat.size}\u0000${stat.mtimeMs}\u0000${model.fingerprint}`;
    let same = this.hashedFiles.get(key);
    if (same === undefined) {
      const hash = await fileSha256(model.path).catch(() => undefined);
      // A file that could not be read says nothing about its bytes: not kept, not blamed.
      if (hash === undefined) return;
      same = hash === model.fingerprint;
      this.hashedFiles.set(key, same);
    }
    if (!same) throw missingModel(model, `at ${model.path} no longer holds the bytes it was registered with (its size and time are unchanged, its sha256 is not)`);
  }

  /** The `llm-mix` engine record for a model and snapshot, stored once; undefined where its reference names another record (a 2^-32 chance). */
  private async mixEngineRecord(llama: LlamaTokenModel, settings: LlmCodingSettings, model: RegisteredModel, snapshot: Asset): Promise<EngineRecord | undefined> {
    const key = `${model.fingerprint}:${snapshot.id}:${settings.topK}:${settings.windowTokens}:${settings.carryTokens}`;
    const known = this.mixEngines.get(key);
    if (known) return known;
    const record = mixEngineRecordFor(llama, settings, model.fingerprint, snapshot.id);
    await this.store.putEngine(record);
    if ((await this.store.getEngineByRef(refOf(record.id)))?.id !== record.id) return undefined;
    this.mixEngines.set(key, record);
    return record;
  }

  private async engineRecord(llama: LlamaTokenModel, settings: LlmCodingSettings): Promise<EngineRecord> {
    const known = this.engines.get(llama);
    if (known) return known;
    const record = engineRecordFor(llama, settings);
    await this.store.putEngine(record);
    this.engines.set(llama, record);
    return record;
  }
}


/** The file's base name, or with a numeric suffix when another model already has it. */
async function uniqueName(store: ModelRepository, model: RegisteredModel): Promise<RegisteredModel> {
  let name = model.name;
  for (let i = 2; await store.get(name); i++) name = `${model.name}-${i}`;
  return { ...model, name };
}

function missingModel(model: RegisteredModel, why: string): MemzipError {
  return new MemzipError(ErrorCode.MISSING_MODEL, `model "${model.name}" (${model.fingerprint.slice(0, 16)}…) ${why}`, {
    hint: `Put the same GGUF file back, or register its new location with \`memzip models add PATH --name ${model.name}\`.`,
    details: { model: model.name, fingerprint: model.fingerprint, path: model.path },
  });
}
