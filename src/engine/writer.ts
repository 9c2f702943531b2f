/**
 * The write path: plan (encode and verify one memory, nothing written), group similar memories of a
 * batch under a shared dictionary, commit (one transaction). The policy picks each envelope.
 */
import type { Asset, AssetKind, Codec } from "../codec/codec.js";
import { checksum32 } from "../codec/checksum.js";
import { decodeEnvelope, encodeEnvelope, refMatches } from "../codec/envelope-codec.js";
import type { CodecCandidate } from "../codec/policy.js";
import type { createCodecs } from "../codec/registry.js";
import { decodeStoredText, textToBytes } from "../codec/text.js";
import { memoryKey, type ContentHolder, type RegisteredModel, type Store, type StoredAsset, type StoredMemory } from "../core/store.js";
import { isWriteCodecName, type ResolvedEngineOptions, type WriteCodecName } from "../engine-options.js";
import { MEMORY_KINDS, WRITE_CODEC_NAMES } from "../core/vocabulary.js";
import { MemzipError, ErrorCode, isMemzipError, resourceError } from "../errors.js";
import { detectLanguage } from "../semantic/language.js";
import type { LlmCoder } from "../model/llm-coder.js";
import { attemptsKeyAsset, isModelCodecName, modelAttempts, ownSnapshot } from "../model/llm-codec.js";
import type { Metrics } from "../pipeline/metrics.js";
import { checkMemoryId, createdProblem, expiryProblem, LATEST_TIME_MS, MAX_META_CHARS, MAX_META_DEPTH, metaProblem, NAMESPACE_PATTERN, plainJsonProblem, tagsProblem, type MemoryInput } from "../pipeline/records.js";
import { groupBySimilarity, type HashedNgramEmbedder } from "../search/similarity.js";
import { damagedColumns } from "../store/damage.js";
import { isBaseAsset } from "../codec/cm/base.js";
import { KeyedSerial, mapConcurrent } from "../core/concurrency.js";
import { RETRAIN_GROWTH, storedAssetId, type EngineAssets } from "./assets.js";
import type { Features } from "./features.js";
import { gatedAttempts, type ModelGate } from "./model-gate.js";
import type { SkipTicket } from "../codec/skip-rule.js";
import { attachHistory } from "./history.js";
import { mergePatch } from "./merge-patch.js";
import type { WritePolicy } from "./policy.js";
import type { Reader } from "./reader.js";
import { checkTag, contentHash, contentId, expiresAtOnce, lastRecordWins, memoryTag, normalTag, notFound, sameMetadata, semanticStatusOf, sha256Hex, unlessDamaged } from "./rows.js";
import type { MemoryPatch, MemoryWriter, PlannedWrite, RememberOptions, RememberResult, UpdateOptions } from "./types.js";

/** metaProblem's bounds, as its hints name them. */
/** The fields an update's patch may hold (`MemoryPatch`). */
const PATCH_FIELDS: ReadonlySet<string> = new Set(["text", "kind", "tags", "meta", "expiresAt", "ttlMs"]);
const META_BOUNDS = `meta holds at most ${MAX_META_DEPTH} levels and ${MAX_META_CHARS} characters of JSON`;

/** Memories shorter than this are not worth a shared dictionary. */
const GROUP_MIN_BYTES = 64;

/** Reads and writes an update tries while other writers change or delete the memory under it. */
const UPDATE_ATTEMPTS = 5;
/** Commits of one batch before a missing asset is reported: each later one codes the batch again with the assets as they are then. */
const COMMIT_ATTEMPTS = 3;

/** Fewest bytes a zstd-dict envelope can take (header, checksum, asset reference, a minimal frame). */
const GROUP_ENVELOPE_FLOOR = 8;

export interface WriterParts {
  store: Store;
  options: ResolvedEngineOptions;
  codecs: ReturnType<typeof createCodecs>;
  metrics: Metrics;
  policy: WritePolicy;
  assets: EngineAssets;
  reader: Reader;
  features: Features;
  llm: LlmCoder;
  embedder: HashedNgramEmbedder;
  gate: ModelGate;
  /** `detectLanguage` on the codec worker threads. */
  detectLanguageOffThread: (text: string) => Promise<string>;
}

/** Deletes an expired row at the version read: true when the row is gone (now or already), false when another writer changed it meanwhile. */
async function deleteExpired(store: Store, namespace: string, id: string, version: number | undefined): Promise<boolean> {
  try {
    await store.memories.delete(namespace, id, version);
    return true;
  } catch (error) {
    if (isMemzipError(error, ErrorCode.CONFLICT)) return false;
    throw error;
  }
}

/** A row expired, replaced by another writer with one expired too, while this write was prepared: the caller sends it again. */
function conflictOnExpired(namespace: string, id: string): MemzipError {
  return new MemzipError(ErrorCode.CONFLICT, `memory ${id} in namespace ${namespace} changed while this write was prepared`, { hint: "Send the write again." });
}

/** A model codec forced with no model named (the CLI's, the config's): refused before any work, here and by a queued import's producer. */
export function modelCodecNeedsModel(codec: string): MemzipError {
  return new MemzipError(ErrorCode.USAGE, `the ${codec} codec needs a model`, {
    hint: "Pass --model NAME|PATH, set MEMZIP_MODEL (or `model` in the config file), or register one with `memzip models add`.",
    details: { codec },
  });
}

