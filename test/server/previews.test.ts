import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { seededRandom } from "../../src/core/stats.js";
import { Engine } from "../../src/engine.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { createServer } from "../../src/server/app.js";
import { PREVIEW_CHARS, preview } from "../../src/server/search.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { damageEnvelope, tempDir } from "../helpers.js";

/** The preview as it was first written: the text's code points through Array.from. */
function referencePreview(text: string): { preview: string; truncated: boolean } {
  const points = Array.from(text.length > PREVIEW_CHARS * 2 ? text.slice(0, PREVIEW_CHARS * 2 + 1) : text);
  return points.length > PREVIEW_CHARS ? { preview: points.slice(0, PREVIEW_CHARS).join(""), truncated: true } : { preview: text, truncated: false };
}

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

describe("search previews", () => {
  it("preview cuts at the same code point as Array.from: pairs, lone surrogates, every length around the bound", () => {
    const a = (n: number) => "a".repeat(n);
    const emoji = "\u{1F600}";
    const cases = [
      "",
      a(1),
      a(PREVIEW_CHARS - 1),
      a(PREVIEW_CHARS),
      a(PREVIEW_CHARS + 1),
      a(PREVIEW_CHARS * 3),
      // A pair on the bound: the 200th code point is an emoji (kept whole), or the 201st is.
      a(PREVIEW_CHARS - 1) + emoji + a(5),
      a(PREVIEW_CHARS) + emoji,
      a(PREVIEW_CHARS - 1) + emoji,
      // More UTF-16 units than the bound but not more code points: not truncated.
      emoji.repeat(PREVIEW_CHARS),
      emoji.repeat(PREVIEW_CHARS + 1),
      emoji.repeat(PREVIEW_CHARS - 1) + a(1),
      // Lone surrogates count one code point each, as Array.from counts them.
      a(PREVIEW_CHARS - 1) + "\ud83d",
      a(PREVIEW_CHARS - 1) + "\ud83d" + a(3),
      a(PREVIEW_CHARS - 1) + "\ude00" + a(3),
      "\ud83d".repeat(PREVIEW_CHARS + 1),
      "\ude00\ud83d".repeat(PREVIEW_CHARS),
      a(PREVIEW_CHARS - 1) + "\ud83d\ud83d\ude00",
    ];
    // And random texts over a small alphabet rich in surrogates, of every length from 0 to 3 bounds.
    const alphabet = ["a", "é", "中", emoji, "\ud83d", "\ude00", "\u{10FFFF}"];
    const random = seededRandom(17);
    for (let i = 0; i < 3000; i++) {
      const length = Math.floor(random() * PREVIEW_CHARS * 3);
      let text = "";
      while (text.length < length) text += alphabet[Math.floor(random() * alphabet.length)] as string;
      cases.push(text);
    }
    for (const text of cases) assert.deepEqual(preview(text), referencePreview(text), JSON.stringify(text.slice(0, 12)));
  });

  it("engine.texts reads many memories at once: the exact texts recall gives, undefined for a missing or expired one", async () => {
    using dir = tempDir();
    const clock = { now: T0 };
    const engine = Engine.open({ db: join(dir.path, "texts.db"), cache: "off", workers: 0, clock: () => clock.now });
    try {
      const long = "the ledger was reconciled on friday after the deploy ".repeat(40);
      await engine.rememberMany([
        { id: "a", text: "alpha: the ledger", namespace: "one" },
        { id: "b", text: long, namespace: "one" },
        // The same text again: stored as a reference to b's envelope.
        { id: "c", text: long, namespace: "two" },
        { id: "d", text: "delta expires tomorrow", namespace: "one", expiresAt: T0 + DAY },
        { id: "e", text: "emoji \u{1F600} and 中文", namespace: "two" },
      ]);
      assert.ok((await engine.memory("c", "two")).contentOf !== undefined, "c holds no envelope of its own");
      const refs = [
        { id: "e", namespace: "two" },
        { id: "a", namespace: "one" },
        { id: "missing", namespace: "one" },
        { id: "c", namespace: "two" },
        { id: "a", namespace: "two" },
        { id: "d", namespace: "one" },
        { id: "b", namespace: "one" },
      ];
      const recalled = async () =>
        Promise.all(refs.map((ref) => engine.recall(ref.id, { namespace: ref.namespace }).catch((error: unknown) => (isMemzipError(error, ErrorCode.NOT_FOUND) ? undefined : Promise.reject(error)))));
      const before = await engine.texts(refs);
      assert.deepEqual(before, [ "emoji \u{1F600} and 中文", "alpha: the ledger", undefined, long, undefined, "delta expires tomorrow", long ]);
      assert.deepEqual(before, await recalled());
      clock.now = T0 + 2 * DAY;
      const after = await engine.texts(refs);
      assert.equal(after[5], undefined, "an expired memory reads as missing");
      assert.deepEqual(after, await recalled());
      assert.deepEqual(await engine.texts([]), []);
      // The text of a row already read is the text recall gives.
      assert.equal(await engine.textOf(await engine.memory("c", "two")), long);
    } finally {
      await engine.close();
    }
  });

  it("POST /v1/search answers each hit's preview of its exact text, and leaves out a hit that expired", async () => {
    using dir = tempDir();
    const clock = { now: T0 };
    const engine = Engine.open({ db: join(dir.path, "search.db"), cache: "off", workers: 0, clock: () => clock.now });
    const server = await createServer({ engine, logLevel: "silent" });
    try {
      const { key } = await engine.keys.create({ role: "write", namespaces: ["alpha"] });
      const url = await server.listen("127.0.0.1", 0);
      const texts: Record<string, string> = {
        m1: `observatory meteors ridge ${"night sky notes ".repeat(30)}`,
        m2: "observatory meteors over the ridge at dawn \u{1F320}",
        m3: `meteors ${"\u{1F320}".repeat(PREVIEW_CHARS + 5)}`,
        m4: "observatory closed for the winter",
      };
      await engine.rememberMany(Object.entries(texts).map(([id, text]) => ({ id, text, namespace: "alpha", ...(id === "m4" ? { expiresAt: T0 + DAY } : {}) })));
      const search = async () => {
        const response = await fetch(`${url}/v1/search`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ query: "observatory meteors ridge", limit: 10 }),
        });
        assert.equal(response.status, 200);
        return ((await response.json()) as { hits: { id: string; namespace: string; score: number; preview: string; truncated: boolean }[] }).hits;
      };
      const hits = await search();
      assert.deepEqual(hits.map((h) => h.id).sort(), ["m1", "m2", "m3", "m4"]);
      for (const hit of hits) assert.deepEqual({ preview: hit.preview, truncated: hit.truncated }, referencePreview(texts[hit.id] as string), hit.id);
      clock.now = T0 + 2 * DAY;
      assert.deepEqual((await search()).map((h) => h.id).sort(), ["m1", "m2", "m3"]);
    } finally {
      await server.close();
    }
  });

  it("a memory whose text cannot be read fails no search: left out and counted for its own namespaces only, a hit that stopped reading comes with why (REST and MCP)", async () => {
    using dir = tempDir();
    const db = join(dir.path, "unreadable.db");
    {
      const engine = Engine.open({ db, cache: "off", workers: 0 });
      try {
        await engine.rememberMany([
          { id: "a1", text: "observatory meteors over the ridge at dawn", namespace: "alpha" },
          { id: "a2", text: "observatory notes: the meteors were faint tonight", namespace: "alpha" },
        ]);
        await engine.searchMemories("observatory");
        // Written after the index was built: pending when the server starts.
        await engine.remember({ id: "b1", text: "observatory beta: meteors logged by the other tenant", namespace: "beta" });
      } finally {
        await engine.close();
      }
    }
    // a2 stops reading after it was indexed; b1 (another tenant's) before it was.
    damageEnvelope(db, "a2");
    damageEnvelope(db, "b1");
    const engine = Engine.open({ db, cache: "off", workers: 0 });
    const server = await createServer({ engine, logLevel: "silent" });
    try {
      const alpha = (await engine.keys.create({ role: "read", namespaces: ["alpha"] })).key;
      const admin = (await engine.keys.create({ role: "admin", namespaces: ["*"] })).key;
      const url = await server.listen("127.0.0.1", 0);
      type Answer = { hits: { id: string; preview: string; unreadable?: { code: string; message: string } }[]; unsearchable: number };
      const search = async (key: string): Promise<Answer> => {
        const response = await fetch(`${url}/v1/search`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ query: "observatory meteors", limit: 10 }),
        });
        const body = await response.text();
        assert.equal(response.status, 200, body);
        return JSON.parse(body) as Answer;
      };
      const asAlpha = await search(alpha);
      assert.deepEqual(asAlpha.hits.map((h) => h.id).sort(), ["a1", "a2"]);
      assert.equal(asAlpha.hits.find((h) => h.id === "a1")?.preview, "observatory meteors over the ridge at dawn");
      const a2 = asAlpha.hits.find((h) => h.id === "a2");
      assert.equal(a2?.preview, "");
      assert.equal(a2?.unreadable?.code, ErrorCode.CHECKSUM);
      // Beta's unreadable memory is neither counted nor named to alpha's key.
      assert.equal(asAlpha.unsearchable, 0);
      assert.doesNotMatch(JSON.stringify(asAlpha), /b1|beta/);
      const asAdmin = await search(admin);
      assert.equal(asAdmin.unsearchable, 1);
      assert.deepEqual(asAdmin.hits.map((h) => h.id).sort(), ["a1", "a2"]);
      assert.deepEqual(
        (await engine.unsearchable()).map(({ id, namespace, code }) => ({ id, namespace, code })),
        [{ id: "b1", namespace: "beta", code: ErrorCode.CHECKSUM }],
      );
      const client = new Client({ name: "memzip-test", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${alpha}` } } }));
      try {
        const result = await client.callTool({ name: "search_memories", arguments: { query: "observatory meteors" } });
        assert.notEqual(result.isError, true, JSON.stringify(result.content));
        const answer = result.structuredContent as Answer;
        assert.deepEqual(answer.hits.map((h) => h.id).sort(), ["a1", "a2"]);
        assert.equal(answer.hits.find((h) => h.id === "a2")?.unreadable?.code, ErrorCode.CHECKSUM);
        assert.equal(answer.unsearchable, 0);
      } finally {
        await client.close();
      }
    } finally {
      await server.close();
    }
  });
});
