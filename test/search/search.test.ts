import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decodeFloat16, encodeFloat16, toHalf } from "../../src/codec/float16.js";
import { Engine } from "../../src/engine.js";
import { SearchIndex, atLeastNth, reciprocalRankFusion, restFrom, searchTerms, topRows } from "../../src/search/search.js";
import { HashedNgramEmbedder } from "../../src/search/similarity.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";
import { seededRandom } from "../../src/core/stats.js";
import { CLI, SHARED, devCorpus, tempDir, spawnBounded } from "../helpers.js";

describe("float16 vectors", () => {
  it("round-trips random unit-range values within half precision, and keeps the special values", () => {
    const random = seededRandom(11);
    const vector = Float32Array.from({ length: 4096 }, () => random() * 2 - 1);
    const back = decodeFloat16(encodeFloat16(vector));
    assert.equal(back.length, vector.length);
    for (let i = 0; i < vector.length; i++) {
      const x = vector[i] as number;
      // Normal halves: relative error ≤ 2^-11; below 2^-14 the absolute error is ≤ 2^-25.
      assert.ok(Math.abs((back[i] as number) - x) <= Math.max(Math.abs(x) * 2 ** -11, 2 ** -25), `${x} became ${back[i]}`);
    }
    const special = Float32Array.from([0, -0, 1, -2, 65504, 1e6, -1e6, 2 ** -24, 2 ** -26, 0.1]);
    const decoded = decodeFloat16(encodeFloat16(special));
    assert.deepEqual(Array.from(decoded.slice(0, 9)), [0, -0, 1, -2, 65504, Infinity, -Infinity, 2 ** -24, 0]);
    assert.equal(toHalf(0.1), 0x2e66);
    assert.throws(() => decodeFloat16(new Uint8Array(3)), RangeError);
  });
});

