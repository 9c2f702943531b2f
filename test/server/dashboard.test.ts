import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { Engine } from "../../src/engine.js";
import { createServer, type MemzipServer } from "../../src/server/app.js";
import { devCorpus, ROOT } from "../helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts");
// Without chromium the test skips on a workstation and fails under CI (.ci/run installs it).
const missing = !existsSync(CHROMIUM) ? `${CHROMIUM} is missing: install Debian's \`chromium\` package` : undefined;
const skip = missing !== undefined && !process.env.CI ? missing : false;
// Bounds for events that come in well under a second on a quiet machine: generous, so a loaded CI machine cannot fail them.
const WAIT = { timeout: 60_000 };

/** A memory that would run code if the page ever rendered data as HTML. */
const HOSTILE = `zebrafish <script>alert("xss")</script><img src=x onerror="window.__pwned = 1"> & "quotes" 'too'`;

describe("dashboard in headless Chromium", { skip }, () => {
  let dir: string;
  let engine: Engine;
  let server: MemzipServer | undefined;
  let browser: Browser | undefined;
  let url: string;
  let key: string;

  before(async () => {
    if (missing) assert.fail(`${missing} (CI never skips this test)`);
    dir = mkdtempSync(join(tmpdir(), "memzip-dashboard-"));
    engine = Engine.open({ db: join(dir, "store.db") });
    key = (await engine.keys.create({ role: "read", namespaces: ["alpha"] })).key;
    server = await createServer({ engine, logLevel: "silent" });
    url = await server.listen("127.0.0.1", 0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });

  after(async () => {
    await browser?.close();
    if (server) await server.close();
    else await engine?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function openWithKey(page: Page, value: string): Promise<string> {
    await page.fill("#key", value);
    await page.click("#key-use");
    await page.waitForSelector("body[data-loaded]", WAIT);
    return (await page.getAttribute("body", "data-loaded")) ?? "";
  }

  const pick = (s: { memories: number; originalBytes: number; storedBytes: number }) => ({ memories: s.memories, originalBytes: s.originalBytes, storedBytes: s.storedBytes });
  const figure = async (page: Page, id: string) => Number(await page.getAttribute(`#${id}`, "data-value"));

  it("serves a shell without data, then shows sizes, codec mix and search inside the key's namespace", async () => {
    const shell = await fetch(`${url}/`);
    assert.equal(shell.status, 200);
    assert.match(shell.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.equal((await fetch(`${url}/v1/dashboard`)).status, 401, "the data needs a key");

    const page = await (browser as Browser).newPage();
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${url}/`);

    // Empty store: the page says so and how to add memories.
    assert.equal(await openWithKey(page, key), "true");
    assert.equal(await page.isVisible("#empty"), true);
    assert.match((await page.textContent("#status")) ?? "", /no memories/i);
    assert.match((await page.textContent("#empty")) ?? "", /memzip import/);
    assert.equal(await figure(page, "total-memories"), 0);

    // Memories in the key's namespace, and a hostile one; another namespace holds the same word.
    const texts = devCorpus().slice(0, 40).map((record) => record.text);
    await engine.rememberMany([...texts.map((text, i) => ({ id: `m${i}`, text })), { id: "hostile", text: HOSTILE }], { namespace: "alpha" });
    await engine.remember({ id: "other", text: "zebrafish in another namespace" }, { namespace: "beta" });
    // An import job of the key's namespace (5 records) and one of another namespace.
    const jsonl = join(dir, "import.jsonl");
    writeFileSync(jsonl, devCorpus().slice(100, 105).map((record, i) => JSON.stringify({ id: `imported${i}`, text: record.text })).join("\n") + "\n");
    const imported = await engine.importJsonl(jsonl, { namespace: "alpha" });
    await engine.importJsonl(jsonl, { namespace: "beta" });

    await page.evaluate("document.body.removeAttribute('data-loaded')");
    await page.reload();
    await page.waitForSelector("body[data-loaded='true']", WAIT);
    assert.equal(await page.isVisible("#empty"), false);
    // The same numbers as GET /v1/stats (and engine.stats) for the key's one namespace.
    const answer = await fetch(`${url}/v1/stats`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(answer.status, 200);
    const [stats] = ((await answer.json()) as { namespaces: { namespace: string; memories: number; originalBytes: number; storedBytes: number; byCodec: Record<string, { memories: number; storedBytes: number }> }[] }).namespaces;
    assert.ok(stats && stats.namespace === "alpha");
    assert.deepEqual(pick(stats), pick(await engine.stats("alpha")));
    assert.equal(await figure(page, "total-memories"), stats.memories);
    assert.equal(await figure(page, "total-text"), stats.originalBytes);
    assert.equal(await figure(page, "total-stored"), stats.storedBytes);
    const codecs = await page.$$eval("#codec-table tbody tr", (rows) =>
      rows.map((row) => ({ codec: row.getAttribute("data-codec"), memories: Number(row.getAttribute("data-memories")), envelopeBytes: Number(row.getAttribute("data-envelope-bytes")) })),
    );
    assert.deepEqual(
      codecs.sort((a, b) => String(a.codec).localeCompare(String(b.codec))),
      Object.entries(stats.byCodec)
        .map(([codec, usage]) => ({ codec, memories: usage.memories, envelopeBytes: usage.storedBytes }))
        .sort((a, b) => a.codec.localeCompare(b.codec)),
    );
    assert.deepEqual(await page.$$eval("#namespaces-table tbody tr", (rows) => rows.map((row) => row.getAttribute("data-namespace"))), ["alpha"]);
    assert.equal(await page.getAttribute("#disk", "data-value"), null, "the whole store's file size is for a * key only");
    // The cache and semantic counters are the whole process's (every tenant's reads and writes): for a * key only.
    assert.equal(await page.getAttribute("#cache-counts", "data-value"), null);
    assert.match((await page.textContent("#cache-note")) ?? "", /for every namespace \(\*\) only/);
    assert.match((await page.textContent("#semantic-text")) ?? "", /for every namespace \(\*\) only/);
    const jobs = await page.$$eval("#imports-table tbody tr", (rows) => rows.map((row) => Array.from(row.querySelectorAll("td") as ArrayLike<{ textContent: string | null }>, (cell) => cell.textContent)));
    assert.equal(jobs.length, 1, `only the key's namespace's import: ${JSON.stringify(jobs)}`);
    assert.deepEqual(jobs[0]?.slice(1, 4), ["alpha", "done", "5"]);
    assert.ok(imported.jobId);

    // Search: the hostile memory is a hit, rendered as text; beta's memory never shows.
    await page.fill("#search-query", "zebrafish");
    await page.click("#search-form button");
    await page.waitForSelector("#search-results[data-done='true']", WAIT);
    const hits = await page.$$eval("#search-results li", (items) => items.map((li) => ({ id: li.getAttribute("data-id"), meta: li.querySelector(".meta")?.textContent, preview: li.querySelector(".preview")?.textContent })));
    const hostile = hits.find((hit) => hit.id === "hostile");
    assert.ok(hostile, `hits: ${JSON.stringify(hits)}`);
    assert.equal(hostile.preview, HOSTILE);
    assert.match(hostile.meta ?? "", /^alpha \/ hostile/);
    assert.equal(hits.some((hit) => hit.meta?.startsWith("beta")), false, "another namespace's memory showed");
    assert.equal(await page.locator("#search-results script, #search-results img").count(), 0);
    assert.equal(await page.evaluate("typeof window.__pwned"), "undefined");
    assert.deepEqual(dialogs, []);
    assert.deepEqual(pageErrors, []);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });

    // A wrong key: an error, and no figures.
    await page.click("#key-forget");
    await page.evaluate("document.body.removeAttribute('data-loaded')");
    assert.equal(await openWithKey(page, "mzk_not-a-real-key"), "error");
    assert.match((await page.textContent("#status")) ?? "", /401 E_UNAUTHORIZED/);
    assert.equal(await page.isVisible("#panels"), false);
    await page.close();
  });

  it("answers the dashboard data only for the key's namespaces", async () => {
    const headers = { authorization: `Bearer ${key}` };
    const outside = await fetch(`${url}/v1/dashboard?namespace=beta`, { headers });
    assert.equal(outside.status, 404);
    // A read of beta's memory moves no figure alpha's key sees (the process-wide cache counted it, and its size).
    const seen = async () => (await (await fetch(`${url}/v1/dashboard`, { headers })).json()) as { namespaces: string[]; totals: { memories: number }; daily: { scanned: number }; processWide: boolean; cache: unknown };
    const data = await seen();
    await engine.recall("other", { namespace: "beta" });
    assert.deepEqual(await seen(), data);
    assert.deepEqual([data.processWide, data.cache], [false, null]);
    assert.deepEqual(data.namespaces, ["alpha"]);
    assert.equal(data.totals.memories, 46);
    assert.equal(data.daily.scanned, 46);

    const star = (await engine.keys.create({ role: "read", namespaces: ["*"] })).key;
    const whole = (await (await fetch(`${url}/v1/dashboard`, { headers: { authorization: `Bearer ${star}` } })).json()) as {
      namespaces: string[];
      totalsOf: string;
      totals: { memories: number; storedBytes: number };
      disk: { fileBytes: number } | null;
      processWide: boolean;
      cache: { hits: number; misses: number } | null;
    };
    const stats = await engine.stats();
    assert.equal(whole.processWide, true);
    assert.deepEqual(whole.cache && [whole.cache.hits, whole.cache.misses], [engine.cacheStats().hits, engine.cacheStats().misses]);
    assert.deepEqual(whole.namespaces, ["alpha", "beta"]);
    assert.equal(whole.totalsOf, "store");
    assert.equal(whole.totals.memories, 52);
    assert.equal(whole.totals.storedBytes, stats.storedBytes);
    assert.equal(whole.disk?.fileBytes, stats.fileBytes);
  });
});
