import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openEnvelope } from "../../src/codec/envelope.js";
import { CODEC_IDS } from "../../src/codec/ids.js";
import { BASE_MODELS } from "../../src/codec/cm/base.js";
import type { StoredMemory } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import type { WriteCodecName } from "../../src/engine-options.js";
import { isMemzipError } from "../../src/errors.js";
import { CLI, ROOT, SHARED, devCorpus, spawnBounded, storeOf, tempDir } from "../helpers.js";

const STORIES = join(SHARED, "models", "stories260K.gguf");
/** Deterministic model runs: one thread, no GPU (flash attention is always off in src/model/llama.ts); `mix` off, so only forcing picks llm-mix. */
const LLM = { gpu: false, contexts: 1, threads: 1 } as const;

const stories = readFileSync(join(ROOT, "bench", "data", "stories.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l, i) => ({ id: `story-${i}`, text: (JSON.parse(l) as { text: string }).text }));

function memzip(args: string[]) {
  const env = { ...process.env, MEMZIP_DB: "", MEMZIP_MODEL: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json", MEMZIP_LLM: JSON.stringify(LLM) };
  const result = spawnBounded(process.execPath, [CLI, ...args], { env });
  return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8"), json: () => JSON.parse(result.stdout.toString("utf8")) as Record<string, unknown> };
}

async function rowOf(db: string, namespace: string, id: string): Promise<StoredMemory> {
  await using engine = Engine.open({ db, cache: "off" });
  return (await storeOf(engine).memories.get(namespace, id)) as StoredMemory;
}

describe("--codec llm-mix: forced like --codec llm (real store, stories260K)", () => {
  it("add / recode --to llm-mix store codec 6 and read back exactly; the namespace's snapshot, else the shipped base; typed errors name the fix", async () => {
    using dir = tempDir();
    const db = join(dir.path, "force.db");
    {
      // The default namespace's past, and its cm snapshot (forced: measured, the shipped base, which learned from these dev texts, stores them smaller).
      await using engine = Engine.open({ db, autoTrainAfter: 0 });
      await engine.rememberMany(devCorpus().slice(0, 300).map(({ id, text }) => ({ id, text })));
      await engine.trainAsset("cm-snapshot", "default", { force: true });
    }
    const story = stories[0] as { id: string; text: string };

    // Without a model: E_USAGE (exit 2) naming --model and MEMZIP_MODEL.
    const missing = memzip(["add", story.text, "--db", db, "--codec", "llm-mix"]);
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, /the llm-mix codec needs a model/);
    assert.match(missing.stderr, /--model/);
    assert.match(missing.stderr, /MEMZIP_MODEL/);

    // With the model (llm.mix off): codec 6, mixed with the namespace's snapshot (recorded on the row).
    const added = memzip(["add", story.text, "--id", story.id, "--db", db, "--model", STORIES, "--codec", "llm-mix", "--json"]);
    assert.equal(added.status, 0, added.stderr);
    assert.equal(added.json().codec, "llm-mix");
    const row = await rowOf(db, "default", story.id);
    const opened = openEnvelope(row.envelope, 1 << 20);
    assert.equal(opened.codecId, CODEC_IDS["llm-mix"]);
    assert.equal(opened.codecId, 6);
    assert.ok(row.assetId && row.assetId !== BASE_MODELS[0]?.sha256, "the row records the namespace's own snapshot");
    assert.equal(memzip(["get", story.id, "--db", db]).stdout, story.text);

    // A namespace without a snapshot: as a forced cm codes with the shipped base (cmBase on), so does the mix.
    const tales = stories.slice(1, 3);
    for (const t of tales) assert.equal(memzip(["add", t.text, "--id", t.id, "-n", "tales", "--db", db, "--codec", "zstd", "--json"]).json().codec, "zstd");
    const recoded = memzip(["recode", "-n", "tales", "--to", "llm-mix", "--db", db, "--model", STORIES, "--json"]);
    assert.equal(recoded.status, 0, recoded.stderr);
    assert.equal(recoded.json().recoded, 2);
    for (const t of tales) {
      const mixed = await rowOf(db, "tales", t.id);
      assert.equal(mixed.codec, "llm-mix");
      assert.equal(openEnvelope(mixed.envelope, 1 << 20).codecId, 6);
      assert.equal(mixed.assetId, null, "a shipped base is in the package, not on the row");
      assert.equal(memzip(["get", t.id, "-n", "tales", "--db", db]).stdout, t.text);
    }

    // verify decodes every llm-mix memory (a fresh process, no cache) and counts them.
    const verify = memzip(["verify", "--db", db, "--json"]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.deepEqual({ checked: verify.json().checked, failed: verify.json().failed }, { checked: 303, failed: 0 });
    const stats = memzip(["stats", "--db", db, "--json"]).json() as { byCodec: Record<string, { memories: number }> };
    assert.equal(stats.byCodec["llm-mix"]?.memories, 3);

    // The engine API: an unknown codec is E_USAGE listing llm-mix; cmBase off in a namespace without a
    // snapshot is E_MISSING_ASSET naming what trains one; forcing cm leaves the model out.
    await using engine = Engine.open({ db, model: STORIES, llm: LLM, cache: "off" });
    await assert.rejects(engine.remember({ text: "x".repeat(40) }, { codec: "bogus" as WriteCodecName }), (e) => isMemzipError(e, "E_USAGE") && /llm-mix/.test((e as Error).message));
    await using noBase = Engine.open({ db, model: STORIES, llm: LLM, cache: "off", cmBase: false });
    await assert.rejects(noBase.remember({ text: (stories[3] as { text: string }).text }, { codec: "llm-mix", namespace: "young" }), (e) => isMemzipError(e, "E_MISSING_ASSET") && /memzip model train/.test(e.hint ?? ""));
    const forcedCm = await engine.remember({ id: "story-4", text: (stories[4] as { text: string }).text }, { codec: "cm" });
    assert.equal(forcedCm.codec, "cm");
  });
});
