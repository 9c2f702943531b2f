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
    info = await readGgufFileInfo(absolute, { readTensorInfo: false, logWarnings: false });
  } catch (cause) {
    throw new MemzipError(ErrorCode.INVALID_INPUT, `${absolute} is not a readable GGUF model (${(cause as Error).message})`, {
      hint: "memzip loads GGUF files (llama.cpp's format); convert the model or download a GGUF build of it.",
      cause,
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
