import { createRequire } from "node:module";
import { xxh64 } from "@node-rs/xxhash";
import type * as ZstdBinding from "zstd-napi/binding.js";
import { checksum32 } from "../checksum.js";
import type { Asset } from "../codec.js";
import type { DerivedFile, DerivedStore } from "../derived.js";
import { ContextModel, modelCodeHash } from "./context-model.js";
import { concat, readSnapshotHeader, type LoadedSnapshot, type SnapshotHeader } from "./snapshot.js";

/**
 * A loaded snapshot's model state, kept beside the store so that a new process need not train
 * again (training from the snapshot is ~1 s per MB; this file reads in tens of milliseconds).
 * It is derived data: never counted as stored bytes, rebuilt from the snapshot whenever it is
 * missing, stale or corrupt, and written atomically.
 *
 * Layout (little-endian): "MZDS" · format (u32) · sha256 of the snapshot asset (32) · sha256 of
 * the model's WebAssembly (32) · training-text bytes (u32) · memory bytes (u32) · state address
 * (u32) · compressed memory bytes (u32) · XXH64 of the texts (8) · XXH64 of the memory,
 * uncompressed (8) · XXH64 of the 104 bytes before it (8) · the training texts, concatenated ·
 * the model's linear memory as one zstd frame.
 *
 * The texts come first and uncompressed so that `cm-ref`, which needs only them, reads a few
 * hundred KB and leaves the memory unread until `cm` asks for the model. The memory (~42 MiB,
 * mostly zeros and sparse tables) is compressed at zstd level 6, chosen by measurement (2,000
 * dev records): 6.1 MiB against 8.1 at level 1 and 7.7 at level 3, and the fastest of them to
 * decompress (fewer, longer matches), which every cold `cm` read pays; the extra compression
 * time (a few seconds) is paid once, by the read that trains the model from the snapshot
 * anyway. Format 1 (the memory stored raw) reads as stale and is rebuilt.
 */
const MAGIC = 0x53445a4d; // "MZDS"
const FORMAT = 2;
const HEADER_BYTES = 112;
const MEMORY_ZSTD_LEVEL = 6;

const zstd = createRequire(import.meta.url)("zstd-napi/binding") as typeof ZstdBinding;

/**
 * Bytes of the model's memory decoded between two turns of the event loop by `loadModelAsync`: the first writes to a
 * fresh memory's pages are most of a load's time (~2–15 µs a 4 KiB page, by machine), so a slice costs ~0.5–4 ms.
 */
const SLICE_BYTES = 1 << 20;

/** `decompressInto` a slice of `target` at a time, each after a turn of the event loop; false as there. */
async function decompressInSlices(target: Uint8Array, frame: Uint8Array): Promise<boolean> {
  const context = new zstd.DCtx();
  let written = 0;
  let read = 0;
  try {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const [left, produced, consumed] = context.decompressStream(target.subarray(written, Math.min(target.length, written + SLICE_BYTES)), frame.subarray(read));
      written += produced;
      read += consumed;
      if (left === 0) return written === target.length && read === frame.length;
      // No progress: the target is full and the frame goes on (or the frame ends early).
      if (produced === 0 && consumed === 0) return false;
    }
  } catch {
    return false;
  }
}

/** Decodes the zstd `frame` into `target`, exactly filling it; false when the frame is damaged or of another size. */
function decompressInto(target: Uint8Array, frame: Uint8Array): boolean {
  try {
    return zstd.decompress(target, frame) === target.length;
  } catch {
    return false;
  }
}

/** The snapshot's texts read from its derived state, and a way to load the model from the same file. */
export interface DerivedSnapshot {
  samples: Uint8Array[];
  /** The frozen model from the saved state, or undefined when that part is unusable. */
  loadModel(): ContextModel | undefined;
  /**
   * `loadModel` a slice at a time, with turns of the event loop between (its memory decoded ~1 MiB a turn): the same
   * model, or undefined for the same files. A server's read loaded one in one go, every other request waiting ~0.1–0.3 s.
   */
  loadModelAsync(): Promise<ContextModel | undefined>;
}

function fileName(asset: Asset): string {
  return stateFileName(asset.id);
}

/** The name of the derived state of the cm snapshot `assetId` in a derived folder. */
export function stateFileName(assetId: string): string {
  return `cm-${assetId}.state`;
}

/** The state file's header when it names `asset` and this build's model, and its sizes agree with the file; else undefined. */
function checkedHeader(file: DerivedFile, asset: Asset, header: SnapshotHeader): DataView | undefined {
  const head = new Uint8Array(HEADER_BYTES);
  if (file.read(head, 0) !== HEADER_BYTES) return undefined;
  const view = new DataView(head.buffer);
  if (view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== FORMAT) return undefined;
  if (view.getBigUint64(104, true) !== xxh64(head.subarray(0, 104))) return undefined;
  if (!Buffer.from(head.subarray(8, 40)).equals(Buffer.from(asset.id, "hex"))) return undefined;
  if (!Buffer.from(head.subarray(40, 72)).equals(modelCodeHash(header.version))) return undefined;
  const textBytes = view.getUint32(72, true);
  const frameBytes = view.getUint32(84, true);
  if (textBytes !== header.lengths.reduce((sum, n) => sum + n, 0) || frameBytes === 0 || file.size !== HEADER_BYTES + textBytes + frameBytes) return undefined;
  return view;
}

