/**
 * `npm run train:cm-base`: builds the base models shipped with memzip (src/codec/cm/base.ts,
 * assets/cm-base-v*.mzcm) from the dev corpus (../shared/corpus/memories-dev.jsonl, read here and
 * never copied into the repository: the snapshot codes it, which is how it ships), each by its
 * recipe, and prints each file's size and sha256. A file that already exists with the sha256 the
 * registry names is left alone; one that differs is reported and, with `--write`, replaced (a base
 * that shipped must never change: put a new one in BASE_MODELS instead).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BASE_MODELS, baseModelFile, baseTrainingTexts } from "../src/codec/cm/base.js";
import { encodeSnapshot } from "../src/codec/cm/snapshot.js";
import { devTexts } from "./corpus.js";

const { values } = parseArgs({ options: { write: { type: "boolean" } } });
const records = devTexts().map((text) => ({ text }));
for (const base of BASE_MODELS) {
  const texts = baseTrainingTexts(base.recipe, records);
  const started = process.cpuUsage();
  const bytes = encodeSnapshot(texts, { params: base.recipe.params, version: base.recipe.modelVersion, maxTrainingBytes: Number.MAX_SAFE_INTEGER });
  const cpuMs = Math.round(process.cpuUsage(started).user / 1000);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const file = baseModelFile(base);
  const existing = existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex") : undefined;
  const trainingBytes = texts.reduce((sum, t) => sum + t.length, 0);
  console.log(JSON.stringify({ version: base.version, file: fileURLToPath(file), records: texts.length, trainingBytes, bytes: bytes.length, sha256, registry: base.sha256, existing: existing ?? null, trainCpuMs: cpuMs }));
  if (existing === sha256 && sha256 === base.sha256) continue;
  if (!values.write) {
    console.error(`base v${base.version}: the built bytes differ from ${existing === undefined ? "a missing file" : "the file"} or the registry; --write replaces the file (then set its sha256 in src/codec/cm/base.ts)`);
    process.exitCode = 1;
    continue;
  }
  writeFileSync(file, bytes);
}
