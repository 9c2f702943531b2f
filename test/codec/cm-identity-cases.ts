/**
 * The cases behind test/codec/cm-identity.test.ts: a model-version-4 (or 5) snapshot at the default sizes
 * trained on 400 dev records, then 200 held-out dev records and 120 seeded random records
 * (bytes, Chinese, repeats of training text, one record over the 64 KiB undo limit) coded alone,
 * and a sha256 over the snapshot and every payload. The digest was written by the build before the
 * speed work of issue 16 (`node dist/test/codec/cm-identity-cases.js <old dist> > …/digest.json`):
 * a faster model must produce the same bits. Version 5's digest (cm-v5-digest) was written by the
 * build that introduced version 5 (`… <dist> <corpus> 5`), so that later work on it keeps its bits;
 * version 6's (cm-v6-digest), version 7's (cm-v7-digest) and version 8's (cm-v8-digest) likewise by the builds that introduced them.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { seededRandom } from "../../src/core/stats.js";

export interface IdentityCodec {
  encode(original: Uint8Array, asset: { id: string; kind: "cm-snapshot"; bytes: Uint8Array }): Uint8Array;
  decode(payload: Uint8Array, originalLength: number, asset: { id: string; kind: "cm-snapshot"; bytes: Uint8Array }): Uint8Array;
}
export interface IdentityModules {
  encodeSnapshot(samples: readonly Uint8Array[], options: { version: 4 | 5 | 6 | 7 | 8 }): Uint8Array;
  createCmCodec(): IdentityCodec;
}

export interface IdentityResult {
  snapshotSha256: string;
  payloadsSha256: string;
  records: number;
  bytes: number;
  /** Each record decoded back to itself. */
  roundTrips: boolean;
}

export function identityRecords(corpusPath: string): { training: Uint8Array[]; records: Uint8Array[] } {
  const encoder = new TextEncoder();
  const texts = readFileSync(corpusPath, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => encoder.encode((JSON.parse(line) as { text: string }).text));
  const training: Uint8Array[] = texts.slice(0, 400);
  const records: Uint8Array[] = texts.slice(1500, 1700);
  const random = seededRandom(1616);
  for (let i = 0; i < 120; i++) {
    const length = Math.floor(random() * 900);
    const kind = i % 4;
    if (kind === 0) records.push(Uint8Array.from({ length }, () => Math.floor(random() * 256)));
    else if (kind === 1) records.push(encoder.encode(Array.from({ length: Math.floor(length / 3) }, () => String.fromCodePoint(0x4e00 + Math.floor(random() * 300))).join("")));
    else if (kind === 2) records.push(Buffer.concat(Array.from({ length: 1 + Math.floor(random() * 6) }, () => training[Math.floor(random() * training.length)] as Uint8Array)).subarray(0, length));
    else records.push(Buffer.concat([texts[1700 + i] as Uint8Array, Uint8Array.from({ length: length % 23 }, () => Math.floor(random() * 256))]));
  }
  // Longer than the undo log covers: coded without rollback, then the model is rebuilt from the snapshot.
  records.push(Buffer.concat(texts.slice(1820, 2000)).subarray(0, 70_000));
  records.push(texts[1999] as Uint8Array);
  return { training, records };
}

export function identityDigest(modules: IdentityModules, corpusPath: string, version: 4 | 5 | 6 | 7 | 8 = 4): IdentityResult {
  const { training, records } = identityRecords(corpusPath);
  const bytes = modules.encodeSnapshot(training, { version });
  const asset = { id: createHash("sha256").update(bytes).digest("hex"), kind: "cm-snapshot" as const, bytes };
  const codec = modules.createCmCodec();
  const hash = createHash("sha256");
  let roundTrips = true;
  for (const record of records) {
    const payload = codec.encode(record, asset);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(payload.length);
    hash.update(length).update(payload);
    if (!Buffer.from(codec.decode(payload, record.length, asset)).equals(record)) roundTrips = false;
  }
  return { snapshotSha256: asset.id, payloadsSha256: hash.digest("hex"), records: records.length, bytes: records.reduce((sum, r) => sum + r.length, 0), roundTrips };
}

// `node dist/test/codec/cm-identity-cases.js <dist> [corpus] [version]`: the digest of the build in <dist> (model version 4 unless named).
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const dist = process.argv[2];
  if (!dist) throw new Error("usage: cm-identity-cases.js <dist> [corpus] [version]");
  const version = Number(process.argv[4] ?? 4);
  if (version !== 4 && version !== 5 && version !== 6 && version !== 7 && version !== 8) throw new Error("version: 4 to 8");
  const corpus = process.argv[3] ?? join(dist, "..", "..", "shared", "corpus", "memories-dev.jsonl");
  const snapshot = (await import(pathToFileURL(join(dist, "src/codec/cm/snapshot.js")).href)) as Pick<IdentityModules, "encodeSnapshot">;
  const cm = (await import(pathToFileURL(join(dist, "src/codec/cm.js")).href)) as Pick<IdentityModules, "createCmCodec">;
  console.log(JSON.stringify(identityDigest({ ...snapshot, ...cm }, corpus, version), null, 1));
}
