import { strict as assert } from "node:assert";
import { spawnSync, type ChildProcess, type SpawnSyncOptions, type SpawnSyncOptionsWithBufferEncoding, type SpawnSyncOptionsWithStringEncoding, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openEnvelope, sealEnvelope } from "../src/codec/envelope.js";
import type { Store } from "../src/core/store.js";
import { Engine } from "../src/engine.js";
import { openStore } from "../src/store/open.js";
import { openDatabase } from "../src/store/sqlite/database.js";

/** Repository root (tests run from dist/test). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const SHARED = join(ROOT, "..", "shared");
export const DEV_CORPUS = join(SHARED, "corpus", "memories-dev.jsonl");
export const SAMPLE = join(ROOT, "examples", "memories.jsonl");
export const CLI = join(ROOT, "dist", "src", "cli", "main.js");

export interface CorpusRecord {
  id: string;
  text: string;
  lang: string;
  source: string;
}

let corpus: CorpusRecord[] | undefined;
export function devCorpus(): CorpusRecord[] {
  corpus ??= readFileSync(DEV_CORPUS, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as CorpusRecord);
  return corpus;
}

/** A fresh temporary directory, removed when the returned disposer runs. */
export function tempDir(): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), "memzip-test-"));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** Random strings that stress a codec: ASCII, CJK, emoji, control characters, long repeats. */
export function randomTexts(count: number, random: () => number): string[] {
  const pools = [
    () => String.fromCharCode(32 + Math.floor(random() * 95)),
    () => String.fromCharCode(0x4e00 + Math.floor(random() * 0x5000)),
    () => String.fromCodePoint(0x1f600 + Math.floor(random() * 80)),
    () => String.fromCharCode(Math.floor(random() * 32)),
    () => String.fromCodePoint(Math.floor(random() * 0xd7ff) + 1),
  ];
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(random() ** 3 * 3000);
    let text = "";
    while (text.length < length) {
      const pick = pools[Math.floor(random() * pools.length)] as () => string;
      const piece = pick();
      text += random() < 0.05 ? piece.repeat(1 + Math.floor(random() * 200)) : piece;
    }
    texts.push(text);
  }
  return texts;
}

/** Every item of an async iterable, in order (Node 20 has no Array.fromAsync). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * The store behind an engine, for tests that check rows and assets directly (the facade keeps it
 * private; library users never need it).
 */
export function storeOf(engine: Engine): Store {
  return (engine as unknown as { store: Store }).store;
}

/**
 * How long a child process a test runs may take before it is killed: far above what any command
 * here needs on a slow, loaded CI machine (an import of the dev corpus, a few seconds quiet), so it
 * is only ever hit by a hang.
 */
export const CHILD_TIMEOUT_MS = 300_000;

/**
 * `spawnSync` that cannot wait forever: the child is killed (SIGKILL) after `timeout` (default
 * CHILD_TIMEOUT_MS), and then this throws an error that names the command, so a hang fails its
 * test under the command's name instead of stalling the run (the CI hang that 38f68ac fixed).
 */
export function spawnBounded(command: string, args: readonly string[], options: SpawnSyncOptionsWithStringEncoding): SpawnSyncReturns<string>;
export function spawnBounded(command: string, args: readonly string[], options?: SpawnSyncOptionsWithBufferEncoding | Omit<SpawnSyncOptions, "encoding">): SpawnSyncReturns<Buffer>;
export function spawnBounded(command: string, args: readonly string[], options: SpawnSyncOptions = {}): SpawnSyncReturns<string | Buffer> {
  const timeout = options.timeout ?? CHILD_TIMEOUT_MS;
  const result = spawnSync(command, args, { killSignal: "SIGKILL", ...options, timeout });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT") {
    const shown = [command, ...args].map((arg) => (arg.length > 120 ? `${arg.slice(0, 117)}...` : arg)).join(" ");
    const tail = (output: string | Buffer | null) => (output ? output.toString().slice(-2000) : "");
    throw new Error(`\`${shown}\` ran past ${timeout / 1000} s and was killed (a hang?)\nstderr tail: ${tail(result.stderr)}\nstdout tail: ${tail(result.stdout)}`);
  }
  return result;
}

