/** The dev corpus and the query and memory makers the search benches share. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The texts of ../shared/corpus/memories-dev.jsonl, in file order. */
export function devTexts(): string[] {
  return readFileSync(join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => (JSON.parse(line) as { text: string }).text);
}

/** Words of a text: space-separated for most, characters in pairs for Chinese. */
export function words(text: string): string[] {
  const split = text.split(/\s+/).filter(Boolean);
  return split.length >= 8 ? split : (text.match(/.{1,2}/gsu) ?? []);
}

/** A window of a dev record, numbered, so no two memories are alike. */
export function memoryText(corpus: readonly string[], i: number, random: () => number): string {
  const source = words(corpus[i % corpus.length] as string);
  const length = Math.min(source.length, 12 + Math.floor(random() * 40));
  const start = Math.floor(random() * Math.max(1, source.length - length));
  const joiner = /\p{Script=Han}/u.test(source[0] ?? "") ? "" : " ";
  return `${source.slice(start, start + length).join(joiner)} (${i})`;
}
