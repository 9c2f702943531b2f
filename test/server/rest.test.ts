import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Engine } from "../../src/engine.js";
import { createServer, type MemzipServer } from "../../src/server/app.js";
import { tempDir } from "../helpers.js";

/**
 * The REST API over real TCP on loopback (fetch against a server on port 0) and a real SQLite file:
 * two keys for two namespaces, byte-exact round trips, the tenancy rule on every route, the
 * boundary checks (401, 403, 400, 413, 429), pagination, CORS and the OpenAPI document.
 */

interface Written {
  id: string;
  text: string;
}

const LIMITS = { textBytes: 200_000, bodyBytes: 2 << 20, batchItems: 60, pageItems: 500, ratePerSecond: 0, rateBurst: 1 };

function textFor(i: number): string {
  switch (i % 3) {
    case 0:
      return `Alpha note ${i}: the zebrafish project meeting moved to Thursday; bring the quarterly turbine report.`;
    case 1:
      return `阿尔法 ${i}：斑马鱼项目的会议改到星期四，请带上涡轮季度报告。`;
    default:
      return `alpha ${i} 🦓🐟 zebrafish party 🎉 at the lab — don't forget the 🎂 (emoji ✨ check ${"🙂".repeat(i % 7)})`;
  }
}

describe("REST API", () => {
  const dir = tempDir();
  let engine: Engine;
  let server: MemzipServer;
  let url = "";
  const keys: Record<"a" | "b" | "readA" | "adminA" | "multi", string> = { a: "", b: "", readA: "", adminA: "", multi: "" };
  const written: Written[] = [];
  const big = `${"The long one. ".repeat(7_000)}终`;

  const call = async (key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const raw = await response.text();
    return { status: response.status, headers: response.headers, json: raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined, raw };
  };

  before(async () => {
    engine = Engine.open({ db: join(dir.path, "store.db") });
    keys.a = (await engine.keys.create({ role: "write", namespaces: ["alpha"] })).key;
    keys.b = (await engine.keys.create({ role: "write", namespaces: ["beta"] })).key;
    keys.readA = (await engine.keys.create({ role: "read", namespaces: ["alpha"] })).key;
    keys.adminA = (await engine.keys.create({ role: "admin", namespaces: ["alpha"] })).key;
    keys.multi = (await engine.keys.create({ role: "write", namespaces: ["alpha", "beta"] })).key;
    server = await createServer({ engine, limits: LIMITS, logLevel: "silent" });
    url = await server.listen("127.0.0.1", 0);
  });
  after(async () => {
    await server?.close();
    dir[Symbol.dispose]();
  });

  it("stores 200 memories with key A (single and batch; English, Chinese, emoji, 100 KB) and reads them back byte for byte", async () => {
    const texts = Array.from({ length: 199 }, (_, i) => textFor(i));
    texts.push(big);
    assert.ok(Buffer.byteLength(big) > 98_000);
    // 50 one by one, 150 in three batches of 50; half with ids of their own.
    for (let i = 0; i < 50; i++) {
      const body = i % 2 === 0 ? { text: texts[i], id: `a-${i}`, tags: ["single"] } : { text: texts[i], kind: "chat", tags: ["single"] };
      const answer = await call(keys.a, "POST", "/v1/memories", body);
      assert.equal(answer.status, 201, answer.raw);
      assert.equal(answer.json?.namespace, "alpha");
      assert.equal(answer.json?.status, "stored");
      assert.equal(answer.json?.originalBytes, Buffer.byteLength(texts[i] as string));
      written.push({ id: answer.json?.id as string, text: texts[i] as string });
    }
    for (let start = 50; start < 200; start += 50) {
      const items = texts.slice(start, start + 50).map((text, j) => ((start + j) % 2 === 0 ? { text, id: `a-${start + j}`, meta: { n: start + j } } : { text, tags: ["batch"] }));
      const answer = await call(keys.a, "POST", "/v1/memories:batch", { items });
      assert.equal(answer.status, 201, answer.raw);
      const results = answer.json?.items as { id: string; namespace: string; status: string }[];
      assert.equal(results.length, items.length);
      results.forEach((result, j) => {
        assert.equal(result.namespace, "alpha");
        if (items[j]?.id) assert.equal(result.id, items[j]?.id, "results come in the order of the items");
        written.push({ id: result.id, text: texts[start + j] as string });
      });
    }
    assert.equal(new Set(written.map((w) => w.id)).size, 200);
    for (const { id, text } of written) {
      const answer = await call(keys.a, "GET", `/v1/memories/${encodeURIComponent(id)}`);
      assert.equal(answer.status, 200, answer.raw);
      assert.equal(answer.json?.text, text);
      assert.deepEqual(Buffer.from(answer.json?.text as string, "utf8"), Buffer.from(text, "utf8"));
      assert.equal(answer.json?.mode, "exact");
      assert.equal(answer.json?.namespace, "alpha");
    }
    // The key B writes its own few memories, on similar words.
    const answer = await call(keys.b, "POST", "/v1/memories:batch", { items: [{ text: "Beta: the zebrafish tank needs cleaning on Thursday." }, { text: "贝塔：斑马鱼缸星期四要清洗。" }, { text: "beta 🦓 party" }] });
    assert.equal(answer.status, 201, answer.raw);
  });

  it("answers key B 404 for each of A's ids on GET, PATCH, DELETE and related, exactly as for a missing id", async () => {
    const missing = await call(keys.b, "GET", "/v1/memories/no-such-id");
    assert.equal(missing.status, 404);
    for (const { id } of written) {
      const path = `/v1/memories/${encodeURIComponent(id)}`;
      for (const [method, suffix, body] of [
        ["GET", "", undefined],
        ["GET", "?namespace=alpha", undefined],
        ["PATCH", "", { tags: ["stolen"] }],
        ["DELETE", "", undefined],
        ["DELETE", "?namespace=alpha", undefined],
        ["GET", "/related", undefined],
        ["GET", "/history", undefined],
        ["GET", "/history?namespace=alpha", undefined],
      ] as const) {
        const answer = await call(keys.b, method, `${path}${suffix}`, body);
        assert.equal(answer.status, 404, `${method} ${path}${suffix}: ${answer.raw}`);
        const error = answer.json?.error as { code: string; message: string; hint: string };
        assert.equal(error.code, "E_NOT_FOUND");
        assert.equal(error.message, `no memory with id ${JSON.stringify(id)}`);
        assert.equal(error.hint, (missing.json?.error as { hint: string }).hint);
      }
    }
    // Nothing was changed or deleted by those attempts.
    for (const { id, text } of written.slice(0, 20)) {
      const answer = await call(keys.a, "GET", `/v1/memories/${encodeURIComponent(id)}`);
      assert.equal(answer.json?.text, text);
      assert.ok(!(answer.json?.tags as string[]).includes("stolen"));
    }
  });

  it("key B finds none of A's memories by search, related, list or stats", async () => {
    const ids = new Set(written.map((w) => w.id));
    for (const query of ["zebrafish", "Thursday turbine report", "斑马鱼 会议", "🦓 party", "Alpha note"]) {
      for (const body of [{ query }, { query, limit: 100 }, { query, mode: "keyword" }, { query, namespace: "alpha" }]) {
        const answer = await call(keys.b, "POST", "/v1/search", body);
        assert.equal(answer.status, 200, answer.raw);
        const hits = answer.json?.hits as { id: string; namespace: string }[];
        for (const hit of hits) {
          assert.equal(hit.namespace, "beta");
          assert.ok(!ids.has(hit.id) || hit.namespace === "beta");
        }
        if (body.namespace === "alpha") assert.deepEqual(hits, []);
      }
      // The same words do find A's memories with key A: the search is not simply empty.
      const own = await call(keys.a, "POST", "/v1/search", { query, limit: 5 });
      assert.ok((own.json?.hits as unknown[]).length > 0, `key A finds ${query}`);
    }
    const betaList = await call(keys.b, "GET", "/v1/memories?limit=500");
    const betaItems = betaList.json?.items as { id: string; namespace: string }[];
    assert.equal(betaItems.length, 3);
    for (const { id } of betaItems) {
      const related = await call(keys.b, "GET", `/v1/memories/${encodeURIComponent(id)}/related?limit=50`);
      assert.equal(related.status, 200, related.raw);
      for (const hit of related.json?.hits as { namespace: string }[]) assert.equal(hit.namespace, "beta");
    }
    assert.ok(betaItems.every((item) => item.namespace === "beta"));
    const explicit = await call(keys.b, "GET", "/v1/memories?namespace=alpha");
    assert.equal(explicit.status, 200);
    assert.deepEqual(explicit.json, { items: [], next: null });

    const stats = await call(keys.b, "GET", "/v1/stats");
    assert.equal(stats.status, 200, stats.raw);
    assert.equal((stats.json?.totals as { memories: number }).memories, 3);
    assert.deepEqual(
      (stats.json?.namespaces as { namespace: string }[]).map((n) => n.namespace),
      ["beta"],
    );
    const foreign = await call(keys.b, "GET", "/v1/stats?namespace=alpha");
    assert.equal(foreign.status, 404);
    const nowhere = await call(keys.b, "GET", "/v1/stats?namespace=gamma");
    assert.deepEqual(foreign.json?.error && { ...(foreign.json.error as object), message: "" }, nowhere.json?.error && { ...(nowhere.json.error as object), message: "" });

    const statsA = await call(keys.a, "GET", "/v1/stats");
    assert.equal((statsA.json?.totals as { memories: number }).memories, 200);
    // A key with both namespaces gets each and the sums.
    const statsMulti = await call(keys.multi, "GET", "/v1/stats");
    assert.deepEqual((statsMulti.json?.namespaces as { namespace: string; memories: number }[]).map((n) => [n.namespace, n.memories]), [["alpha", 200], ["beta", 3]]);
    assert.equal((statsMulti.json?.totals as { memories: number }).memories, 203);
  });

  it("key B writing A's exact text learns nothing: stored with its own bytes, no deduplicated; within a namespace a second copy still dedupes", async () => {
    const text = "The user prefers green tea, no sugar. 用户喜欢绿茶。 The user prefers green tea, no sugar.";
    const first = await call(keys.a, "POST", "/v1/memories", { id: "tea", text });
    assert.equal(first.status, 201, first.raw);
    const again = await call(keys.a, "POST", "/v1/memories", { id: "tea-again", text });
    assert.equal(again.status, 201, again.raw);
    assert.deepEqual([again.json?.deduplicated, again.json?.storedBytes], [true, 0], "a second copy in A is a reference");
    const theirs = await call(keys.b, "POST", "/v1/memories", { id: "tea", text });
    assert.equal(theirs.status, 201, theirs.raw);
    assert.equal(theirs.json?.namespace, "beta");
    assert.equal(theirs.json?.status, "stored");
    assert.equal(theirs.json?.deduplicated, undefined, theirs.raw);
    assert.ok((theirs.json?.storedBytes as number) > 0, theirs.raw);
    // Its answer has the fields of a text no namespace holds; in a batch, A's write of B's text is not deduplicated either.
    const novel = await call(keys.b, "POST", "/v1/memories", { id: "coffee", text: text.replaceAll("green tea", "black coffee") });
    assert.deepEqual(Object.keys(theirs.json ?? {}).sort(), Object.keys(novel.json ?? {}).sort());
    const batch = await call(keys.b, "POST", "/v1/memories:batch", { items: [{ id: "tea-batch", text: `${text} (batch)` }, { id: "tea-batch-a", text }] });
    assert.equal(batch.status, 201, batch.raw);
    const items = batch.json?.items as { storedBytes: number; deduplicated?: boolean }[];
    assert.equal(items[1]?.deduplicated, true, "in B's namespace the text is B's own copy now: a second one dedupes to it");
    await call(keys.a, "POST", "/v1/memories:batch", { items: [{ id: "tea-batch-b", text: `${text} (batch)` }] }).then((answer) => {
      const [item] = answer.json?.items as { storedBytes: number; deduplicated?: boolean }[];
      assert.deepEqual([answer.status, item?.deduplicated, (item?.storedBytes ?? 0) > 0], [201, undefined, true], answer.raw);
    });
    const read = await call(keys.b, "GET", "/v1/memories/tea");
    assert.equal(read.status, 200, read.raw);
    assert.equal(read.json?.text, text);
    assert.ok((read.json?.storedBytes as number) > 0, read.raw);
    for (const [key, id] of [[keys.a, "tea"], [keys.a, "tea-again"], [keys.b, "tea"], [keys.b, "coffee"], [keys.b, "tea-batch"], [keys.b, "tea-batch-a"], [keys.a, "tea-batch-b"]] as const) await call(key, "DELETE", `/v1/memories/${id}`);
  });

  it("writes to a namespace outside the key's scope answer 404, and a key with several namespaces must name one", async () => {
    const outside = await call(keys.b, "POST", "/v1/memories", { text: "sneaky", namespace: "alpha" });
    assert.equal(outside.status, 404);
    assert.equal((outside.json?.error as { code: string }).code, "E_NOT_FOUND");
    const nowhere = await call(keys.b, "POST", "/v1/memories", { text: "sneaky", namespace: "gamma" });
    assert.equal(nowhere.status, 404);
    const batch = await call(keys.b, "POST", "/v1/memories:batch", { items: [{ text: "fine" }, { text: "sneaky", namespace: "alpha" }] });
    assert.equal(batch.status, 404);
    const unnamed = await call(keys.multi, "POST", "/v1/memories", { text: "where to?" });
    assert.equal(unnamed.status, 400);
    assert.match((unnamed.json?.error as { message: string }).message, /"alpha", "beta"/);
    const stats = await call(keys.b, "GET", "/v1/stats");
    assert.equal((stats.json?.totals as { memories: number }).memories, 3, "nothing of the refused writes was stored (all or none)");
    // The multi key reads by id in both of its namespaces, and only where the memory is.
    const alphaId = written[5]?.id as string;
    const viaMulti = await call(keys.multi, "GET", `/v1/memories/${encodeURIComponent(alphaId)}`);
    assert.equal(viaMulti.status, 200, viaMulti.raw);
    assert.equal(viaMulti.json?.text, written[5]?.text);
    assert.equal((await call(keys.multi, "GET", `/v1/memories/${encodeURIComponent(alphaId)}?namespace=beta`)).status, 404);
    assert.equal((await call(keys.multi, "GET", "/v1/memories/no-such-id")).status, 404);
    // The multi key searches both of its namespaces.
    const hits = (await call(keys.multi, "POST", "/v1/search", { query: "zebrafish", limit: 50 })).json?.hits as { namespace: string }[];
    assert.deepEqual([...new Set(hits.map((h) => h.namespace))].sort(), ["alpha", "beta"]);
  });

  it("refuses missing keys (401), read keys that write (403), bad input (400 naming the field) and oversize (413)", async () => {
    assert.equal((await call(undefined, "GET", "/v1/memories")).status, 401);
    assert.equal((await call("mzk_not-a-real-key", "GET", "/v1/memories")).status, 401);
    assert.equal((await call(undefined, "POST", "/v1/search", { query: "x" })).status, 401);
    const readWrites = await call(keys.readA, "POST", "/v1/memories", { text: "nope" });
    assert.equal(readWrites.status, 403);
    assert.equal((readWrites.json?.error as { code: string }).code, "E_FORBIDDEN");
    assert.equal((await call(keys.readA, "DELETE", `/v1/memories/${encodeURIComponent(written[0]?.id as string)}`)).status, 403);
    assert.equal((await call(keys.readA, "GET", `/v1/memories/${encodeURIComponent(written[0]?.id as string)}`)).status, 200);
    assert.equal((await call(keys.a, "POST", "/v1/verify", {})).status, 403, "verify needs admin");

    // A body that is not UTF-8 is refused, not stored with U+FFFD in place of the bad bytes (trial29).
    for (const bytes of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xe4, 0xb8]]) {
      const body = Buffer.concat([Buffer.from('{"id":"bad-utf8","text":"bad '), Buffer.from(bytes), Buffer.from(' utf8"}')]);
      const response = await fetch(`${url}/v1/memories`, { method: "POST", headers: { authorization: `Bearer ${keys.a}`, "content-type": "application/json" }, body });
      const answer = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(response.status, 400, JSON.stringify(answer));
      assert.equal(answer.error.code, "E_INVALID_INPUT");
      assert.match(answer.error.message, /UTF-8/);
    }
    assert.equal((await call(keys.a, "GET", "/v1/memories/bad-utf8")).status, 404, "nothing stored");
    // JSON sent as text/plain is a wrong media type (415, naming the header to send), not a malformed body (trial29).
    const plain = await fetch(`${url}/v1/memories`, { method: "POST", headers: { authorization: `Bearer ${keys.a}`, "content-type": "text/plain" }, body: '{"id":"plain","text":"sent as text/plain"}' });
    const plainAnswer = (await plain.json()) as { error: { code: string; hint: string } };
    assert.equal(plain.status, 415, JSON.stringify(plainAnswer));
    assert.equal(plainAnswer.error.code, "E_MEDIA_TYPE");
    assert.match(plainAnswer.error.hint, /application\/json/);
    assert.equal((await call(keys.a, "GET", "/v1/memories/plain")).status, 404, "nothing stored");
    // So is an upload's type on a JSON route (it answered 400 naming Node's request internals: "_readableState", "socket").
    for (const type of ["application/octet-stream", "application/x-ndjson"]) {
      const raw = await fetch(`${url}/v1/memories`, { method: "POST", headers: { authorization: `Bearer ${keys.a}`, "content-type": type }, body: '{"id":"raw","text":"sent as an upload"}' });
      const rawAnswer = (await raw.json()) as { error: { code: string; message: string; hint: string } };
      assert.deepEqual([raw.status, rawAnswer.error.code], [415, "E_MEDIA_TYPE"], JSON.stringify(rawAnswer));
      assert.doesNotMatch(rawAnswer.error.message, /_readableState|socket/);
      assert.match(rawAnswer.error.hint, /application\/json/);
    }
    assert.equal((await call(keys.a, "GET", "/v1/memories/raw")).status, 404, "nothing stored");
    // A DELETE with a JSON Content-Type and no body (many clients send the header on every request) deletes.
    assert.equal((await call(keys.a, "POST", "/v1/memories", { id: "gone", text: "to be deleted" })).status, 201);
    const deleted = await fetch(`${url}/v1/memories/gone`, { method: "DELETE", headers: { authorization: `Bearer ${keys.a}`, "content-type": "application/json" } });
    assert.equal(deleted.status, 204, await deleted.text());
    assert.equal((await call(keys.a, "GET", "/v1/memories/gone")).status, 404);
    // An empty JSON body where one is needed: 400 naming it, not stored.
    const empty = await fetch(`${url}/v1/memories`, { method: "POST", headers: { authorization: `Bearer ${keys.a}`, "content-type": "application/json" }, body: "" });
    assert.equal(empty.status, 400);
    const badJson = await call(keys.a, "POST", "/v1/memories", "{not json");
    assert.equal(badJson.status, 400);
    assert.match((badJson.json?.error as { hint: string }).hint, /JSON/);
    const wrongType = await call(keys.a, "POST", "/v1/memories", { text: 42 });
    assert.equal(wrongType.status, 400);
    assert.match((wrongType.json?.error as { message: string }).message, /text/);
    const badKind = await call(keys.a, "POST", "/v1/memories", { text: "x", kind: "poem" });
    assert.match((badKind.json?.error as { message: string }).message, /kind/);
    const unknownField = await call(keys.a, "POST", "/v1/memories", { text: "x", colour: "red" });
    assert.equal(unknownField.status, 400);
    assert.match((unknownField.json?.error as { message: string }).message, /colour/);
    const badLimit = await call(keys.a, "GET", "/v1/memories?limit=100000");
    assert.equal(badLimit.status, 400);
    assert.match((badLimit.json?.error as { message: string }).message, /limit/);
    // A count is decimal digits: not hex, an exponent, blanks or nothing (each was read as a number before).
    for (const limit of ["0x10", "1e1", "%2016", "16.0", ""]) {
      for (const path of ["/v1/memories", "/v1/memories/nope/related"]) {
        const loose = await call(keys.a, "GET", `${path}?limit=${limit}`);
        assert.equal(loose.status, 400, `${path} limit=${limit}`);
      }
    }
    assert.equal((await call(keys.a, "GET", "/v1/memories?limit=16")).status, 200);
    const badItem = await call(keys.a, "POST", "/v1/memories:batch", { items: [{ text: "ok" }, { tags: "x" }] });
    assert.equal(badItem.status, 400);
    assert.match((badItem.json?.error as { message: string }).message, /items\.1/);

    const tooLong = await call(keys.a, "POST", "/v1/memories", { text: "x".repeat(LIMITS.textBytes + 1) });
    assert.equal(tooLong.status, 413);
    assert.equal((tooLong.json?.error as { code: string }).code, "E_TOO_LARGE");
    const tooBig = await call(keys.a, "POST", "/v1/memories:batch", { items: Array.from({ length: 20 }, (_, i) => ({ text: `${i}`.padEnd(150_000, "y") })) });
    assert.equal(tooBig.status, 413);
    assert.equal((tooBig.json?.error as { code: string }).code, "E_TOO_LARGE");
    assert.match((tooBig.json?.error as { hint: string }).hint, /--max-body/);
    const tooMany = await call(keys.a, "POST", "/v1/memories:batch", { items: Array.from({ length: LIMITS.batchItems + 1 }, (_, i) => ({ text: `item ${i}` })) });
    assert.equal(tooMany.status, 413);
    const patchTooLong = await call(keys.a, "PATCH", `/v1/memories/a-0`, { text: "z".repeat(LIMITS.textBytes + 1) });
    assert.equal(patchTooLong.status, 413);
    const total = (await call(keys.a, "GET", "/v1/stats")).json?.totals as { memories: number };
    assert.equal(total.memories, 200, "no refused write stored anything");
  });

  it("walks every memory once with cursor pagination, with and without filters", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const answer = await call(keys.a, "GET", `/v1/memories?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      assert.equal(answer.status, 200, answer.raw);
      const items = answer.json?.items as { id: string; text?: string }[];
      assert.ok(items.length <= 7);
      for (const item of items) {
        assert.equal(item.text, undefined, "lists carry no text");
        seen.push(item.id);
      }
      cursor = answer.json?.next as string | null;
      pages++;
    } while (cursor !== null && pages < 100);
    assert.equal(seen.length, 200);
    assert.deepEqual(new Set(seen), new Set(written.map((w) => w.id)));

    const singles = (await call(keys.a, "GET", "/v1/memories?tag=single&limit=500")).json?.items as { tags: string[] }[];
    assert.equal(singles.length, 50);
    const chats = (await call(keys.a, "GET", "/v1/memories?tag=single&kind=chat&limit=500")).json?.items as { kind: string }[];
    assert.equal(chats.length, 25);
    assert.ok(chats.every((c) => c.kind === "chat"));
    const none = (await call(keys.a, "GET", "/v1/memories?tag=single&tag=batch")).json?.items as unknown[];
    assert.equal(none.length, 0, "repeated tags combine with AND");
    const future = (await call(keys.a, "GET", `/v1/memories?createdFrom=${Date.now() + 86_400_000}`)).json?.items as unknown[];
    assert.equal(future.length, 0);
  });

  it("patches (keeping createdAt) and deletes", async () => {
    const before = await call(keys.a, "GET", "/v1/memories/a-0");
    const patched = await call(keys.a, "PATCH", "/v1/memories/a-0", { tags: ["patched"], meta: { edited: true } });
    assert.equal(patched.status, 200, patched.raw);
    assert.deepEqual(patched.json?.tags, ["patched"]);
    assert.equal(patched.json?.createdAt, before.json?.createdAt);
    const newText = "A new text for a-0 — 新的文字 ✅";
    const rewritten = await call(keys.a, "PATCH", "/v1/memories/a-0", { text: newText });
    assert.equal(rewritten.status, 200, rewritten.raw);
    const after = await call(keys.a, "GET", "/v1/memories/a-0");
    assert.equal(after.json?.text, newText);
    assert.deepEqual(after.json?.tags, ["patched"]);
    assert.deepEqual(after.json?.meta, { edited: true });
    assert.equal(after.json?.createdAt, before.json?.createdAt);
    // The replaced text is kept: the history has both, exact, the current one last.
    const history = await call(keys.a, "GET", "/v1/memories/a-0/history");
    assert.equal(history.status, 200, history.raw);
    const versions = history.json?.versions as { version: number; text: string; tags: string[]; replacedAt: number | null }[];
    assert.deepEqual(versions.map((v) => [v.version, v.text, v.tags, v.replacedAt === null]), [
      [1, before.json?.text, ["patched"], false],
      [2, newText, ["patched"], true],
    ]);

    const removed = await call(keys.a, "DELETE", "/v1/memories/a-2");
    assert.equal(removed.status, 204);
    assert.equal(removed.raw, "");
    assert.equal((await call(keys.a, "GET", "/v1/memories/a-2")).status, 404);
    assert.equal((await call(keys.a, "DELETE", "/v1/memories/a-2")).status, 404);
    const verify = await call(keys.adminA, "POST", "/v1/verify", {});
    assert.equal(verify.status, 200, verify.raw);
    assert.deepEqual(verify.json, { checked: 199, failed: 0, failures: [] });
  });

  it("deletes by filter within the key's namespaces only: dry run, empty filter refused, out of scope matches nothing", async () => {
    const alphaCount = async () => ((await call(keys.a, "GET", `/v1/memories?limit=${LIMITS.pageItems}`)).json?.items as unknown[]).length;
    const before = await alphaCount();
    assert.ok(before > 0);
    const outside = await call(keys.b, "POST", "/v1/memories:delete", { namespace: "alpha", all: true });
    assert.equal(outside.status, 200, outside.raw);
    assert.deepEqual(outside.json, { count: 0, ids: [], dryRun: false });
    const empty = await call(keys.b, "POST", "/v1/memories:delete", {});
    assert.equal(empty.status, 400, empty.raw);
    assert.equal((await call(keys.readA, "POST", "/v1/memories:delete", { tags: ["patched"] })).status, 403);
    const dry = await call(keys.a, "POST", "/v1/memories:delete", { tags: ["patched"], dryRun: true });
    assert.deepEqual(dry.json, { count: 1, ids: [{ namespace: "alpha", id: "a-0" }], dryRun: true });
    // Key B with all: true deletes its own three, none of alpha's.
    const mine = await call(keys.b, "POST", "/v1/memories:delete", { all: true });
    assert.deepEqual([mine.status, mine.json?.count], [200, 3]);
    assert.equal(await alphaCount(), before);
    const done = await call(keys.a, "POST", "/v1/memories:delete", { tags: ["patched"] });
    assert.deepEqual(done.json, { count: 1, ids: [{ namespace: "alpha", id: "a-0" }], dryRun: false });
    assert.equal((await call(keys.a, "GET", "/v1/memories/a-0")).status, 404);
    assert.equal((await call(keys.a, "GET", "/v1/memories/a-0/history")).status, 404);
    assert.equal(await alphaCount(), before - 1);
  });

  it("answers /healthz and /readyz without a key, sends no CORS headers, and documents every route in OpenAPI 3.1", async () => {
    assert.deepEqual((await call(undefined, "GET", "/healthz")).json, { ok: true });
    const ready = await call(undefined, "GET", "/readyz");
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json, { ok: true });
    const plain = await call(keys.a, "GET", "/v1/memories?limit=1", undefined, { origin: "http://evil.test" });
    assert.equal(plain.headers.get("access-control-allow-origin"), null);
    const preflight = await call(undefined, "OPTIONS", "/v1/memories", undefined, { origin: "http://evil.test", "access-control-request-method": "POST" });
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);

    const doc = await call(undefined, "GET", "/v1/openapi.json");
    assert.equal(doc.status, 200);
    assert.equal(doc.json?.openapi, "3.1.0");
    const paths = doc.json?.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    const expected: [string, string][] = [
      ["post", "/v1/memories"],
      ["post", "/v1/memories:batch"],
      ["get", "/v1/memories/{id}"],
      ["patch", "/v1/memories/{id}"],
      ["delete", "/v1/memories/{id}"],
      ["get", "/v1/memories"],
      ["post", "/v1/search"],
      ["get", "/v1/memories/{id}/related"],
      ["get", "/v1/memories/{id}/history"],
      ["post", "/v1/memories:delete"],
      ["get", "/v1/stats"],
      ["post", "/v1/verify"],
      ["get", "/readyz"],
      ["get", "/healthz"],
    ];
    for (const [method, path] of expected) assert.ok(paths[path]?.[method], `${method} ${path} documented`);
    for (const route of server.registry.routes) {
      const path = route.path.replace(/::/g, "\u0000").replace(/:(\w+)/g, "{$1}").replace(/\u0000/g, ":");
      assert.ok(paths[path]?.[route.method.toLowerCase()]?.responses[String(route.status)], `${route.method} ${route.path} documented with its status`);
    }
    assert.deepEqual(JSON.parse(JSON.stringify(doc.json)), doc.json);
  });
});

describe("REST API limits and CORS when configured", () => {
  it("rate-limits per key with 429 and Retry-After, and answers CORS only for the configured origin", async () => {
    using dir = tempDir();
    const engine = Engine.open({ db: join(dir.path, "store.db") });
    const one = (await engine.keys.create({ role: "read", namespaces: ["n"] })).key;
    const other = (await engine.keys.create({ role: "read", namespaces: ["n"] })).key;
    // A bucket of 2 that refills once in 1000 s: the third request is refused whatever the machine's speed.
    const server = await createServer({ engine, limits: { ratePerSecond: 0.001, rateBurst: 2 }, corsOrigins: ["http://app.test"], logLevel: "silent" });
    try {
      const url = await server.listen("127.0.0.1", 0);
      const get = (key: string, headers: Record<string, string> = {}) => fetch(`${url}/v1/memories`, { headers: { authorization: `Bearer ${key}`, ...headers } });
      const first = await get(one, { origin: "http://app.test" });
      assert.equal(first.status, 200);
      assert.equal(first.headers.get("access-control-allow-origin"), "http://app.test");
      assert.equal((await get(one)).status, 200);
      const limited = await get(one, { origin: "http://app.test" });
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get("retry-after")) >= 1);
      assert.equal(((await limited.json()) as { error: { code: string } }).error.code, "E_RATE_LIMITED");
      assert.equal(limited.headers.get("access-control-allow-origin"), "http://app.test", "a browser can read the 429");
      assert.equal((await get(other)).status, 200, "each key has its own bucket");

      const preflight = await fetch(`${url}/v1/memories`, { method: "OPTIONS", headers: { origin: "http://app.test", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "http://app.test");
      assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/);
      assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
      const stranger = await fetch(`${url}/healthz`, { headers: { origin: "http://other.test" } });
      assert.equal(stranger.headers.get("access-control-allow-origin"), null);
    } finally {
      await server.close();
    }
  });
});