export class Writer {
  /**
   * Updates and forgets of one memory in this engine, one after another: each reads what the one before it wrote, so
   * agents changing one memory at once through one engine (a server) all land instead of failing each other's
   * compare-and-set (8 meta updates in flight at once: 3 were E_CONFLICT after 5 attempts each). Writers in other
   * processes are still met by the store's compare-and-set and the retries. Keyed by the id alone: a call that names the
   * namespace and one that leaves it to the default reach the same row (memories of one id in several namespaces wait
   * for each other, which costs only time).
   */
  private readonly perMemory = new KeyedSerial();

  constructor(private readonly parts: WriterParts) {}

  /**
   * The write candidates of a namespace: the policy's, with the namespace's active assets resolved
   * (`trial` in place of the active asset of its kind: what writes would be with a new training).
   */
  async candidatesFor(namespace: string, forced?: WriteCodecName, trial?: Asset): Promise<CodecCandidate[]> {
    const active = new Map<AssetKind, Asset>();
    for (const kind of this.parts.policy.requiredKinds(forced)) {
      const asset = trial?.kind === kind ? trial : await this.parts.assets.active(namespace, kind);
      if (asset) active.set(kind, asset);
    }
    return this.parts.policy.candidates(namespace, active, forced);
  }

  /**
   * The model new writes use: the caller's, else the engine's; none when neither names one. A forced
   * codec this engine cannot write, or a forced model codec without a model, is `E_USAGE` naming the fix.
   */
  async writeModel(options: { codec?: WriteCodecName; model?: string }): Promise<RegisteredModel | undefined> {
    const forced: unknown = options.codec;
    // Codecs registered from outside are not in WRITE_CODEC_NAMES but may be forced as before.
    if (forced !== undefined && !isWriteCodecName(forced) && !(typeof forced === "string" && this.parts.policy.knows(forced))) {
      throw new MemzipError(ErrorCode.USAGE, `unknown codec ${JSON.stringify(forced)}; choose one of ${WRITE_CODEC_NAMES.join(", ")}`, { details: { codec: String(forced) } });
    }
    const name = options.model || this.parts.options.model;
    if (!name) {
      if (forced !== undefined && isModelCodecName(forced)) throw modelCodecNeedsModel(forced);
      return undefined;
    }
    return this.parts.llm.resolveModel(name);
  }

  /**
   * The `cm` snapshot a forced `llm-mix` mixes with, as a forced `cm` codes: the namespace's own, else
   * the base model shipped with memzip (with `cmBase`); neither is `E_MISSING_ASSET` naming what makes one.
   */
  async mixSnapshotFor(namespace: string): Promise<Asset> {
    const own = await this.parts.assets.active(namespace, "cm-snapshot");
    if (own) return own;
    if (this.parts.options.cmBase) return this.parts.assets.baseModel();
    throw new MemzipError(ErrorCode.MISSING_ASSET, `codec llm-mix needs a cm-snapshot for namespace "${namespace}", and there is none (and cmBase is off)`, {
      hint: "Run `memzip model train` first (an import past autoTrainAfter memories trains one too), or turn cmBase on to mix with the shipped base.",
      details: { codec: "llm-mix", namespace, kind: "cm-snapshot" },
    });
  }