describe("search terms and fusion", () => {
  it("lower-cases words and splits Chinese into characters", () => {
    assert.deepEqual(searchTerms("Deploy Atlas v2, on FRIDAY!"), ["deploy", "atlas", "v2", "on", "friday"]);
    assert.deepEqual(searchTerms("周五部署 atlas"), ["周", "五", "部", "署", "atlas"]);
    assert.deepEqual(searchTerms("猫 and 狗2"), ["猫", "and", "狗", "2"]);
    assert.deepEqual(searchTerms("snake_case"), ["snake_case"]);
    assert.deepEqual(searchTerms("..."), []);
  });

  it("keeps combining marks inside words and reads a text as NFC (hostile trial s59)", () => {
    // Vowel signs are marks (\p{M}): they split "चाय" (tea) into "च" and "य", which "चिड़िया" (bird) holds too.
    assert.deepEqual(searchTerms("मुझे हरी चाय पसंद है"), ["मुझे", "हरी", "चाय", "पसंद", "है"]);
    assert.deepEqual(searchTerms("ภาษาไทย"), ["ภาษา", "ไทย"]);
    // "résumé" decomposed (as macOS writes file names) and composed are one term.
    assert.deepEqual(searchTerms("re\u0301sume\u0301"), searchTerms("r\u00e9sum\u00e9"));
  });

  it("folds full-width forms and ligatures, and makes each emoji and flag a term (stop 62's left-alone list)", () => {
    assert.deepEqual(searchTerms("ＡＰＩ ｖ２ 的 Ｋｅｙ"), ["api", "v2", "的", "key"]);
    assert.deepEqual(searchTerms("ﬁle"), ["file"]);
    assert.deepEqual(searchTerms("ｱｲ"), searchTerms("アイ"));
    // A selector or a skin tone does not split or change the pictograph; a joined family is its people; a flag is whole.
    assert.deepEqual(searchTerms("❤️ ship 🚀! 👍🏽 🇨🇳🇫🇷"), ["❤", "ship", "🚀", "👍", "🇨🇳", "🇫🇷"]);
    assert.deepEqual(searchTerms("👨‍👩‍👧"), ["👨", "👩", "👧"]);
  });

  it("indexes a word with Latin, Greek or Cyrillic accents also without them (not Indic vowel signs), and cuts Thai into words", () => {
    assert.deepEqual(searchTerms("Zoë's naïve RÉSUMÉ"), ["zoë", "s", "naïve", "résumé"]);
    assert.deepEqual(searchTerms("Zoë's naïve RÉSUMÉ, İstanbul", true), ["zoë", "zoe", "s", "naïve", "naive", "résumé", "resume", "i\u0307stanbul", "istanbul"]);
    assert.deepEqual(searchTerms("Ωμέγα ёжик", true), ["ωμέγα", "ωμεγα", "ёжик", "ежик"]);
    assert.deepEqual(searchTerms("चाय चिड़िया", true), searchTerms("चाय चिड़िया"));
    assert.deepEqual(searchTerms("चाय चिड़िया"), ["चाय", "चिड़िया"]);
    assert.deepEqual(searchTerms("ガ"), ["ガ"]);
    assert.deepEqual(searchTerms("ฉันชอบกินข้าวผัดในกรุงเทพ"), ["ฉัน", "ชอบ", "กิน", "ข้าว", "ผัด", "ใน", "กรุงเทพ"]);
  });

  it("a keyword search finds full-width text by its ASCII form and back, an emoji, accented words typed without accents and a Thai word", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "forms.db"), cache: "off", codecs: ["raw"], workers: 0 });
    try {
      await engine.remember({ id: "wide", text: "新的ＡＰＩ密钥已经轮换" });
      await engine.remember({ id: "narrow", text: "Rotated the deploy key for the billing service" });
      await engine.remember({ id: "rocket", text: "Launch day 🚀 went fine" });
      await engine.remember({ id: "plain", text: "Launch day went fine, nothing else" });
      const ids = async (query: string) => (await engine.searchMemories(query, { mode: "keyword" })).map((hit) => hit.id);
      assert.deepEqual(await ids("api"), ["wide"]);
      assert.deepEqual(await ids("ＤＥＰＬＯＹ"), ["narrow"]);
      assert.deepEqual(await ids("🚀"), ["rocket"]);
      assert.deepEqual(await ids("🚀 launch"), ["rocket", "plain"]);
      await engine.remember({ id: "cv", text: "Zoë sent her naïve résumé from İstanbul" });
      await engine.remember({ id: "thai", text: "ฉันชอบกินข้าวผัดมากที่สุดในกรุงเทพ" });
      assert.deepEqual(await ids("zoe resume istanbul"), ["cv"]);
      assert.deepEqual(await ids("Zoë résumé"), ["cv"]);
      // A word typed with its accents finds that word, not others that differ by them (Vietnamese tones); typed
      // without, it finds them all.
      await engine.rememberMany([
        { id: "mother", text: "má đi chợ" },
        { id: "ghost", text: "con ma trong nhà" },
        { id: "seedling", text: "cây mạ xanh" },
      ]);
      assert.deepEqual(await ids("má"), ["mother"]);
      assert.deepEqual((await ids("ma")).sort(), ["ghost", "mother", "seedling"]);
      assert.deepEqual(await ids("กรุงเทพ"), ["thai"]);
    } finally {
      await engine.close();
    }
  });

  it("a keyword search of Hindi finds the memory holding the word, not every memory sharing its consonants", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "marks.db"), cache: "off", codecs: ["raw"], workers: 0 });
    try {
      await engine.remember({ id: "tea", text: "मुझे हरी चाय पसंद है" });
      await engine.remember({ id: "bird", text: "यह चिड़िया आसमान में उड़ती है" });
      await engine.remember({ id: "cv", text: "My re\u0301sume\u0301 is attached." });
      assert.deepEqual((await engine.searchMemories("चाय", { mode: "keyword" })).map((hit) => hit.id), ["tea"]);
      assert.deepEqual((await engine.searchMemories("r\u00e9sum\u00e9", { mode: "keyword" })).map((hit) => hit.id), ["cv"]);
    } finally {
      await engine.close();
    }
  });

  it("scores reciprocal rank fusion as the sum of 1/(k + rank)", () => {
    const fused = reciprocalRankFusion([["a", "b", "c"], ["c", "a"]], 60);
    assert.ok(Math.abs((fused.get("a")?.score as number) - (1 / 61 + 1 / 62)) < 1e-12);
    assert.ok(Math.abs((fused.get("b")?.score as number) - 1 / 62) < 1e-12);
    assert.ok(Math.abs((fused.get("c")?.score as number) - (1 / 63 + 1 / 61)) < 1e-12);
    assert.deepEqual(fused.get("b")?.ranks, [2, undefined]);
  });
});

