/**
 * The memory filter at every boundary: one zod schema (`MemoryFilterSchema`, the JSON form REST
 * bodies and MCP tools take) and, built from the same field schemas, its text form for URL queries
 * and CLI flags (`MemoryFilterTextShape`: repeated values, numbers as text, meta as `key=value`).
 * Both give a `MemoryFilter` (without namespaces, which each front end scopes itself).
 */
import { z } from "zod";
import { ErrorCode, MemzipError } from "../errors.js";
import { MEMORY_KINDS, type MemoryFilter } from "./store.js";

/** Most tags (each list) and meta keys one filter takes. */
export const FILTER_MAX_VALUES = 32;

const Tag = z.string().min(1).max(256);
const TagList = z.array(Tag).max(FILTER_MAX_VALUES);
/** A time in ms since the epoch, as far as a JavaScript Date reaches either way (a memory's createdAt may be before 1970). */
const Time = z.number().int().min(-8_640_000_000_000_000).max(8_640_000_000_000_000);

/** The filter in JSON form: every condition given must hold (AND). */
export const MemoryFilterSchema = z
  .object({
    kind: z.enum(MEMORY_KINDS).optional().describe("only memories of this kind"),
    tags: TagList.optional().describe("only memories carrying EVERY one of these tags"),
    anyTags: TagList.optional().describe("only memories carrying AT LEAST ONE of these tags"),
    createdFrom: Time.optional().describe("created at or after (ms since the epoch)"),
    createdBefore: Time.optional().describe("created before (ms since the epoch)"),
    updatedFrom: Time.optional().describe("text last changed at or after (ms since the epoch; the creation when never changed)"),
    updatedBefore: Time.optional().describe("text last changed before (ms since the epoch)"),
    // Values are scalars: SQLite compares JSON text and PostgreSQL jsonb, which agree on scalars but not on
    // objects (key order) or arrays, and a filter must select the same memories on every store.
    // A "__proto__" key is refused, not dropped (zod's record leaves it out): dropped, the condition would
    // vanish and the filter match more than asked — a `rm --where` would delete memories it should keep.
    meta: z
      .preprocess(
        (value, context) => {
          if (typeof value === "object" && value !== null && Object.hasOwn(value, "__proto__")) {
            context.addIssue({ code: "custom", message: "a meta key named __proto__ cannot be filtered on" });
          }
          // A query's or a flag's pair without "=" (left a string by metaFromPairs), or a JSON filter's string.
          if (typeof value === "string") {
            context.addIssue({ code: "custom", message: `takes KEY=VALUE (in a query or a flag) or an object of keys and values (in JSON), not ${JSON.stringify(value.slice(0, 64))}` });
          }
          return value;
        },
        z
          .record(z.string().min(1).max(256), z.union([z.string(), z.number(), z.boolean(), z.null()]))
          .refine((meta) => Object.keys(meta).length <= FILTER_MAX_VALUES, `at most ${FILTER_MAX_VALUES} meta keys`),
      )
      .optional()
      .describe("only memories whose meta holds each key with exactly this value (a string, number, boolean or null)"),
  })
  .strict();
export type MemoryFilterInput = z.infer<typeof MemoryFilterSchema>;

const fields = MemoryFilterSchema.shape;

/** One value or several (`?tag=a&tag=b`, a repeated flag) as a list. */
const asList = (value: unknown): unknown => (value === undefined || Array.isArray(value) ? value : [value]);
/**
 * A time (or a count) given as text, a query string's, as a number: decimal digits, with a minus for a time before 1970
 * (a memory's createdAt may be one, and JSON bodies and the CLI take such bounds); anything else is left for the schema.
 */
const asNumber = (value: unknown): unknown => (typeof value === "string" && /^-?\d{1,16}$/.test(value) ? Number(value) : value);

/** A whole number written as decimal digits (a query string's, a CLI flag's); undefined for anything else ("0x10", "1e1", " 5", ""). */
export function decimalInteger(value: unknown): number | undefined {
  return typeof value === "string" && /^\d{1,16}$/.test(value) ? Number(value) : undefined;
}

/** A whole number given in a query string, as decimal digits only ("0x10", "1e1", " 5", "" are refused, not read as numbers). */
export function queryInteger(min: number, max: number) {
  return z.preprocess(asNumber, z.number().int().min(min).max(max));
}

/**
 * `key=value` pairs as a meta object: the value is read as JSON when it is JSON (`n=1` is the number
 * 1, `ok=true` a boolean, `v="1"` the string "1"; `o={"a":1}` an object, which the schema refuses), else taken as a string
 * (`team=core`). A pair without `=` or with an empty key is left as it is, for the schema to refuse.
 */
export function metaFromPairs(value: unknown): unknown {
  const list = asList(value);
  if (!Array.isArray(list) || !list.every((pair) => typeof pair === "string")) return value;
  const meta: Record<string, unknown> = {};
  for (const pair of list as string[]) {
    const at = pair.indexOf("=");
    if (at <= 0) return pair; // not key=value: a string where a record is wanted, refused by the schema
    const text = pair.slice(at + 1);
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: the text itself
    }
    // defineProperty: a key named "__proto__" becomes a key (which the schema refuses), never the prototype.
    Object.defineProperty(meta, pair.slice(0, at), { value: parsed, enumerable: true, writable: true, configurable: true });
  }
  return meta;
}

