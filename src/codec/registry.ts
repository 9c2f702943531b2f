import type { Codec } from "./codec.js";
import { createCmCodec } from "./cm.js";
import { createCmRefCodec } from "./cm-ref.js";
import { rawCodec } from "./raw.js";
import { createZstdCodec } from "./zstd.js";
import { createZstdDictCodec } from "./zstd-dict.js";

export interface CodecSettings {
  /** zstd compression level for `zstd` and `zstd-dict`, 1–19. Defaults to `19`. */
  zstdLevel: number;
}

/** Built-in lossless codecs by name; the name type is derived from this registry. */
export const CODEC_FACTORIES = Object.freeze({
  raw: (_: CodecSettings): Codec => rawCodec,
  zstd: (s: CodecSettings): Codec => createZstdCodec(s.zstdLevel),
  "zstd-dict": (s: CodecSettings): Codec => createZstdDictCodec(s.zstdLevel),
  cm: (_: CodecSettings): Codec => createCmCodec(),
  "cm-ref": (_: CodecSettings): Codec => createCmRefCodec(),
} as const);

export type CodecName = keyof typeof CODEC_FACTORIES;
export const CODEC_NAMES = Object.keys(CODEC_FACTORIES) as CodecName[];

export function isCodecName(name: string): name is CodecName {
  return Object.hasOwn(CODEC_FACTORIES, name);
}

/** Instantiates every built-in codec, indexed by name and by envelope id. */
export function createCodecs(settings: CodecSettings): { byName: Map<CodecName, Codec>; byId: Map<number, Codec> } {
  const byName = new Map<CodecName, Codec>();
  const byId = new Map<number, Codec>();
  for (const name of CODEC_NAMES) {
    const codec = CODEC_FACTORIES[name](settings);
    byName.set(name, codec);
    byId.set(codec.id, codec);
  }
  return { byName, byId };
}
