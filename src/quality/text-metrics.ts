/**
 * Reference-based text metrics for rebuilt or summarised memories. Tokens are words for
 * alphabetic scripts and single characters for CJK, so Chinese is scored per character.
 */
const TOKEN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|[\p{L}\p{N}_]+(?:['’.-][\p{L}\p{N}_]+)*|[^\s\p{L}\p{N}]/gu;

/** Lower-cased tokens: CJK characters one by one, words and numbers whole, punctuation marks alone. */
export function tokenize(text: string): string[] {
  return (text.toLowerCase().match(TOKEN) ?? []).filter((t) => t.trim() !== "");
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
  f1: number;
}

/** ROUGE-L: precision, recall and F1 of the longest common token subsequence. */
export function rougeL(candidate: string, reference: string): PrecisionRecall {
  const c = tokenize(candidate);
  const r = tokenize(reference);
  if (c.length === 0 || r.length === 0) return { precision: 0, recall: 0, f1: 0 };
  const lcs = longestCommonSubsequence(c, r);
  return f1Of(lcs / c.length, lcs / r.length);
}

export interface BleuOptions {
  /** Largest n-gram order. Defaults to `4`. */
  maxOrder?: number;
  /** Add-one smoothing of the n-gram precisions (Lin & Och 2004), so short texts do not score 0. Defaults to `false`. */
  smooth?: boolean;
}

/** Sentence BLEU against one reference: geometric mean of clipped n-gram precisions times the brevity penalty. */
export function bleu(candidate: string, reference: string, options: BleuOptions = {}): number {
  const maxOrder = options.maxOrder ?? 4;
  const c = tokenize(candidate);
  const r = tokenize(reference);
  if (c.length === 0) return 0;
  let logSum = 0;
  for (let n = 1; n <= maxOrder; n++) {
    const candidateGrams = ngrams(c, n);
    const referenceGrams = ngrams(r, n);
    let matches = 0;
    let total = 0;
    for (const [gram, count] of candidateGrams) {
      matches += Math.min(count, referenceGrams.get(gram) ?? 0);
      total += count;
    }
    const smoothing = options.smooth && n > 1 ? 1 : 0;
    if (matches + smoothing === 0 || total + smoothing === 0) return 0;
    logSum += Math.log((matches + smoothing) / (total + smoothing));
  }
  const brevity = c.length >= r.length ? 1 : Math.exp(1 - r.length / c.length);
  return brevity * Math.exp(logSum / maxOrder);
}

export function f1Of(precision: number, recall: number): PrecisionRecall {
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

function longestCommonSubsequence(a: readonly string[], b: readonly string[]): number {
  let previous = new Uint32Array(b.length + 1);
  let current = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? (previous[j - 1] as number) + 1 : Math.max(previous[j] as number, current[j - 1] as number);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length] as number;
}

function ngrams(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const gram = tokens.slice(i, i + n).join("\u0000");
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}
