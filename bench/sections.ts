import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Replaces the `<!-- bench:NAME -->` section of BENCHMARKS.md (or appends it), leaving the rest as it is. */
export function replaceSection(name: string, body: string): void {
  const file = join(ROOT, "BENCHMARKS.md");
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const block = `${begin}\n${body}\n${end}`;
  const start = text.indexOf(begin);
  const next = start === -1 ? `${text.trimEnd()}\n\n${block}\n` : `${text.slice(0, start)}${block}${text.slice(text.indexOf(end) + end.length)}`;
  writeFileSync(file, next);
}
