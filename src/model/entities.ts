export const ENTITY_TYPES = ["person", "organization", "place", "datetime", "number", "amount", "email", "url", "code"] as const;
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
