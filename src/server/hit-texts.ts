import { z } from "zod";
import { damageJson, type DamagedMemories, type MemoryRef } from "../core/store.js";
import type { Engine } from "../engine.js";
import { isOneMemoryError, type ErrorCode } from "../errors.js";

/** Why a hit's text could not be read (its model or asset missing here, its payload damaged): the hit is answered with it. */
export interface UnreadableText {
  code: ErrorCode;
  message: string;
}

/** A hit's `unreadable` field, as REST and MCP answer it. */
export const UnreadableHitSchema = z
  .object({ code: z.string(), message: z.string() })
  .optional()
  .describe("present when the memory's text cannot be read now (its model or asset missing, its payload damaged); preview is then empty");

/**
 * Each hit made into an answer with its memory's text (REST and MCP cut it into a preview), from one
 * batch read of the hits' rows; a hit whose memory was deleted or expired since it was ranked is left
 * out, never answered with an error or another memory's text. A hit whose text cannot be read is
 * answered with why (`unreadable`) instead of failing the others: when the batch read fails so, each
 * hit is read alone.
 */
export async function answerHits<H extends MemoryRef, T>(engine: Engine, hits: readonly H[], answer: (hit: H, text: string) => T, unreadable: (hit: H, why: UnreadableText) => T): Promise<T[]> {
  const refs = hits.map((hit) => ({ id: hit.id, namespace: hit.namespace }));
  let texts: (string | UnreadableText | undefined)[];
  try {
    texts = await engine.texts(refs);
  } catch (error) {
    if (!isOneMemoryError(error)) throw error;
    texts = await Promise.all(
      refs.map(async (ref) => {
        try {
          return (await engine.texts([ref]))[0];
        } catch (failure) {
          if (!isOneMemoryError(failure)) throw failure;
          return { code: failure.code, message: failure.message };
        }
      }),
    );
  }
  return hits.flatMap((hit, i) => {
    const text = texts[i];
    if (text === undefined) return [];
    return [typeof text === "string" ? answer(hit, text) : unreadable(hit, text)];
  });
}

/** A list page's `damaged` field, as REST and MCP answer it. */
export const DamagedPlacesSchema = z
  .array(z.object({ where: z.string(), memories: z.number().int(), code: z.string(), message: z.string(), hint: z.string().optional() }))
  .optional()
  .describe("memories this page passed over because they cannot be read (a damaged sealed block: an admin's `memzip verify` names it, with the fix); every other match is listed");

/** A page's damaged places as REST and MCP answer them: `{ damaged }` when there are any, else nothing. */
export function damagedPlaces(damaged: readonly DamagedMemories[] | undefined): { damaged?: z.infer<typeof DamagedPlacesSchema> } {
  if (!damaged || damaged.length === 0) return {};
  return { damaged: damaged.map(damageJson) };
}
