import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { ROOT, tempDir, spawnBounded } from "../helpers.js";

/**
 * The layer rules of `.dependency-cruiser.mjs` (run by `npm run lint`) fire: the real tool and the
 * real config, on small source trees laid out like src/.
 */
const DEPCRUISE = join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");
const CONFIG = join(ROOT, ".dependency-cruiser.mjs");

interface Violation {
  rule: string;
  from: string;
  to: string;
}

function cruise(files: Record<string, string>): { status: number | null; violations: Violation[] } {
  using dir = tempDir();
  const tsconfig = { compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true, verbatimModuleSyntax: true }, include: ["src"] };
  writeFileSync(join(dir.path, "tsconfig.json"), JSON.stringify(tsconfig));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir.path, path)), { recursive: true });
    writeFileSync(join(dir.path, path), text);
  }
  // The `err` report is the one `npm run lint` prints, and its exit status is the number of errors.
  const result = spawnBounded(process.execPath, [DEPCRUISE, "src", "--config", CONFIG, "--output-type", "err"], { cwd: dir.path, encoding: "utf8" });
  assert.equal(result.stderr, "", "depcruise ran");
  // `error <rule>: <from> → <to>`; a cycle is reported once, its next module on the next line.
  const violations = [...result.stdout.matchAll(/error ([\w-]+): (\S+) →\s*(\S+)/g)].map(([, rule, from, to]) => ({ rule: rule!, from: from!, to: to! }));
  return { status: result.status, violations: violations.sort((a, b) => `${a.rule} ${a.from}`.localeCompare(`${b.rule} ${b.from}`)) };
}

/** The files every tree has: errors.ts (core) and a codec the others may import. */
const BASE = {
  "src/errors.ts": "export class MemzipError extends Error {}\n",
  "src/core/store.ts": 'import type { Asset } from "../codec/codec.js";\nexport interface Store { get(): Asset | undefined }\n',
  "src/codec/codec.ts": 'import { MemzipError } from "../errors.js";\nexport interface Asset { id: string }\nexport const fail = () => new MemzipError();\n',
};

describe("layer rules (npm run lint:layers)", () => {
  it("pass a tree that keeps the layers: downward imports, codec types in core, engine/ parts over search and store", () => {
    const { status, violations } = cruise({
      ...BASE,
      "src/model/backend.ts": 'import type { Asset } from "../codec/codec.js";\nexport type Embed = (a: Asset) => number;\n',
      "src/store/open.ts": 'import type { Store } from "../core/store.js";\nexport const openStore = (s: Store) => s;\n',
      "src/search/search.ts": 'import { openStore } from "../store/open.js";\nimport type { Embed } from "../model/backend.js";\nexport const search = (e: Embed) => [e, openStore];\n',
      "src/engine/reader.ts": 'import { search } from "../search/search.js";\nexport const read = () => search;\n',
      "src/engine.ts": 'import { read } from "./engine/reader.js";\nexport class Engine { r = read }\n',
      "src/cli/main.ts": 'import { Engine } from "../engine.js";\nexport const main = () => new Engine();\n',
    });
    assert.deepEqual(violations, []);
    assert.equal(status, 0);
  });

  it("fail on a cycle, an upward import (also type-only, also from src/engine/), CLI imports outside the CLI, codec code in core, and a file in no layer", () => {
    const { status, violations } = cruise({
      ...BASE,
      // A cycle inside one layer, through a type-only import.
      "src/model/a.ts": 'import type { B } from "./b.js";\nexport interface A { b?: B }\n',
      "src/model/b.ts": 'import type { A } from "./a.js";\nexport interface B { a?: A }\n',
      // Upward: codec (pure formats) reaching into model/, by type only.
      "src/codec/semantic.ts": 'import type { A } from "../model/a.js";\nexport type S = A;\n',
      // Upward: an engine part reaching into the CLI.
      "src/engine/writer.ts": 'import { main } from "../cli/main.js";\nexport const write = main;\n',
      "src/cli/main.ts": "export const main = () => 0;\n",
      // The CLI is the outermost layer: a server below it may not import it.
      "src/server/http.ts": 'import { main } from "../cli/main.js";\nexport const serve = main;\n',
      // core importing codec at run time (types only are allowed).
      "src/core/worker-pool.ts": 'import { fail } from "../codec/codec.js";\nexport const pool = fail;\n',
      // A folder no layer claims.
      "src/util/misc.ts": 'import { pool } from "../core/worker-pool.js";\nexport const misc = pool;\n',
      "src/pipeline/import.ts": 'import { misc } from "../util/misc.js";\nexport const run = misc;\n',
    });
    assert.notEqual(status, 0);
    assert.deepEqual(violations, [
      { rule: "every-file-in-a-layer", from: "src/pipeline/import.ts", to: "src/util/misc.ts" },
      { rule: "every-file-in-a-layer-from", from: "src/util/misc.ts", to: "src/core/worker-pool.ts" },
      { rule: "no-circular", from: "src/model/a.ts", to: "src/model/b.ts" },
      { rule: "no-upward-import-codec", from: "src/codec/semantic.ts", to: "src/model/a.ts" },
      { rule: "no-upward-import-core-codec", from: "src/core/worker-pool.ts", to: "src/codec/codec.ts" },
      { rule: "no-upward-import-engine", from: "src/engine/writer.ts", to: "src/cli/main.ts" },
      { rule: "no-upward-import-server", from: "src/server/http.ts", to: "src/cli/main.ts" },
      { rule: "only-cli-imports-cli", from: "src/engine/writer.ts", to: "src/cli/main.ts" },
      { rule: "only-cli-imports-cli", from: "src/server/http.ts", to: "src/cli/main.ts" },
    ]);
  });
});
