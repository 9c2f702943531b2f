/**
 * Entity types. `amount` is money (currency codes or symbols, either order); `quantity` a number
 * with a unit of measure (`2.5 GB`, `30 km`); `duration` a span of time (`37 minutes`, `3 h 12 min`);
 * `version` a release (`v2.8.0`); `path` a file or folder path or file name; `url` a URL or another
 * URI (`s3://…`) or a network address; `hash` a commit or content hash; `id` a ticket, invoice,
 * order or flight id (`ENG-4471`, `#812`, a UUID); `code` an identifier from source code.
 */
export const ENTITY_TYPES = [
  "person",
  "organization",
  "place",
  "datetime",
  "duration",
  "number",
  "quantity",
  "amount",
  "email",
  "url",
  "path",
  "version",
  "hash",
  "id",
  "code",
] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** A span of a text; `start` and `end` are UTF-16 offsets into it (`text.slice(start, end)`). */
export interface Entity {
  type: EntityType;
  text: string;
  start: number;
  end: number;
}

/** Finds entities in a memory's text: rule-based with no model, refined by an LLM where one is configured. */
export interface EntityExtractor {
  readonly name: string;
  extract(text: string): Entity[];
}

/** How `extractInParts` bounds the work on one text. */
export const ENTITY_PARTS = {
  /** Characters of one part, cut at a line break (else a space) in its second half. */
  partChars: 4096,
  /** Characters of a memory entities are taken from: its first 64 Ki. */
  maxChars: 65_536,
} as const;

/**
 * The entities of a text, extracted part by part with the event loop handed back between parts: the extractors cost
 * ~40 ms a KiB of prose here, and some of their rules grow faster than the text (120 KB of "x" held a server 8 s). A
 * text of one part is extracted whole, as before; a longer one in parts of ~4 KiB (an entity across a cut may be
 * missed), from its first 64 Ki characters only.
 */
export async function extractInParts(extractor: EntityExtractor, text: string, bounds: { partChars: number; maxChars: number } = ENTITY_PARTS): Promise<Entity[]> {
  if (text.length <= bounds.partChars) return extractor.extract(text);
  const end = Math.min(text.length, bounds.maxChars);
  const found: Entity[] = [];
  for (let start = 0; start < end; ) {
    const cut = partEnd(text, start, Math.min(end, start + bounds.partChars));
    for (const entity of extractor.extract(text.slice(start, cut))) found.push({ ...entity, start: entity.start + start, end: entity.end + start });
    start = cut;
    if (start < end) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return found;
}

/** Where a part from `start` ends, at most at `limit`: after the last line break of its second half, else its last space, else at `limit` (never inside a surrogate pair). */
function partEnd(text: string, start: number, limit: number): number {
  if (limit >= text.length) return text.length;
  const half = start + Math.floor((limit - start) / 2);
  const newline = text.lastIndexOf("\n", limit - 1);
  if (newline >= half) return newline + 1;
  const space = text.lastIndexOf(" ", limit - 1);
  if (space >= half) return space + 1;
  const code = text.charCodeAt(limit - 1);
  return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit;
}
