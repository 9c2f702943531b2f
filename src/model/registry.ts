import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { MemzipError, ErrorCode } from "../errors.js";
import type { RegisteredModel } from "../core/store.js";

/** Streams a file through sha256 (a 1 GB model takes a few seconds; the store remembers the result). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Reads a GGUF's header (architecture, vocabulary, context length) and fingerprints the file. */
export async function inspectModelFile(path: string, name?: string): Promise<RegisteredModel> {
  const absolute = resolve(path);
  let stat: { size: number; mtimeMs: number };
  try {
    stat = statSync(absolute);
  } catch (cause) {
    throw new MemzipError(ErrorCode.MISSING_MODEL, `no model file at ${absolute}`, { hint: "Check the path, or list registered models with `memzip models ls`.", cause });
  }
  const { readGgufFileInfo } = await import("node-llama-cpp");
  let info: Awaited<ReturnType<typeof readGgufFileInfo>>;
  try {
    info = await readGgufFileInfo(absolute, { readTensorInfo: true, logWarnings: false });
  } catch (cause) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `${absolute} is not a readable GGUF model (${(cause as Error).message})`, {
      hint: "memzip loads GGUF files (llama.cpp's format); convert the model or download a GGUF build of it.",
      cause,
    });
  }
  const end = tensorDataEnd(info.tensorInfo ?? []);
  if (stat.size < end) {
    throw new MemzipError(ErrorCode.MISSING_MODEL, `${absolute} is truncated: its tensors end at byte ${end}, the file has ${stat.size}`, {
      hint: "The copy or download was cut short: copy or download it again, then `memzip models add PATH`.",
      details: { path: absolute, bytes: stat.size, tensorsEnd: end },
    });
  }
  const metadata = info.metadata as { general?: { architecture?: string }; tokenizer?: { ggml?: { tokens?: readonly unknown[] } } } & Record<string, unknown>;
  const architecture = metadata.general?.architecture ?? "unknown";
  const archInfo = metadata[architecture] as { context_length?: number } | undefined;
  return {
    fingerprint: await fileSha256(absolute),
    name: name ?? basename(absolute).replace(/\.gguf$/i, ""),
    path: absolute,
    size: stat.size,
    mtime: Math.floor(stat.mtimeMs),
    architecture,
    vocabularySize: metadata.tokenizer?.ggml?.tokens?.length ?? 0,
    contextLength: Number(archInfo?.context_length ?? 0),
    addedAt: Date.now(),
  };
}

/**
 * Bytes and elements of a block of each ggml tensor type (llama.cpp's `ggml_type` numbers and type
 * traits), for the types whose size memzip checks; a tensor of another type counts as one byte.
 */
const GGML_BLOCKS: ReadonlyMap<number, readonly [bytes: number, elements: number]> = new Map([
  [0, [4, 1]], // F32
  [1, [2, 1]], // F16
  [2, [18, 32]], // Q4_0
  [3, [20, 32]], // Q4_1
  [6, [22, 32]], // Q5_0
  [7, [24, 32]], // Q5_1
  [8, [34, 32]], // Q8_0
  [9, [36, 32]], // Q8_1
  [10, [84, 256]], // Q2_K
  [11, [110, 256]], // Q3_K
  [12, [144, 256]], // Q4_K
  [13, [176, 256]], // Q5_K
  [14, [210, 256]], // Q6_K
  [15, [292, 256]], // Q8_K
  [24, [1, 1]], // I8
  [25, [2, 1]], // I16
  [26, [4, 1]], // I32
  [27, [8, 1]], // I64
  [28, [8, 1]], // F64
  [30, [2, 1]], // BF16
]);

/** Where the tensors of a GGUF file's first part end, by its header: a shorter file was cut short. */
export function tensorDataEnd(tensors: readonly { dimensions: readonly (number | bigint)[]; ggmlType: number; fileOffset: number | bigint; filePart?: number }[]): number {
  let end = 0;
  for (const tensor of tensors) {
    if ((tensor.filePart ?? 1) !== 1) continue;
    const block = GGML_BLOCKS.get(tensor.ggmlType);
    const elements = tensor.dimensions.reduce<number>((product, d) => product * Number(d), 1);
    const bytes = block ? Math.ceil(elements / block[1]) * block[0] : 1;
    end = Math.max(end, Number(tensor.fileOffset) + bytes);
  }
  return end;
}

/**
 * Models worth having, by what they are for. The URIs are node-llama-cpp's `hf:` form; they are
 * fetched only where a network reaches Hugging Face (never on the machines memzip is tested on).
 */
export const MODEL_PRESETS = {
  "smollm2-135m": { uri: "hf:QuantFactory/SmolLM2-135M-GGUF:Q8_0", use: "lossless (llm codec), English; ~0.9–1 bit/byte in the literature" },
  "qwen2.5-0.5b": { uri: "hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q8_0", use: "lossless (llm codec), English and Chinese" },
  "qwen2.5-3b-instruct": { uri: "hf:Qwen/Qwen2.5-3B-Instruct-GGUF:Q4_K_M", use: "semantic summaries and entities" },
} as const;

export type ModelPreset = keyof typeof MODEL_PRESETS;

export function isModelPreset(name: string): name is ModelPreset {
  return Object.hasOwn(MODEL_PRESETS, name);
}

/** Downloads a preset into `directory` through node-llama-cpp and returns the file's path. */
export async function pullPreset(preset: ModelPreset, directory: string, onProgress?: (done: number, total: number) => void): Promise<string> {
  const { createModelDownloader } = await import("node-llama-cpp");
  try {
    const downloader = await createModelDownloader({
      modelUri: MODEL_PRESETS[preset].uri,
      dirPath: directory,
      showCliProgress: false,
      ...(onProgress ? { onProgress: ({ downloadedSize, totalSize }: { downloadedSize: number; totalSize: number }) => onProgress(downloadedSize, totalSize) } : {}),
    });
    return await downloader.download();
  } catch (cause) {
    throw new MemzipError(ErrorCode.DEPENDENCY, `cannot download ${preset} (${MODEL_PRESETS[preset].uri}): ${(cause as Error).message}`, {
      hint: "This machine cannot reach Hugging Face. Download the GGUF on a connected machine, copy it here, then run `memzip models add PATH`.",
      cause,
      details: { preset, uri: MODEL_PRESETS[preset].uri },
    });
  }
}