/**
 * Spawn options for a reader that may not write where root may (nobody, when the tests run as root), or
 * undefined when that uid cannot load this build (as under a 0700 home): the caller skips then.
 */
export function readerAsNobody(): { uid?: number; gid?: number } | undefined {
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const probe = spawnBounded(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(join(ROOT, "dist", "src", "store", "open.js"))});`], { encoding: "utf8", ...asNobody });
  return probe.status === 0 ? asNobody : undefined;
}

/**
 * `readerAsNobody` for a test that needs such a reader: skips the test (saying why) and returns undefined when
 * there is none. Root may write anywhere, so the reader runs as nobody, which must be able to load this build.
 */
export function readerOrSkip(t: { skip(message?: string): void }): { uid?: number; gid?: number } | undefined {
  const reader = readerAsNobody();
  if (reader === undefined) t.skip("the uid the reader would run as cannot load this build");
  return reader;
}

/**
 * The exit of a child just spawned (call it right after `spawn`): resolves once the child has
 * exited and its output streams have closed. Past `timeoutMs` the child is killed (SIGKILL) and this
 * rejects with an error that names `what`, so a hung child fails its test instead of stalling the run.
 */
export function closedWithin(child: ChildProcess, what: string, timeoutMs = CHILD_TIMEOUT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (hung) reject(new Error(`${what} ran past ${timeoutMs / 1000} s and was killed (a hang?)`));
      else resolve({ code, signal });
    });
  });
}

/**
 * Moves every sealed block of the SQLite store at `path` back into the `memories` table (as a write to
 * each of them would), for tests that reach under the store with SQL (tampering with an envelope, reading
 * a raw row). Imports and compact seal by default; the memories stay the same, only their home changes.
 */
export function unsealFile(path: string): void {
  const database = openDatabase(path, { seal: false });
  try {
    const db = database.db;
    if (db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'memory_blocks'").get() === undefined) return;
    const first = db.prepare("SELECT first_seq FROM memory_blocks ORDER BY last_seq LIMIT 1").pluck();
    database.write(() => {
      for (let seq = first.get() as number | undefined; seq !== undefined; seq = first.get() as number | undefined) database.sealed.unsealAt(seq);
    });
  } finally {
    database.close();
  }
}

/**
 * Flips one bit near the end of memory `id`'s envelope (ids unique across namespaces) in a closed
 * SQLite store, unsealed first: its text then reads as E_CHECKSUM (or another typed decode error).
 */
export function damageEnvelope(path: string, id: string): void {
  unsealFile(path);
  const database = openDatabase(path, { seal: false });
  try {
    const row = database.db.prepare("SELECT seq, envelope FROM memories WHERE id = ?").get(id) as { seq: number; envelope: Buffer } | undefined;
    if (!row) throw new Error(`no memory ${id} in ${path}`);
    const envelope = Buffer.from(row.envelope);
    envelope[envelope.length - 2] = (envelope[envelope.length - 2] as number) ^ 0x10;
    database.write(() => database.db.prepare("UPDATE memories SET envelope = ? WHERE seq = ?").run(envelope, row.seq));
  } finally {
    database.close();
  }
}

/** Flips one bit in the middle of the sealed block ending at `lastSeq` in a closed SQLite store (what a bad sector or a stray write does). */
export function damageBlock(path: string, lastSeq: number): void {
  const database = openDatabase(path, { seal: false });
  try {
    const db = database.db;
    const data = db.prepare("SELECT data FROM memory_blocks WHERE last_seq = ?").pluck().get(lastSeq) as Buffer | undefined;
    if (!data) throw new Error(`no sealed block ending at seq ${lastSeq} in ${path}`);
    const bad = Buffer.from(data);
    bad[bad.length >> 1] = (bad[bad.length >> 1] as number) ^ 0x10;
    database.write(() => db.prepare("UPDATE memory_blocks SET data = ? WHERE last_seq = ?").run(bad, lastSeq));
  } finally {
    database.close();
  }
}

/**
 * The envelope (hex) a write makes today of `text`, recorded as a version 1 envelope (`recordedHex`):
 * the same payload under a version 2 header (docs/FORMAT.md), so fixtures recorded before version 2
 * still pin the payload byte for byte.
 */
export function asWrittenToday(recordedHex: string, text: string): string {
  const opened = openEnvelope(Buffer.from(recordedHex, "hex"), 1 << 30);
  return Buffer.from(sealEnvelope(opened.codecId, new TextEncoder().encode(text), opened.payload, opened.asset ? { asset: opened.asset } : {}, 2)).toString("hex");
}

/** One bit of a stored asset's bytes flipped, as a damaged disk would (trial43); the asset's id. */
export function damageAsset(db: string, kind: string): string {
  unsealFile(db);
  const database = openDatabase(db, { seal: false });
  try {
    const row = database.db.prepare("SELECT id, bytes FROM assets WHERE kind = ?").get(kind) as { id: string; bytes: Buffer };
    const bytes = Buffer.from(row.bytes);
    const at = Math.floor(bytes.length * 0.6);
    bytes[at] = (bytes[at] as number) ^ 0x02;
    database.db.prepare("UPDATE assets SET bytes = ? WHERE id = ?").run(bytes, row.id);
    return row.id;
  } finally {
    database.close();
  }
}

/** The text of memory i of `storeWithDamagedBlock`. */
export const damagedStoreText = (i: number): string => `memory number ${i}: the quick brown fox jumps over the lazy dog ${"z".repeat(i)}`;

/**
 * A store of 14 memories: seqs 1..12 sealed in blocks of 4 (1..4 and 9..12 "a"; 5..8 two "a", two "b"), 13 and 14 hot
 * ("a"). Returns the engine over it (searching on a thread with `searchThread`), the damage done after a search indexed
 * everything with `searchFirst` (else before any index).
 */
export async function storeWithDamagedBlock(dir: string, searchFirst: boolean, searchThread = false, expiredInBlock = false): Promise<{ path: string; engine: Engine }> {
  const path = join(dir, "store.db");
  const store = openStore(path, { seal: true, blockRows: 4, firstSealRows: 1 });
  // With `expiredInBlock`, b1 (in the block) has expired by the clock of the engine returned.
  const T0 = Date.UTC(2026, 0, 1);
  const clock = expiredInBlock ? { clock: () => T0 } : {};
  const engine = Engine.create({ store, cache: "off", workers: 0, ...clock });
  await engine.rememberMany(Array.from({ length: 6 }, (_, i) => ({ id: `a${i}`, text: damagedStoreText(i), tags: ["t"] })), { namespace: "a" });
  await engine.rememberMany([{ id: "b0", text: damagedStoreText(20) }, { id: "b1", text: damagedStoreText(21), ...(expiredInBlock ? { expiresAt: T0 + 1000 } : {}) }], { namespace: "b" });
  await engine.rememberMany(Array.from({ length: 4 }, (_, i) => ({ id: `a${i + 6}`, text: damagedStoreText(i + 6), tags: ["t"] })), { namespace: "a" });
  assert.equal(await store.seal?.(), 12);
  await engine.rememberMany([12, 13].map((i) => ({ id: `a${i}`, text: damagedStoreText(i), tags: ["t"] })), { namespace: "a" });
  if (searchFirst) assert.equal((await engine.searchMemories("quick fox", { limit: 20 })).length, 14);
  await engine.close();
  damageBlock(path, 8);
  return { path, engine: Engine.create({ store: openStore(path), cache: "off", workers: 0, searchThread, ...(expiredInBlock ? { clock: () => T0 + 5000 } : {}) }) };
}
