/**
 * Worker-thread side of the classical codec pool: runs the write policy (encode every candidate,
 * keep the smallest that decodes back exactly) with its own codec instances, and language
 * detection. Assets arrive once per worker and are kept by id.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Asset, AssetKind } from "../codec/codec.js";
import { withSharedBaseState } from "../codec/cm/base.js";
import { holdLoadedSnapshots, snapshotTrainings } from "../codec/cm/prepared-snapshot.js";
import { attachDerivedStore, derivedStoreOf } from "../codec/derived.js";
import { DerivedFolder } from "../codec/derived-folder.js";
import { threadCpuMs } from "../core/thread-cpu.js";
import { decodeEnvelope, matchingAssets } from "../codec/envelope-codec.js";
import { chooseSmallestVerified, type Candidate } from "../codec/policy.js";
import { createCodecs, type CodecName } from "../codec/registry.js";
import { detectLanguage } from "../semantic/language.js";
import type { CodecPoolSettings, WorkerReply, WorkerRequest } from "./codec-pool.js";
import { MemzipError } from "../errors.js";

const { zstdLevel, maxTextBytes, derivedDir, derivedOptions, cmModels } = workerData as CodecPoolSettings;
// Held for the worker's life (it ends with its pool).
if (cmModels !== undefined) holdLoadedSnapshots(cmModels);
/** The store's derived states, read (never trained again) as in the main thread, and kept as it keeps them (review25 I-3). */
const derived = derivedDir === undefined ? undefined : new DerivedFolder(() => derivedDir, derivedOptions);
const codecs = createCodecs({ zstdLevel });
const assets = new Map<string, Asset>();
let decodes = 0;

/** A failure as a reply: a memzip error keeps its code, hint and details (the reader tells damage from other failures by them). */
function failure(seq: number, error: unknown): WorkerReply {
  if (error instanceof MemzipError) return { seq, ok: false, message: error.message, code: error.code, ...(error.hint === undefined ? {} : { hint: error.hint }), details: { ...error.details } };
  return { seq, ok: false, message: error instanceof Error ? error.message : String(error) };
}

parentPort?.on("message", (request: WorkerRequest) => {
  if (request.type === "asset") {
    // A shipped base's trained state is read from (or written to) the per-user cache, a namespace
    // snapshot's from the store's derived folder: as in the main thread, which prepared it first.
    const received: Asset = { id: request.id, kind: request.kind as AssetKind, bytes: new Uint8Array(request.bytes) };
    const base = withSharedBaseState(received);
    const asset = derivedStoreOf(base) === undefined ? attachDerivedStore(base, derived) : base;
    assets.set(asset.id, asset);
    return;
  }
  if (request.type === "forget") {
    assets.delete(request.id);
    return;
  }
  let reply: WorkerReply;
  if (request.type === "stats") {
    parentPort?.postMessage({ seq: request.seq, ok: true, stats: { snapshotTrainings: snapshotTrainings(), cpuMs: threadCpuMs(), decodes } } satisfies WorkerReply);
    return;
  }
  if (request.type === "language") {
    try {
      reply = { seq: request.seq, ok: true, language: detectLanguage(request.text) };
    } catch (error) {
      reply = { seq: request.seq, ok: false, message: (error as Error).message };
    }
    parentPort?.postMessage(reply);
    return;
  }
  if (request.type === "decode") {
    try {
      // Only the assets the reader resolved for this envelope (its row's, or each candidate of its hint), as it would try them.
      const offered = request.assetIds.map((id) => assets.get(id)).filter((asset): asset is Asset => asset !== undefined);
      const decoded = decodeEnvelope(new Uint8Array(request.envelope), codecs.byId, (ref) => matchingAssets(offered, ref), request.maxOriginalLength);
      decodes++;
      reply = { seq: request.seq, ok: true, decoded };
    } catch (error) {
      reply = failure(request.seq, error);
    }
    parentPort?.postMessage(reply);
    return;
  }
  try {
    const candidates: Candidate[] = request.candidates.map(({ codec, assetId }) => {
      const found = codecs.byName.get(codec as CodecName);
      if (!found) throw new Error(`unknown codec ${codec}`);
      return assetId === undefined ? { codec: found } : { codec: found, asset: assets.get(assetId) as Asset };
    });
    const bytes = new Uint8Array(request.bytes);
    const choice = chooseSmallestVerified(
      bytes,
      candidates,
      (envelope) => decodeEnvelope(envelope, codecs.byId, (ref) => matchingAssets(assets.values(), ref), maxTextBytes),
      request.rawBelow,
    );
    reply = { seq: request.seq, ok: true, codec: choice.codec.name, assetId: choice.asset?.id, envelope: choice.envelope, verifyFailures: choice.verifyFailures };
  } catch (error) {
    reply = { seq: request.seq, ok: false, message: (error as Error).message };
  }
  parentPort?.postMessage(reply);
});
