/** Cutting a string at a UTF-16 index without splitting a character. */

export const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
export const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

/** `end` (at most the text's length), or one unit less where `end` would split a surrogate pair: half an emoji is no JSON a strict reader takes. */
export function pairSafeEnd(text: string, end: number): number {
  if (end >= text.length) return text.length;
  return end > 0 && isHighSurrogate(text.charCodeAt(end - 1)) ? end - 1 : end;
}
