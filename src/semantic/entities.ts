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
