import { MemzipError, ErrorCode } from "../errors.js";

/**
 * The envelope id of every codec this build knows, by name: the byte each envelope's header
 * carries. Envelopes on disk name these numbers, so an id is never renumbered or reused. A codec
 * registered from outside picks an id this map does not use.
 */
export const CODEC_IDS = Object.freeze({
  raw: 0,
  zstd: 1,
  "zstd-dict": 2,
  cm: 3,
  "cm-ref": 4,
  llm: 5,
  "llm-mix": 6,
} as const);

export type KnownCodecName = keyof typeof CODEC_IDS;
export type KnownCodecId = (typeof CODEC_IDS)[KnownCodecName];

/** Envelopes keep the codec id in one byte. */
export const MAX_CODEC_ID = 255;

export function isKnownCodecName(name: string): name is KnownCodecName {
  return Object.hasOwn(CODEC_IDS, name);
}

/** The name the central map gives `id`, if it gives one. */
export function knownCodecNameOf(id: number): KnownCodecName | undefined {
  return (Object.keys(CODEC_IDS) as KnownCodecName[]).find((name) => CODEC_IDS[name] === id);
}

/** Throws `E_USAGE` unless every id is a distinct integer 0..255 (checked on the central map when this module loads). */
export function checkCodecIds(ids: Readonly<Record<string, number>>): void {
  const owner = new Map<number, string>();
  for (const [name, id] of Object.entries(ids)) {
    checkCodecId(name, id);
    const taken = owner.get(id);
    if (taken !== undefined) throw codecRegistrationError(`codecs "${taken}" and "${name}" both claim envelope id ${id}`, { id, names: [taken, name] });
    owner.set(id, name);
  }
}

/** Throws `E_USAGE` unless `id` fits an envelope's codec byte. */
export function checkCodecId(name: string, id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_CODEC_ID) {
    throw new MemzipError(ErrorCode.USAGE, `codec "${name}" has envelope id ${id}; ids are integers 0..${MAX_CODEC_ID}`, {
      hint: "Give the codec an integer id from 0 to 255 that no other codec uses (see CODEC_IDS in src/codec/ids.ts).",
      details: { name, id },
    });
  }
}

/** The typed error for two codecs that claim one id or one name. */
export function codecRegistrationError(message: string, details: Record<string, unknown>): MemzipError {
  return new MemzipError(ErrorCode.USAGE, message, {
    hint: "Give each codec its own name and an envelope id no other codec uses (the built-in ones are in CODEC_IDS, src/codec/ids.ts).",
    details,
  });
}

checkCodecIds(CODEC_IDS);
