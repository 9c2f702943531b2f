import type { Engine } from "../engine.js";
import type { SearchHit } from "../search/search.js";

/**
 * Each hit made into an answer with its memory's text (REST and MCP cut it into a preview), from one
 * batch read of the hits' rows; a hit whose memory was deleted or expired since it was ranked is left
 * out, never answered with an error or another memory's text.
 */
export async function answerHits<T>(engine: Engine, hits: readonly SearchHit[], answer: (hit: SearchHit, text: string) => T): Promise<T[]> {
  const texts = await engine.texts(hits.map((hit) => ({ id: hit.id, namespace: hit.namespace })));
  return hits.flatMap((hit, i) => {
    const text = texts[i];
    return text === undefined ? [] : [answer(hit, text)];
  });
}