  /**
   * A write session for batch work: `plan` encodes and verifies one memory (nothing is written),
   * `commit` writes planned memories in one transaction, after grouping similar ones. The import
   * pipeline plans many memories concurrently and commits them in input order.
   */
  async writer(options: RememberOptions = {}, expected = Infinity, internal: { deferModel?: boolean; /** an update of a stored memory: its namespace is the row's, whatever an earlier build let in */ update?: boolean } = {}): Promise<MemoryWriter & { deferred: ReadonlySet<string> }> {
    const { store, options: engineOptions, assets, reader, gate, metrics } = this.parts;
    const model = await this.writeModel(options);
    // The skip rule decides a policy's model attempts (not a forced codec's), in the order memories come.
    const session = model && options.codec === undefined && gate.enabled ? gate.session() : undefined;
    // An import into a namespace its configured codecs have no assets for yet leaves the model to the recode that ends it.
    const deferModel = internal.deferModel === true && session !== undefined && engineOptions.autoTrainAfter > 0;
    const deferred = new Set<string>();
    const candidatesByNamespace = new Map<string, Promise<CodecCandidate[]>>();
    const mixSnapshots = new Map<string, Promise<Asset>>();
    // An import that takes a namespace to `autoTrainAfter` trains the namespace's own snapshot at its
    // end and recodes: a memory past that count coded with the shipped base would be coded again, so
    // the base is offered to the first memories only (per namespace: those below the count at which
    // the ending trains; one whose training lost to the base trains again once it has doubled).
    const baseBudget =
      internal.deferModel === true && engineOptions.cmBase && engineOptions.autoTrainAfter > 0 ? new Map<string, { before: Promise<number>; learnedFrom: Promise<number>; planned: number }>() : undefined;
    const usePool = engineOptions.workers > 0 && (expected > 1 || options.offload === true);
    // Concurrency pays where work waits: worker threads, a model, or semantic backends.
    const concurrency = Math.max(1, usePool || model || engineOptions.semantic ? engineOptions.concurrency : 1);
    // What each plan was made from: a commit that finds an asset gone plans the memory again.
    const inputs = new WeakMap<PlannedWrite, MemoryInput>();
    const plan = async (input: MemoryInput): Promise<PlannedWrite> => {
      const ticket = session?.ticket();
      try {
        const planned = await planWith(input, ticket);
        inputs.set(planned, input);
        planned.inherits = {
          kind: input.kind === undefined,
          tags: input.tags === undefined,
          meta: input.meta === undefined,
          createdAt: input.createdAt === undefined,
          expiresAt: input.expiresAt === undefined && options.ttlMs === undefined,
        };
        return planned;
      } finally {
        ticket?.release();
      }
    };
    const planWith = async (input: MemoryInput, ticket: SkipTicket | undefined): Promise<PlannedWrite> => {
      // The library's door: a JavaScript caller is not held to the types (`remember({ text: 42 })`, `remember(null)`).
      if (typeof input !== "object" || input === null || typeof input.text !== "string") {
        throw new MemzipError(ErrorCode.INVALID_INPUT, 'a memory is an object whose "text" is a string', { hint: "Pass { text: \"…\" } with the optional id, namespace, kind, tags, meta, createdAt and expiresAt." });
      }
      const namespace = input.namespace ?? options.namespace ?? engineOptions.namespace;
      // The rule every other door applies: a memory in a namespace none of them could name could not be read, exported or imported.
      if (internal.update !== true && (typeof namespace !== "string" || !NAMESPACE_PATTERN.test(namespace))) {
        throw new MemzipError(ErrorCode.INVALID_INPUT, `${JSON.stringify(namespace)} is not a namespace: 1–128 letters, digits or _ . : @ -`, { hint: "Name the namespace with letters, digits and _ . : @ - only." });
      }
      const bytes = checkedText(input, { maxTextBytes: engineOptions.maxTextBytes, plainJsonOnly: store.plainJsonOnly === true, update: internal.update === true });
      const id = input.id ?? contentId(namespace, bytes);
      let pending = candidatesByNamespace.get(namespace);
      if (!pending) {
        candidatesByNamespace.set(namespace, (pending = this.candidatesFor(namespace, options.codec)));
        pending.catch(() => candidatesByNamespace.delete(namespace));
      }
      let candidates = await pending;
      const sum = checksum32(bytes);
      const hash = contentHash(bytes);
      const now = engineOptions.clock();
      let before = (await store.memories.fingerprints(namespace, [id])).get(id);
      // A memory written again keeps its kind, tags, meta, expiry and creation time unless the input gives new ones.
      let previous = before ? await store.memories.get(namespace, id) : undefined;
      if (previous && reader.expired(previous)) {
        // An expired memory is gone for every read; its row (and history) goes now, as `compact` would
        // remove it, so nothing of it carries over. An asset it leaves unused waits for `compact` (a plan
        // running beside this one may be coding with it). Only the row read: one another writer stored
        // meanwhile (a remember of this id beside this one) is not deleted but written over, as any live row.
        if (await deleteExpired(store, namespace, id, previous.version)) {
          before = previous = undefined;
        } else {
          before = (await store.memories.fingerprints(namespace, [id])).get(id);
          previous = before ? await store.memories.get(namespace, id) : undefined;
          if (previous && reader.expired(previous)) throw conflictOnExpired(namespace, id);
        }
      }
      const expiresAt = expiryOf(input, options, now, previous?.expiresAt);
      const metadata = {
        id,
        namespace,
        kind: input.kind ?? previous?.kind ?? "note",
        tags: input.tags ?? previous?.tags ?? [],
        meta: input.meta ?? previous?.meta ?? {},
        ...(expiresAt === undefined ? {} : { expiresAt }),
      };
      // A row whose envelope no longer reads back (damaged: E_CHECKSUM, E_FORMAT) is coded again below, as a
      // new text would be: writing a memory's text again repairs it (an "unchanged" would keep the damage).
      const sameText = before !== undefined && previous !== undefined && before.checksum === sum && before.originalLength === bytes.length && (await holdsText(reader, previous, bytes, hash));
      const repair = sameText && previous ? !(await reader.readsBack(previous)) : false;
      if (sameText && previous && !repair) {
        // Same text: keep the proven envelope; only metadata can have changed.
        // The row's expiry is replaced by the write's (metadata has none when it is cleared).
        const { expiresAt: _current, ...stored } = previous;
        // A reference names the holder it reads (the store keeps it on that one, never another holder of the text).
        const updated = {
          ...stored,
          ...metadata,
          language: stored.language ?? detectLanguage(input.text),
          createdAt: input.createdAt ?? stored.createdAt,
          ...(stored.contentOf ? { holderId: stored.contentOf } : {}),
        };
        const result = { id, namespace, codec: stored.codec, originalBytes: bytes.length, storedBytes: 0, verifyFailures: [], semantic: semanticStatusOf(await store.memories.getSemantic(namespace, id)) };
        if (sameMetadata(previous, updated) && !damagedColumns(stored)) return { result: { ...result, status: "unchanged" }, unchangedRow: updated, text: bytes };
        return { result: { ...result, storedBytes: stored.envelope.length, status: "updated" }, row: updated, text: bytes };
      }
      const status = before ? "updated" : "stored";
      // Counted among the namespace's memories only when new (a text written again, unchanged, adds none).
      if (baseBudget && !before && candidates.some((c) => isBaseAsset(c.asset))) {
        let budget = baseBudget.get(namespace);
        if (!budget) baseBudget.set(namespace, (budget = { before: store.memories.count(namespace), learnedFrom: store.assets.learnedFrom(namespace, "cm-snapshot"), planned: 0 }));
        const count = (await budget.before) + ++budget.planned;
        // Past the count at which the ending trains (a namespace whose training lost to the base trains again once doubled).
        if (count > engineOptions.autoTrainAfter && count >= (await budget.learnedFrom) * RETRAIN_GROWTH) {
          candidates = candidates.filter((c) => !isBaseAsset(c.asset));
          // The ending recodes the namespace even when its training loses to the base: these memories then get the base.
          deferred.add(namespace);
        }
      }
      const language = usePool ? await this.parts.detectLanguageOffThread(input.text) : detectLanguage(input.text);
      const row = { ...metadata, language, createdAt: input.createdAt ?? previous?.createdAt ?? now, originalLength: bytes.length, checksum: sum, contentHash: hash };
      const described = await this.parts.features.describe(input.text, metadata.kind, language);
      const semantic = described.status === "on" ? { semantic: described.record } : {};
      // Only this namespace's texts are looked up: another tenant's text is coded and stored as if new
      // (same bytes, same work), so a write can neither see nor time whether another namespace holds it.
      const found = await store.memories.findContent(namespace, hash, sum, bytes.length);
      // An expired holder is not one: another plan of this batch may be removing it (above).
      const holder = found && !(found.namespace === namespace && found.id === id) && !(await this.expiredHolder(found)) ? found : undefined;
      // The short content hash is checked against the bytes: a holder is used only if it decodes to this very text.
      // One that does not (its envelope damaged) is not referenced either: this memory keeps the envelope coded below.
      // A repair codes its own envelope too: the memory it mends may be the holder of others.
      const holderReads = holder !== undefined && !repair && (await reader.decodesTo(holder.envelope, bytes));
      const ownEnvelope = repair || (holder !== undefined && !holderReads);
      if (holder && holderReads) {
        // The exact text is already stored: this memory becomes a reference to it (the store resolves it at commit).
        return {
          result: { id, namespace, codec: holder.codec, originalBytes: bytes.length, storedBytes: 0, status, verifyFailures: [], deduplicated: true, semantic: described.status },
          row: { ...row, ...semantic, codec: holder.codec, envelope: new Uint8Array(0), assetId: null, holderId: holder.id },
          text: bytes,
        };
      }
      const residualMode = engineOptions.semantic?.residual ?? false;
      const summaryPrefix = model && described.status === "on" && residualMode ? assets.summaryPrefix(described.record.summary, namespace) : undefined;
      const namespacePrefix = await assets.active(namespace, "llm-prefix");
      // `residual: true` also tries the namespace's own priming and keeps the smaller; "always" codes with the summary.
      const prefixes = summaryPrefix ? (residualMode === "always" ? [summaryPrefix] : [summaryPrefix, namespacePrefix]) : [namespacePrefix];
      // `llm.mix`: where the namespace has a cm snapshot of its own (not a forced codec's write, not a summary-primed one), the model's attempt is the mixed one.
      // A forced `llm-mix` mixes with the namespace's snapshot, else the shipped base (`mixSnapshotFor`).
      let snapshot: Asset | undefined;
      if (options.codec === "llm-mix" && model) {
        let pendingMix = mixSnapshots.get(namespace);
        if (!pendingMix) {
          mixSnapshots.set(namespace, (pendingMix = this.mixSnapshotFor(namespace)));
          pendingMix.catch(() => mixSnapshots.delete(namespace));
        }
        snapshot = await pendingMix;
      } else if (options.codec === undefined && !summaryPrefix) {
        snapshot = ownSnapshot(candidates);
      }
      let models = modelAttempts(this.parts.llm, model, prefixes, snapshot, options.codec);
      if (models.length > 0 && deferModel && bytes.length >= engineOptions.rawBelow && this.untrained(candidates)) {
        models = [];
        deferred.add(namespace);
        metrics.add("llmDeferred");
      }
      const gated = await gatedAttempts(gate, ticket, namespace, models, attemptsKeyAsset(models, namespacePrefix), bytes, engineOptions.rawBelow, metrics);
      const choice = await this.parts.policy.choose(bytes, [...candidates, ...gated.models], usePool);
      gated.settle(choice);
      const residual = summaryPrefix !== undefined && choice.asset?.id === summaryPrefix.id;
      return {
        result: { id, namespace, codec: choice.codec, originalBytes: bytes.length, storedBytes: choice.envelope.length, status, verifyFailures: choice.verifyFailures, semantic: described.status, ...(residual ? { residual: true } : {}), ...(repair ? { repaired: true } : {}) },
        row: { ...row, ...semantic, codec: choice.codec, envelope: choice.envelope, assetId: storedAssetId(choice.asset), ...(ownEnvelope ? { ownEnvelope: true } : {}) },
        bytes,
        text: bytes,
        ...(summaryPrefix ? { newAsset: summaryPrefix } : {}),
      };
    };
    const commit = async (planned: readonly PlannedWrite[]): Promise<RememberResult[]> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await commitOnce(planned);
        } catch (error) {
          // Another writer (another process's import ending) trained a newer asset, recoded the namespace
          // and pruned the one these plans were coded with, between their coding and this commit: the
          // transaction wrote nothing. They are coded again with the namespace's assets as they are now.
          // So are plans of references whose checked holder another writer changed or deleted since (`holderChanged`).
          // And plans of a memory another writer created (or changed) with this very text meanwhile (the same text sent
          // twice at once: all but one answered E_CONFLICT, "write it again"): planned again, each is that memory's
          // write of its own text, `unchanged` or a metadata update, as sending it again would be.
          const replan =
            isMemzipError(error, ErrorCode.MISSING_ASSET) ||
            (isMemzipError(error, ErrorCode.CONFLICT) && (error.details.holderChanged === true || (await this.sameTextMeanwhile(error, planned))));
          if (!replan || attempt >= COMMIT_ATTEMPTS) throw error;
          const again = planned.map((p) => inputs.get(p));
          if (again.some((input) => input === undefined)) throw error;
          candidatesByNamespace.clear();
          mixSnapshots.clear();
          assets.clear();
          metrics.add("replanned", planned.length);
          const bases = planned.map((p) => p.basis);
          planned = await mapConcurrent(again as MemoryInput[], concurrency, plan);
          planned.forEach((p, i) => {
            const basis = bases[i];
            if (basis) p.basis = basis;
          });
        }
      }
    };
    const commitOnce = async (planned: readonly PlannedWrite[]): Promise<RememberResult[]> => {
      const plans = await lastRecordWins(planned, (namespace, id) => store.memories.get(namespace, id));
      if (options.codec === undefined) await this.groupSimilar(plans);
      await attachHistory(plans, store, reader, this.parts.options.clock());
      const rows = plans.flatMap((p) => (p.row ? [p.row] : []));
      // Summaries that envelopes were conditioned on become assets before the memories that need them.
      for (const p of plans) {
        if (!p.newAsset) continue;
        if (p.row?.assetId === p.newAsset.id) await store.assets.put(p.newAsset);
        assets.settle(p.newAsset);
      }
      let references = new Set<string>();
      try {
        if (rows.length > 0) references = await store.memories.put(rows);
      } catch (error) {
        throw resourceError(error, "write to the store") ?? error;
      }
      return plans.map(({ result }) => {
        const final = references.has(memoryKey(result.namespace, result.id)) ? { ...result, storedBytes: 0, deduplicated: true } : result;
        this.count(final);
        return final;
      });
    };
    return { concurrency, plan, commit, deferred };
  }

  /** Whether a configured codec lacks the asset it needs among a namespace's candidates (the namespace is not trained yet). */
  private untrained(candidates: readonly CodecCandidate[]): boolean {
    const { options, codecs } = this.parts;
    return options.codecs.some((name) => codecs.byName.get(name)?.requires !== undefined && !candidates.some((c) => c.codec.name === name));
  }

  /** Whether the memory a conflict names holds, now, the text its plan in `planned` writes (another writer stored it). */
  private async sameTextMeanwhile(error: MemzipError, planned: readonly PlannedWrite[]): Promise<boolean> {
    const { namespace, id } = error.details;
    if (typeof namespace !== "string" || typeof id !== "string") return false;
    const plan = planned.find((p) => p.result.namespace === namespace && p.result.id === id);
    const mine = plan?.row ?? plan?.unchangedRow;
    if (!mine || !plan?.text) return false;
    const now = await this.parts.store.memories.get(namespace, id);
    return now !== undefined && now.checksum === mine.checksum && now.originalLength === mine.originalLength && (await holdsText(this.parts.reader, now, plan.text, contentHash(plan.text)));
  }

  /** Whether a content holder has expired (or is gone): a write never becomes a reference to it. */
  private async expiredHolder(holder: ContentHolder): Promise<boolean> {
    const memory = await this.parts.store.memories.get(holder.namespace, holder.id);
    return !memory || this.parts.reader.expired(memory);
  }

  /**
   * Deletes a memory; an asset it was the last user of (and that no namespace writes with) goes too.
   * `ifMatch`: only while the memory's tag is this one (as `update`), else `E_PRECONDITION`.
   */
  forget(id: string, namespace?: string, options: { ifMatch?: string } = {}): Promise<void> {
    return this.perMemory.run(id, () => this.forgetNow(id, namespace, options));
  }

  private async forgetNow(id: string, namespace: string | undefined, options: { ifMatch?: string }): Promise<void> {
    const ifMatch = options.ifMatch === undefined ? undefined : normalTag(options.ifMatch);
    const conditional = ifMatch !== undefined && ifMatch !== "*";
    for (let attempt = 1; ; attempt++) {
      const memory = await this.parts.reader.find(id, namespace);
      checkTag(memory, ifMatch, "forget");
      try {
        // Conditional: only the row read (a concurrent change is E_CONFLICT: read again and compare the tag again).
        if (!(await this.parts.store.memories.delete(memory.namespace, id, conditional ? memory.version : undefined))) throw notFound(id, memory.namespace);
      } catch (error) {
        if (!isMemzipError(error, ErrorCode.CONFLICT) || attempt >= UPDATE_ATTEMPTS) throw error;
        continue;
      }
      if (memory.assetId !== null) await this.parts.assets.dropIfUnused(memory.assetId);
      return;
    }
  }

  /**
   * Changes what a patch gives and keeps the rest: text, kind, tags (replaced as a list), meta
   * (a JSON merge patch, RFC 7396: a key set to null is removed, objects merge key by key). The
   * creation time stays. `offload` codes a new text on the worker threads (the server's writes).
   */
  update(id: string, patch: MemoryPatch, namespace?: string, options: UpdateOptions = {}): Promise<RememberResult> {
    return this.perMemory.run(id, () => this.updateNow(id, patch, namespace, options));
  }

  private async updateNow(id: string, patch: MemoryPatch, namespace: string | undefined, options: UpdateOptions): Promise<RememberResult> {
    // The library's door: a JavaScript caller is not held to the types (a string of tags was spread into its letters).
    if (typeof patch !== "object" || patch === null) throw new MemzipError(ErrorCode.INVALID_INPUT, "an update's patch is an object", { hint: "Pass { text, kind, tags, meta, expiresAt, ttlMs }, each optional." });
    // A field an update cannot change (id, namespace, createdAt) or a misspelt one is refused: ignored, the update said "unchanged".
    const unknown = Object.keys(patch).filter((key) => !PATCH_FIELDS.has(key));
    if (unknown.length > 0) {
      throw new MemzipError(ErrorCode.INVALID_INPUT, `an update cannot change ${unknown.map((key) => JSON.stringify(key.slice(0, 64))).join(", ")}`, {
        hint: "A patch holds text, kind, tags, meta, expiresAt or ttlMs. To move a memory to another id or namespace, remember its text there and forget this one; its creation time stays.",
      });
    }
    const tagsRefused = patch.tags == null ? undefined : tagsProblem(patch.tags, true);
    if (tagsRefused) throw new MemzipError(ErrorCode.INVALID_INPUT, tagsRefused, { hint: "Give the new tag list as an array of strings." });
    // Both: expiresAt won and the TTL was dropped without a word.
    if (patch.expiresAt !== undefined && patch.ttlMs !== undefined) {
      throw new MemzipError(ErrorCode.INVALID_INPUT, "an update gives expiresAt or ttlMs, not both", { hint: "Pass expiresAt (a time, or null to clear the expiry) or ttlMs (from now), one of them." });
    }
    const now = this.parts.options.clock();
    if ((typeof patch.expiresAt === "number" && patch.expiresAt <= now) || (patch.ttlMs !== undefined && !(patch.ttlMs > 0))) {
      const when = patch.ttlMs !== undefined ? `a TTL of ${patch.ttlMs} ms` : `expiresAt ${new Date(patch.expiresAt as number).toISOString()}`;
      throw expiresAtOnce(when, now, { id, ...(patch.expiresAt === undefined ? {} : { expiresAt: patch.expiresAt }), ...(patch.ttlMs === undefined ? {} : { ttlMs: patch.ttlMs }) });
    }
    const ifMatch = options.ifMatch === undefined ? undefined : normalTag(options.ifMatch);
    // The patch's meta is checked before it is merged (the merge recurses): a deep one is refused like a deep record's.
    if (patch.meta === null) {
      throw new MemzipError(ErrorCode.INVALID_INPUT, "an update's meta is an object (a JSON merge patch), not null", {
        hint: "Leave meta out to keep it; set a key to null to remove that key ({ meta: { owner: null } }).",
      });
    }
    const metaRefused = patch.meta === undefined ? undefined : metaProblem(patch.meta);
    if (metaRefused) throw new MemzipError(ErrorCode.INVALID_INPUT, metaRefused, { hint: metaHint(metaRefused, "the meta patch") });
    const plainRefused = this.parts.store.plainJsonOnly === true ? plainJsonProblem(undefined, patch.meta) : undefined;
    if (plainRefused) throw new MemzipError(ErrorCode.INVALID_INPUT, plainRefused, { hint: "Remove U+0000 and unpaired surrogates from the meta patch (PostgreSQL cannot keep them)." });
    for (let attempt = 1; ; attempt++) {
      // Read (NOT_FOUND once a concurrent forget has removed it), merge, and write only over the text read.
      const current = await this.parts.reader.find(id, namespace);
      checkTag(current, ifMatch);
      const text = patch.text ?? (await this.parts.reader.recall(id, { namespace: current.namespace }));
      const meta = patch.meta === undefined ? undefined : mergePatch(current.meta, patch.meta);
      const expiry = patch.expiresAt === undefined ? {} : { expiresAt: patch.expiresAt };
      const input: MemoryInput = { id, namespace: current.namespace, text, ...(patch.kind ? { kind: patch.kind } : {}), ...(patch.tags ? { tags: [...patch.tags] } : {}), ...(meta ? { meta } : {}), ...expiry };
      const writer = await this.writer({ namespace: current.namespace, ...(patch.ttlMs === undefined ? {} : { ttlMs: patch.ttlMs }), ...(options.offload ? { offload: true } : {}) }, 1, { update: true });
      const planned = await writer.plan(input);
      planned.basis = { checksum: current.checksum, originalLength: current.originalLength, ...(current.version === undefined ? {} : { version: current.version }) };
      try {
        const [result] = await writer.commit([planned]);
        // The tag of what this update left: the row it wrote, or the one it found unchanged (never a later read's).
        return { ...(result as RememberResult), etag: memoryTag(planned.row ?? current) };
      } catch (error) {
        // Deleted or changed by another writer since the read: read again (and patch what is there now, or answer NOT_FOUND).
        if (!isMemzipError(error, ErrorCode.CONFLICT) || attempt >= UPDATE_ATTEMPTS) throw error;
      }
    }
  }

  private count(result: RememberResult): void {
    const { metrics } = this.parts;
    metrics.add(result.status === "stored" ? "memoriesStored" : result.status === "updated" ? "memoriesUpdated" : "memoriesUnchanged");
    if (result.status === "unchanged") return;
    metrics.add("originalBytes", result.originalBytes);
    metrics.add("storedBytes", result.storedBytes);
    metrics.add("verifyFailures", result.verifyFailures.length);
    if (result.deduplicated) metrics.add("deduplicated");
    if (isModelCodecName(result.codec)) metrics.add("llmWins");
  }

  /**
   * Near-similar memories of one batch (cosine ≥ `similarityThreshold` on hashed n-gram
   * embeddings, found through LSH buckets) share context: the group's first text becomes a raw
   * zstd dictionary (an asset) that every member is coded against. The group is kept only when
   * its members' savings exceed the dictionary's own bytes, and each member only where it gains.
   * Groups never cross namespaces: the dictionary is one member's text, and a memory of another
   * namespace coded against it would make that tenant's reads need it (the text would outlive its
   * owner's forgetting it, and count among the other namespace's assets).
   */
  private async groupSimilar(plans: readonly PlannedWrite[]): Promise<void> {
    if (this.parts.options.similarityThreshold >= 1) return;
    const byNamespace = new Map<string, PlannedWrite[]>();
    const seen = new Set<string>();
    for (const p of plans) {
      if (!p.bytes || !p.row?.contentHash || isModelCodecName(p.row.codec) || p.bytes.length < GROUP_MIN_BYTES) continue;
      // A second copy of a text (in the same namespace) is stored as a reference; it must not count towards a group's savings.
      const key = `${p.result.namespace}\u0000${Buffer.from(p.row.contentHash).toString("hex")}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const own = byNamespace.get(p.result.namespace);
      if (own) own.push(p);
      else byNamespace.set(p.result.namespace, [p]);
    }
    for (const open of byNamespace.values()) await this.groupWithin(open);
  }

  /** `groupSimilar` over the open plans of one namespace. */
  private async groupWithin(open: readonly PlannedWrite[]): Promise<void> {
    const { options, codecs, store, metrics } = this.parts;
    if (open.length < 2) return;
    const zstdDict = codecs.byName.get("zstd-dict") as Codec;
    const vectors = await this.parts.embedder.embed(open.map((p) => decodeStoredText(p.bytes as Uint8Array)));
    const { groups } = groupBySimilarity(vectors, options.similarityThreshold);
    const members = new Map<number, PlannedWrite[]>();
    groups.forEach((group, i) => members.set(group, [...(members.get(group) ?? []), open[i] as PlannedWrite]));
    for (const group of members.values()) {
      if (group.length < 2) continue;
      const anchor = group[0] as PlannedWrite;
      const dictionary = anchor.bytes as Uint8Array;
      const asset: StoredAsset = { id: sha256Hex(dictionary), kind: "zstd-dictionary", bytes: dictionary, namespace: anchor.result.namespace, createdAt: Date.now(), meta: { group: true, members: group.length } };
      if (await store.assets.get(asset.id)) continue;
      // Upper bound before any coding: every member shrinking to a bare envelope header still has to pay for the dictionary.
      const bound = group.reduce((sum, plan) => sum + ((plan.row as StoredMemory).envelope.length - GROUP_ENVELOPE_FLOOR), 0);
      if (bound <= dictionary.length) continue;
      // The dictionary just made is the one its envelopes name (a version 2 hint may match others too).
      const resolve = (wanted: Uint8Array) => (refMatches(asset, wanted) ? asset : this.parts.assets.knownByRef(wanted));
      const rewrites: { plan: PlannedWrite; envelope: Uint8Array }[] = [];
      let saved = -dictionary.length;
      for (const plan of group) {
        const bytes = plan.bytes as Uint8Array;
        const envelope = encodeEnvelope(zstdDict, bytes, asset);
        const row = plan.row as StoredMemory;
        if (!envelope || envelope.length >= row.envelope.length) continue;
        const proven = (() => {
          try {
            return Buffer.from(decodeEnvelope(envelope, codecs.byId, resolve, options.maxTextBytes)).equals(bytes);
          } catch {
            return false;
          }
        })();
        if (!proven) continue;
        saved += row.envelope.length - envelope.length;
        rewrites.push({ plan, envelope });
      }
      if (saved <= 0 || rewrites.length < 2) continue;
      await store.assets.put(asset);
      metrics.add("groupDictionaries");
      for (const { plan, envelope } of rewrites) {
        plan.row = { ...(plan.row as StoredMemory), codec: "zstd-dict", envelope, assetId: asset.id };
        plan.result = { ...plan.result, codec: "zstd-dict", storedBytes: envelope.length, grouped: true };
        this.metrics.add("grouped");
      }
    }
  }

  private get metrics(): Metrics {
    return this.parts.metrics;
  }
}

/**
 * A write's expiry: the input's `expiresAt` (null: never), else now + the write's `ttlMs`, else the
 * memory's current expiry (undefined: never). Checked: a time in ms, a TTL above 0.
 */
function expiryOf(input: MemoryInput, options: RememberOptions, now: number, current: number | undefined): number | undefined {
  if (input.expiresAt === null) return undefined;
  if (input.expiresAt !== undefined) {
    const problem = expiryProblem(input.expiresAt);
    if (problem) throw new MemzipError(ErrorCode.INVALID_INPUT, problem, { hint: "Give expiresAt as ms since 1970 (Date.now() + a duration), null for never, or use a TTL (--ttl 30d)." });
    // Written, the memory would be gone at once, and a live memory of that id (with its history) with it, while the
    // write said stored or updated: refused in every write (library, import, REST, MCP), as `update` refuses it.
    if (input.expiresAt <= now) throw expiresAtOnce(`expiresAt ${input.expiresAt}`, now, { expiresAt: input.expiresAt, ...(input.id === undefined ? {} : { id: input.id }) });
    return input.expiresAt;
  }
  if (options.ttlMs !== undefined) {
    if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs <= 0) {
      throw new MemzipError(ErrorCode.INVALID_INPUT, `a TTL must be a whole number of milliseconds above 0, got ${String(options.ttlMs)}`, { hint: "Give a TTL such as 30d, 12h or 90m." });
    }
    if (now + options.ttlMs > LATEST_TIME_MS) {
      throw new MemzipError(ErrorCode.INVALID_INPUT, `a TTL of ${options.ttlMs} ms reaches past the latest time memzip keeps (${new Date(LATEST_TIME_MS).toISOString()})`, {
        hint: "Give a shorter TTL, or none (--no-expiry) for a memory that never expires.",
      });
    }
    return now + options.ttlMs;
  }
  return current;
}

/**
 * Whether a stored memory whose length and XXH32 match `bytes` holds that very text: by its content hash (the first
 * CONTENT_HASH_BYTES of its sha256, as the store keeps it), or, for a row written without one, by its bytes. XXH32 alone let another text of the same length pass as the
 * same and be dropped as `unchanged` (trial41: such a text is found in a second). A row whose bytes cannot be read is
 * taken as holding it, as before: the write then repairs it where it is damaged.
 */
async function holdsText(reader: Reader, stored: StoredMemory, bytes: Uint8Array, hash: Uint8Array): Promise<boolean> {
  const held = stored.contentHash;
  if (held && held.length > 0) return Buffer.from(hash).subarray(0, held.length).equals(Buffer.from(held));
  if (isModelCodecName(stored.codec)) return true;
  try {
    const decoded = await unlessDamaged(reader.bytesOf(stored));
    return decoded === undefined || Buffer.from(decoded).equals(bytes);
  } catch {
    return true;
  }
}

/** The fix for a meta `metaProblem` refused, by what it refused (`what`: "the meta patch", …). */
function metaHint(problem: string, what: string): string {
  if (problem.includes("__proto__")) return "Rename the key named __proto__; every other key is kept as sent.";
  if (problem.includes("nested deeper") || problem.includes("characters of JSON")) return `Flatten ${what} or store a large part as the text of its own memory (${META_BOUNDS}).`;
  return "Give plain JSON values: strings, finite numbers, booleans, null, arrays and objects (a date as date.toISOString() or a number).";
}

/**
 * The checks a write makes of a memory's own fields before it looks at the store — text (UTF-8, not empty, within
 * `maxTextBytes`), meta, createdAt, kind, tags and id — throwing the E_INVALID_INPUT the write throws; returns the
 * text's bytes. An import asks it of every line first: a line a write would refuse replaces no earlier line of its id
 * (an empty text after a good one left neither stored).
 */
export function checkedText(input: MemoryInput, limits: { maxTextBytes: number; plainJsonOnly: boolean; update?: boolean }): Uint8Array {
  const bytes = textToBytes(input.text, limits.maxTextBytes);
  // null or undefined: no meta given (the stored one stays), as before; tags and kind the same.
  const metaRefused = input.meta == null ? undefined : metaProblem(input.meta);
  if (metaRefused) throw new MemzipError(ErrorCode.INVALID_INPUT, metaRefused, { hint: metaHint(metaRefused, "the record's meta") });
  const createdRefused = input.createdAt === undefined ? undefined : createdProblem(input.createdAt);
  if (createdRefused) throw new MemzipError(ErrorCode.INVALID_INPUT, createdRefused, { hint: "Give createdAt as whole ms since 1970 (Date.now()), or leave it out for now." });
  if (input.kind != null && !(MEMORY_KINDS as readonly unknown[]).includes(input.kind)) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `"kind" must be one of ${MEMORY_KINDS.join(", ")} (got ${JSON.stringify(input.kind) ?? String(input.kind)})`, { hint: "Leave kind out for a note." });
  }
  const tagsRefused = input.tags == null ? undefined : tagsProblem(input.tags);
  if (tagsRefused) throw new MemzipError(ErrorCode.INVALID_INPUT, tagsRefused, { hint: "Keep a memory's tags short labels; put longer data in meta." });
  // An update's meta is the stored one merged with the patch: `update` checks the patch itself.
  const plainRefused = limits.plainJsonOnly ? plainJsonProblem(input.tags, limits.update === true ? undefined : input.meta) : undefined;
  if (plainRefused) throw new MemzipError(ErrorCode.INVALID_INPUT, plainRefused, { hint: "Remove U+0000 and unpaired surrogates from the memory's tags and meta (PostgreSQL cannot keep them)." });
  if (input.id !== undefined) checkMemoryId(input.id);
  return bytes;
}