describe("top rows", () => {
  it("selects the same best rows, in the same order, as sorting all of them (seeded property test)", () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 300; trial++) {
      const n = Math.floor(random() * 400);
      const scores = Array.from({ length: n }, () => Math.floor(random() * 20));
      const rows = Array.from({ length: n }, (_, i) => i).sort(() => random() - 0.5);
      const compare = (a: number, b: number) => (scores[b] as number) - (scores[a] as number) || a - b;
      const count = 1 + Math.floor(random() * 30);
      assert.deepEqual(topRows(rows, count, compare), [...rows].sort(compare).slice(0, count));
    }
  });
  it("keeps, of rows with many equal scores, exactly those at or above the n-th highest, in their order (seeded property test)", () => {
    const random = seededRandom(13);
    for (let trial = 0; trial < 300; trial++) {
      const n = 2 + Math.floor(random() * 400);
      const scores = Float64Array.from({ length: n }, () => Math.floor(random() * 12) * 0.25);
      const rows = Array.from({ length: n }, (_, i) => i).sort(() => random() - 0.5);
      const count = 1 + Math.floor(random() * (n - 1));
      const nth = [...rows].map((r) => scores[r] as number).sort((a, b) => b - a)[count - 1] as number;
      const kept = atLeastNth(rows, scores, count);
      assert.deepEqual(kept, rows.filter((r) => (scores[r] as number) >= nth));
      assert.ok(kept.length >= count);
    }
  });
});