/**
 * Whether `store` holds a state for `asset` whose header checks out (the body is checked when it is read):
 * what a codec pool asks before its workers read the state, without reading the texts.
 */
export function hasDerivedSnapshot(store: DerivedStore, asset: Asset): boolean {
  let header: SnapshotHeader;
  try {
    header = readSnapshotHeader(asset.bytes);
  } catch {
    return false;
  }
  const file = store.open(fileName(asset));
  if (!file) return false;
  try {
    return checkedHeader(file, asset, header) !== undefined;
  } catch {
    return false;
  } finally {
    file.close();
  }
}

/** Reads the texts of `asset`'s derived state after checking the header; undefined when missing, stale or corrupt. */
export function readDerivedSnapshot(store: DerivedStore, asset: Asset): DerivedSnapshot | undefined {
  let header: SnapshotHeader;
  try {
    header = readSnapshotHeader(asset.bytes);
  } catch {
    return undefined;
  }
  const file = store.open(fileName(asset));
  if (!file) return undefined;
  try {
    const view = checkedHeader(file, asset, header);
    if (!view) return undefined;
    const textBytes = view.getUint32(72, true);
    const memoryBytes = view.getUint32(76, true);
    const stateAt = view.getUint32(80, true);
    const frameBytes = view.getUint32(84, true);
    const texts = new Uint8Array(textBytes);
    if (file.read(texts, HEADER_BYTES) !== textBytes) return undefined;
    if (xxh64(texts) !== view.getBigUint64(88, true) || checksum32(texts) !== header.checksum) return undefined;
    const samples: Uint8Array[] = [];
    let at = 0;
    for (const length of header.lengths) {
      samples.push(texts.subarray(at, at + length));
      at += length;
    }
    const memoryHash = view.getBigUint64(96, true);
    const path = fileName(asset);
    // The memory's frame, read again when the model is asked for (the file may have changed since: then its checks fail).
    const readFrame = (): Uint8Array | undefined => {
      const again = store.open(path);
      if (!again) return undefined;
      try {
        if (again.size !== HEADER_BYTES + textBytes + frameBytes) return undefined;
        const frame = new Uint8Array(frameBytes);
        return again.read(frame, HEADER_BYTES + textBytes) === frameBytes ? frame : undefined;
      } finally {
        again.close();
      }
    };
    // Anything wrong with the file (a read error, a damaged frame) means training again, never a failed read.
    return {
      samples,
      loadModel() {
        try {
          const frame = readFrame();
          return frame && ContextModel.fromState(header.params, header.version, samples, memoryBytes, stateAt, (memory) => decompressInto(memory, frame) && xxh64(memory) === memoryHash);
        } catch {
          return undefined;
        }
      },
      async loadModelAsync() {
        try {
          const frame = readFrame();
          return frame && (await ContextModel.fromStateAsync(header.params, header.version, samples, memoryBytes, stateAt, async (memory) => (await decompressInSlices(memory, frame)) && xxh64(memory) === memoryHash));
        } catch {
          return undefined;
        }
      },
    };
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/** Saves a freshly loaded snapshot's state (frozen, between records) for `readDerivedSnapshot`. */
export function writeDerivedSnapshot(store: DerivedStore, asset: Asset, loaded: LoadedSnapshot): void {
  // Built only once the store has a file open for it: a cache that cannot be written skips the compression.
  store.write(fileName(asset), () => {
    const { memory, stateAt } = loaded.model.saveState();
    const texts = concat(loaded.samples);
    const out = Buffer.allocUnsafe(zstd.compressBound(memory.length));
    const frame = out.subarray(0, zstd.compress(out, memory, MEMORY_ZSTD_LEVEL));
    const head = new Uint8Array(HEADER_BYTES);
    const view = new DataView(head.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, FORMAT, true);
    head.set(Buffer.from(asset.id, "hex").subarray(0, 32), 8);
    head.set(modelCodeHash(loaded.model.version), 40);
    view.setUint32(72, texts.length, true);
    view.setUint32(76, memory.length, true);
    view.setUint32(80, stateAt, true);
    view.setUint32(84, frame.length, true);
    view.setBigUint64(88, xxh64(texts), true);
    view.setBigUint64(96, xxh64(memory), true);
    view.setBigUint64(104, xxh64(head.subarray(0, 104)), true);
    return [head, texts, frame];
  });
}