/** The filter's text form (URL query parameters, CLI flags): the same field schemas behind text conversions. */
export const MemoryFilterTextShape = {
  kind: fields.kind,
  tag: z.preprocess(asList, fields.tags).describe("only memories carrying EVERY one of these tags (repeat the parameter)"),
  anyTag: z.preprocess(asList, fields.anyTags).describe("only memories carrying AT LEAST ONE of these tags (repeat the parameter)"),
  createdFrom: z.preprocess(asNumber, fields.createdFrom),
  createdBefore: z.preprocess(asNumber, fields.createdBefore),
  updatedFrom: z.preprocess(asNumber, fields.updatedFrom),
  updatedBefore: z.preprocess(asNumber, fields.updatedBefore),
  meta: z.preprocess(metaFromPairs, fields.meta).describe("KEY=VALUE (repeat: all must hold); VALUE is read as JSON when it is JSON, else as a string"),
};
export const MemoryFilterTextSchema = z.object(MemoryFilterTextShape).strict();
export type MemoryFilterText = z.infer<typeof MemoryFilterTextSchema>;

/** A parsed filter (either form, or an object holding one among other fields) as the store's `MemoryFilter`, conditions not given left out. */
export function toMemoryFilter(input: Partial<MemoryFilterInput> & Partial<MemoryFilterText>): Omit<MemoryFilter, "namespaces"> {
  const tags = input.tags ?? input.tag;
  const anyTags = input.anyTags ?? input.anyTag;
  const filter: Omit<MemoryFilter, "namespaces"> = {
    ...(input.kind ? { kind: input.kind } : {}),
    ...(tags && tags.length > 0 ? { tags } : {}),
    ...(anyTags && anyTags.length > 0 ? { anyTags } : {}),
    ...(input.meta && Object.keys(input.meta).length > 0 ? { meta: input.meta } : {}),
  };
  for (const key of ["createdFrom", "createdBefore", "updatedFrom", "updatedBefore"] as const) {
    const value = input[key];
    if (value !== undefined) filter[key] = value;
  }
  return filter;
}

/**
 * Text values (CLI flags) checked by the filter's schema; a value it refuses is E_USAGE naming the
 * field (`flags` maps a field to the flag the user typed) and what it must be.
 */
export function parseFilterText(values: Record<string, unknown>, flags: Partial<Record<keyof MemoryFilterText, string>> = {}): Omit<MemoryFilter, "namespaces"> {
  const defined = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
  const parsed = MemoryFilterTextSchema.safeParse(defined);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "filter") as keyof MemoryFilterText;
    const name = flags[field] ?? field;
    const hint = field === "meta" ? "Give --meta KEY=VALUE (repeat for several; VALUE a JSON scalar, e.g. n=1 or ok=true, or plain text; objects and arrays are not compared)." : `Check ${name}; \`memzip COMMAND --help\` lists the filter flags.`;
    // --meta's common mistake (no "="), in its own words rather than the schema's.
    const unpaired = field === "meta" && Array.isArray(values.meta) ? values.meta.find((v) => typeof v === "string" && !v.includes("=")) : undefined;
    const message = unpaired !== undefined ? `${JSON.stringify(unpaired)} is not KEY=VALUE` : (issue?.message ?? "refused");
    throw new MemzipError(ErrorCode.USAGE, `invalid filter ${name}: ${message}`, { hint });
  }
  return toMemoryFilter(parsed.data);
}

/**
 * The filter a library caller hands the engine (forgetWhere, page, export, recode, search): the JSON
 * form, with the namespaces and the engine's own fields. A JavaScript caller is not held to the types,
 * and a condition the store cannot read is worse than an error: `createdBefore: "2020-01-01"` matched
 * every row of SQLite (any number sorts before any text), so a forgetWhere deleted every memory.
 */
const LibraryFilterSchema = MemoryFilterSchema.extend({
  namespaces: z.array(z.string()).optional(),
  activeAt: Time.optional(),
  expiredBy: Time.optional(),
}).strict();

/** Refuses a library caller's filter that is not a `MemoryFilter` (E_INVALID_INPUT naming the field); `what` names it in the message. */
export function checkLibraryFilter(filter: unknown, what = "filter"): void {
  if (filter === undefined) return;
  const parsed = LibraryFilterSchema.safeParse(filter);
  if (parsed.success) return;
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : undefined;
  throw new MemzipError(ErrorCode.INVALID_INPUT, `invalid ${what}${field ? ` ${field}` : ""}: ${issue?.message ?? "refused"}`, {
    hint: "Times are numbers of ms since the epoch (Date.parse(\"2020-01-01\") or date.getTime()); tags, anyTags and namespaces arrays of strings; meta an object of scalars; kind one of the memory kinds.",
    details: { field: field ?? null },
  });
}