describe("search over a store", () => {
  it("keyword ranking that skips the rows which cannot rank gives exactly the full ranking (seeded, Zipf-distributed terms, ties, namespaces)", async () => {
    const random = seededRandom(43);
    // 80 terms with Zipf weights: a few held by most memories, many by tens; short texts, so equal keyword scores are common.
    const vocabulary = Array.from({ length: 80 }, (_, i) => `w${i.toString(36)}x`);
    const weights = vocabulary.map((_, i) => 1 / (i + 1));
    const sum = weights.reduce((a, b) => a + b, 0);
    const word = () => {
      let r = random() * sum;
      for (const [i, w] of weights.entries()) if ((r -= w) <= 0) return vocabulary[i] as string;
      return vocabulary[vocabulary.length - 1] as string;
    };
    using dir = tempDir();
    const db = join(dir.path, "prune.db");
    const engine = Engine.open({ db, cache: "off", codecs: ["raw"] });
    try {
      for (let i = 0; i < 1500; i++) await engine.remember({ id: `m${i}`, namespace: random() < 0.7 ? "a" : "b", text: Array.from({ length: 3 + Math.floor(random() * 8) }, word).join(" ") });
      await engine.searchMemories("warm", { limit: 1 }); // indexes every memory
    } finally {
      await engine.close();
    }
    const store = SqliteStore.open(db);
    try {
      const pruned = new SearchIndex(store.search, new HashedNgramEmbedder(256), () => Promise.reject(new Error("indexes nothing")), { vectors: "ternary" });
      const full = new SearchIndex(store.search, new HashedNgramEmbedder(256), () => Promise.reject(new Error("indexes nothing")), { vectors: "ternary" });
      (full as unknown as { pruneKeywords: boolean }).pruneKeywords = false;
      for (let q = 0; q < 150; q++) {
        const query = Array.from({ length: 1 + Math.floor(random() * 4) }, () => (random() < 0.5 ? word() : (vocabulary[Math.floor(random() * 40)] as string))).join(" ");
        for (const options of [{ limit: 10, mode: "keyword" as const }, { limit: 3, mode: "keyword" as const, namespace: "b" }, { limit: 10 }, { limit: 20, namespace: "a" }]) {
          assert.deepEqual(await pruned.search(query, options), await full.search(query, options), `"${query}" ${JSON.stringify(options)}`);
        }
      }
    } finally {
      await store.close();
    }
  });

  it("the pruning bound is never below what a row not touched yet can score, in floating point too", () => {
    // A row's score adds some of the remaining terms' idfs from 0, in order; the bound must be at least every such sum.
    // The total minus the idfs added may round below it: at N = 10^5 with terms held by 142, 2037 and 2038 memories
    // the total minus the first idf is 1.8e-15 below the sum of the other two (the bug a review found).
    const idf = (docs: number, total: number) => Math.log(1 + (total - docs + 0.5) / (docs + 0.5));
    const random = seededRandom(23);
    const cases = [[142, 2037, 2038].map((docs) => idf(docs, 100_000))];
    for (let c = 0; c < 300; c++) cases.push(Array.from({ length: 2 + Math.floor(random() * 5) }, () => idf(1 + Math.floor(random() * 50_000), 100_000)).sort((a, b) => b - a));
    for (const idfs of cases) {
      for (let t = 0; t < idfs.length; t++) {
        const bound = restFrom(idfs, t);
        const rest = idfs.slice(t);
        for (let subset = 1; subset < 1 << rest.length; subset++) {
          let score = 0;
          for (const [i, value] of rest.entries()) if (subset & (1 << i)) score += value;
          assert.ok(score <= bound, `idfs ${JSON.stringify(idfs)} from ${t}: a row can score ${score}, the bound is ${bound}`);
        }
      }
    }
    const [a, b, c] = cases[0] as [number, number, number];
    assert.ok(a + b + c - a < b + c, "the case the subtraction got wrong still shows it");
  });

  it("a write from another process between two searches is indexed and found by the second", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "settle.db");
    const engine = Engine.open({ db, cache: "off" });
    try {
      await engine.remember({ id: "a", text: "The heron stands in the reeds at dawn." });
      assert.deepEqual((await engine.searchMemories("heron reeds")).map((h) => h.id), ["a"]);
      assert.deepEqual((await engine.searchMemories("heron reeds")).map((h) => h.id), ["a"], "nothing written: same answer");
      const other = spawnBounded(process.execPath, [CLI, "add", "A heron and its chick fish in the reeds.", "--id", "b", "--db", db], { env: { ...process.env, MEMZIP_CONFIG: "/nonexistent/c.json" } });
      assert.equal(other.status, 0, other.stderr.toString());
      assert.deepEqual((await engine.searchMemories("heron chick")).map((h) => h.id)[0], "b");
      await engine.forget("b");
      assert.ok(!(await engine.searchMemories("heron chick")).some((h) => h.id === "b"));
    } finally {
      await engine.close();
    }
  });

  const notes = [
    { id: "atlas", text: "The Atlas migration to PostgreSQL is due on Friday; Alice owns the rollback plan." },
    { id: "atlas-2", text: "Reminder: the Atlas migration to PostgreSQL is due Friday and Alice owns rollback." },
    { id: "budget", text: "Quarterly budget review moved to Tuesday; finance wants the cloud invoices first." },
    { id: "zh", text: "周五下午和王伟开会讨论项目预算，需要准备上个季度的报表。" },
    { id: "cat", text: "Remember that the user's cat is called Miso and hates the vacuum cleaner." },
  ];

  it("finds by keyword and meaning, filters by namespace, lists related memories, and follows deletes and rewrites", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "search.db");
    {
      await using engine = Engine.open({ db, cache: "off" });
      await engine.rememberMany(notes);
      await engine.remember({ id: "other-ns", text: "Atlas migration notes for another agent.", namespace: "agent-b" });
      await engine.rememberMany(devCorpus().slice(0, 300).map((r) => ({ id: r.id, text: r.text })));

      const hits = await engine.searchMemories("atlas postgresql migration", { limit: 5 });
      assert.deepEqual(new Set(hits.slice(0, 2).map((h) => h.id)), new Set(["atlas", "atlas-2"]));
      assert.ok(hits[0]?.vectorRank && hits[0].keywordRank, "the best hit is found by both rankings");
      assert.ok(hits.every((h, i) => i === 0 || (hits[i - 1] as { score: number }).score >= h.score));

      assert.equal((await engine.searchMemories("项目预算", { limit: 3 }))[0]?.id, "zh");
      assert.equal((await engine.searchMemories("Miso the cat", { limit: 3, mode: "keyword" }))[0]?.id, "cat");
      const vectorOnly = await engine.searchMemories("quarterly budget review", { limit: 3, mode: "vector" });
      assert.equal(vectorOnly[0]?.id, "budget");
      assert.ok(vectorOnly.every((h) => h.keywordRank === undefined));

      const scoped = await engine.searchMemories("atlas migration", { namespace: "agent-b" });
      assert.deepEqual(scoped.map((h) => h.id), ["other-ns"]);

      const related = await engine.relatedMemories("atlas", { limit: 3 });
      assert.equal(related[0]?.id, "atlas-2");
      assert.ok(!related.some((h) => h.id === "atlas"), "a memory is not related to itself");
      await assert.rejects(engine.relatedMemories("nope"), { code: "E_NOT_FOUND" });
      await assert.rejects(engine.searchMemories("   "), { code: "E_USAGE" });

      await engine.forget("atlas-2");
      assert.ok(!(await engine.searchMemories("atlas postgresql")).some((h) => h.id === "atlas-2"));
      await engine.remember({ id: "cat", text: "The user's dog is called Pixel and loves the beach." });
      assert.equal(await (await engine.searchIndex()).pending(), 1, "a rewritten memory is indexed again");
      assert.equal((await engine.searchMemories("Pixel beach dog", { limit: 1, mode: "keyword" }))[0]?.id, "cat");
      assert.ok(!(await engine.searchMemories("Miso", { mode: "keyword" })).some((h) => h.id === "cat"));
      assert.equal(await (await engine.searchIndex()).vectorBytes(), (await engine.stats()).memories * 64, "one ternary vector (2 bits × 256) a memory");
    }
    await using reopened = Engine.open({ db, cache: "off" });
    const index = await reopened.searchIndex();
    assert.equal(await index.pending(), 0, "the index lives in the store file");
    assert.equal(await index.refresh(), 0);
    assert.equal((await reopened.searchMemories("quarterly budget", { limit: 1 }))[0]?.id, "budget");
  });

  it("counts a term's memories without the deleted ones: a common term becomes selective once most of its memories are gone", async () => {
    await using dir = tempDir();
    // 600 memories hold "glacier": over the 500 a term may hold and still count when it is not among the query's two rarest.
    await using engine = Engine.open({ db: join(dir.path, "common.db"), cache: "off", workers: 0 });
    await engine.rememberMany([
      ...Array.from({ length: 600 }, (_, i) => ({ id: `g${i}`, text: `glacier survey note number ${i}` })),
      { id: "alpha", text: "the alpha borehole log" },
      { id: "beta", text: "the beta borehole log" },
    ]);
    const ids = async () => (await engine.searchMemories("alpha beta glacier", { mode: "keyword", limit: 1000 })).map((h) => h.id);
    // Common: left out of the ranking.
    assert.deepEqual((await ids()).sort(), ["alpha", "beta"]);
    // 200 of them deleted (too few to compact the index: their rows stay, dead, in the term's list held in memory).
    for (let i = 0; i < 200; i++) await engine.forget(`g${i}`);
    const after = await ids();
    assert.equal(after.length, 2 + 400, "400 left: the term counts, and only live memories are found");
    assert.ok(after.every((id) => !id.startsWith("g") || Number(id.slice(1)) >= 200), "no deleted memory is found");
  });

  it("embeds with a GGUF model when searchEmbedder names one, and re-indexes under the new embedder", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "llama.db");
    {
      await using engine = Engine.open({ db, cache: "off" });
      await engine.rememberMany(notes);
      assert.equal(await (await engine.searchIndex()).refresh(), notes.length);
    }
    await using engine = Engine.open({ db, cache: "off", searchEmbedder: join(SHARED, "models", "stories260K.gguf"), llm: { gpu: false, threads: 1 } });
    const index = await engine.searchIndex();
    assert.match(index.embedderName, /^llama:/);
    assert.equal(await index.pending(), notes.length, "vectors of another embedder do not count");
    const hits = await engine.searchMemories("Atlas migration PostgreSQL", { limit: 3 });
    assert.equal(hits.length, 3);
    assert.ok(hits.some((h) => h.id === "atlas" || h.id === "atlas-2"));
    assert.equal(await index.pending(), 0);
    for (const hit of hits) assert.ok(hit.similarity <= 1 + 1e-3 && hit.similarity >= -1 - 1e-3, "stored vectors are unit length");
    assert.throws(() => Engine.open({ db: ":memory:", searchEmbedder: 7 as unknown as string }), /searchEmbedder must be/);
  });

  it("memzip search and related print JSON hits with previews, and name a missing id", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "cli.db");
    const run = (args: string[]) => spawnBounded(process.execPath, [CLI, ...args, "--db", db], { env: { ...process.env, MEMZIP_CONFIG: "/nonexistent.json" } });
    for (const note of notes) assert.equal(run(["add", note.text, "--id", note.id]).status, 0);
    const searched = run(["search", "Atlas", "migration", "--limit", "2", "--json"]);
    assert.equal(searched.status, 0, searched.stderr.toString());
    const result = JSON.parse(searched.stdout.toString()) as { query: string; embedder: string; indexed: number; hits: { id: string; preview: string }[] };
    assert.equal(result.query, "Atlas migration");
    assert.equal(result.embedder, "ngram-256");
    assert.equal(result.indexed, notes.length);
    assert.equal(result.hits.length, 2);
    assert.ok(result.hits[0]?.preview.startsWith(notes.find((n) => n.id === result.hits[0]?.id)?.text.slice(0, 40) as string));

    const related = JSON.parse(run(["related", "atlas", "--json"]).stdout.toString()) as { indexed: number; hits: { id: string }[] };
    assert.equal(related.indexed, 0, "the index was built by the search before");
    assert.equal(related.hits[0]?.id, "atlas-2");
    assert.equal(run(["related", "missing"]).status, 4);
    assert.equal(run(["search", "x", "--mode", "fuzzy"]).status, 2);
  });
});
