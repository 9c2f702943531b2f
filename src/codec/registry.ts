import { liftCodec, type AsyncCodec, type CodecLookup } from "./async-codec.js";
import type { Codec } from "./codec.js";
import { createCmCodec } from "./cm.js";
import { createCmRefCodec } from "./cm-ref.js";
import { checkCodecId, CODEC_IDS, codecRegistrationError, isKnownCodecName, knownCodecNameOf, type KnownCodecName } from "./ids.js";
import { rawCodec } from "./raw.js";
import { createZstdCodec } from "./zstd.js";
import { createZstdDictCodec } from "./zstd-dict.js";

export interface CodecSettings {
  /** zstd compression level for `zstd` and `zstd-dict`, 1–19. Defaults to `19`. */
  zstdLevel: number;
}

/** Built-in lossless codecs by name; the name type is derived from this registry (ids: `CODEC_IDS`). */
export const CODEC_FACTORIES = Object.freeze({
  raw: (_: CodecSettings): Codec => rawCodec,
  zstd: (s: CodecSettings): Codec => createZstdCodec(s.zstdLevel),
  "zstd-dict": (s: CodecSettings): Codec => createZstdDictCodec(s.zstdLevel),
  cm: (_: CodecSettings): Codec => createCmCodec(),
  "cm-ref": (_: CodecSettings): Codec => createCmRefCodec(),
} as const satisfies Partial<Record<KnownCodecName, (settings: CodecSettings) => Codec>>);

export type CodecName = keyof typeof CODEC_FACTORIES;
export const CODEC_NAMES = Object.keys(CODEC_FACTORIES) as CodecName[];

export function isCodecName(name: string): name is CodecName {
  return Object.hasOwn(CODEC_FACTORIES, name);
}

/** Instantiates every built-in codec, indexed by name and by envelope id; a duplicate id or name throws `E_USAGE`. */
export function createCodecs(settings: CodecSettings): { byName: Map<CodecName, Codec>; byId: Map<number, Codec> } {
  const byName = new Map<CodecName, Codec>();
  const byId = new Map<number, Codec>();
  for (const name of CODEC_NAMES) {
    const codec = CODEC_FACTORIES[name](settings);
    checkRegistration(codec, byName, byId);
    byName.set(name, codec);
    byId.set(codec.id, codec);
  }
  return { byName, byId };
}

/**
 * The codecs one engine reads and writes with, by envelope id and by name: the built-in ones
 * lifted into `AsyncCodec`, model codecs, and codecs registered from outside. Registering a
 * second codec with an id or a name already taken throws `E_USAGE`; so does a name the central
 * map (`CODEC_IDS`) knows under another id, or one of its ids under another name.
 */
export class CodecRegistry implements CodecLookup {
  private readonly byId = new Map<number, AsyncCodec>();
  private readonly byName = new Map<string, AsyncCodec>();

  /** The built-in lossless codecs (`CODEC_NAMES`), lifted. */
  static builtIn(settings: CodecSettings): CodecRegistry {
    return CodecRegistry.lifting(createCodecs(settings).byName.values());
  }

  /** A registry of these pure codecs, lifted (the same instances, so what they prepare per asset is shared). */
  static lifting(codecs: Iterable<Codec>): CodecRegistry {
    const registry = new CodecRegistry();
    for (const codec of codecs) registry.register(liftCodec(codec));
    return registry;
  }

  register(codec: AsyncCodec): this {
    checkRegistration(codec, this.byName, this.byId);
    this.byId.set(codec.id, codec);
    this.byName.set(codec.name, codec);
    return this;
  }

  get(id: number): AsyncCodec | undefined {
    return this.byId.get(id);
  }

  named(name: string): AsyncCodec | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Every registered codec, in registration order. */
  list(): AsyncCodec[] {
    return [...this.byName.values()];
  }
}

function checkRegistration(codec: { name: string; id: number }, byName: ReadonlyMap<string, unknown>, byId: ReadonlyMap<number, { name: string }>): void {
  const { name, id } = codec;
  if (typeof name !== "string" || name.length === 0) throw codecRegistrationError(`a codec needs a non-empty name (id ${id})`, { id });
  checkCodecId(name, id);
  if (byName.has(name)) throw codecRegistrationError(`a codec named "${name}" is already registered`, { name, id });
  const holder = byId.get(id);
  if (holder) throw codecRegistrationError(`codec "${name}" claims envelope id ${id}, which codec "${holder.name}" already has`, { name, id, holder: holder.name });
  if (isKnownCodecName(name) && CODEC_IDS[name] !== id) {
    throw codecRegistrationError(`codec "${name}" must have envelope id ${CODEC_IDS[name]} (CODEC_IDS), not ${id}`, { name, id, expected: CODEC_IDS[name] });
  }
  const reservedFor = knownCodecNameOf(id);
  if (reservedFor !== undefined && reservedFor !== name) {
    throw codecRegistrationError(`envelope id ${id} belongs to codec "${reservedFor}" (CODEC_IDS); codec "${name}" needs another`, { name, id, holder: reservedFor });
  }
}
