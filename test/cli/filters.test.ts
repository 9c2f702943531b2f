import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, tempDir, spawnBounded } from "../helpers.js";

function memzip(args: string[]) {
  const result = spawnBounded(process.execPath, [CLI, ...args], { env: { ...process.env, MEMZIP_DB: "", MEMZIP_CONFIG: "/nonexistent/memzip-config.json" } });
  return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8"), json: () => JSON.parse(result.stdout.toString("utf8")) as Record<string, unknown> };
}

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const records = [
  { id: "cat", text: "The cat Miso sleeps on the balcony every afternoon in the sun.", kind: "note", tags: ["pets", "home"], createdAt: T0 },
  { id: "dog", text: "The neighbour's dog Bruno barks at the mail carrier each morning.", kind: "note", tags: ["pets"], createdAt: T0 + 2 * DAY },
  { id: "deploy", text: "Deploy of billing service v2.8.0 failed: migration timeout on the ledger table.", kind: "chat", tags: ["work"], createdAt: T0 + 4 * DAY },
  { id: "standup", text: "Standup: the ledger migration needs an index before the billing deploy is retried.", kind: "meeting", tags: ["work", "billing"], createdAt: T0 + 6 * DAY },
  { id: "cat-2", text: "Miso the cat now sleeps indoors since the balcony got cold.", kind: "note", tags: ["pets", "home"], createdAt: T0 + 8 * DAY },
];

describe("filters and pages on ls, search and related", () => {
  it("narrow by kind, tags and time, page with a cursor, and find nothing for words no memory holds", async () => {
    await using dir = tempDir();
    const db = join(dir.path, "filters.db");
    const file = join(dir.path, "records.jsonl");
    writeFileSync(file, records.map((r) => JSON.stringify(r)).join("\n"));
    assert.equal(memzip(["import", file, "--db", db, "-n", "home", "--json"]).status, 0);
    const ids = (args: string[]) => {
      const out = memzip([...args, "--db", db, "--json"]);
      assert.equal(out.status, 0, out.stderr);
      return out.json();
    };
    const listed = (args: string[]) => (ids(["ls", ...args]).memories as { id: string }[]).map((m) => m.id);

    assert.deepEqual(listed(["--tag", "pets"]), ["cat", "dog", "cat-2"]);
    assert.deepEqual(listed(["--tag", "pets", "--tag", "home"]), ["cat", "cat-2"]);
    assert.deepEqual(listed(["--kind", "chat"]), ["deploy"]);
    assert.deepEqual(listed(["--since", new Date(T0 + 3 * DAY).toISOString(), "--until", new Date(T0 + 7 * DAY).toISOString()]), ["deploy", "standup"]);
    assert.deepEqual(listed(["--until", "2026-11-02"]), ["cat"]);
    assert.deepEqual(listed(["-n", "nobody"]), []);

    // Pages of two walk every memory once; --json carries the totals and the next cursor.
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const out = ids(["ls", "--limit", "2", ...(cursor ? ["--cursor", cursor] : [])]);
      const memories = out.memories as { id: string; originalLength: number; storedLength: number; tags: string[] }[];
      assert.equal(out.count, memories.length);
      assert.equal(out.originalBytes, memories.reduce((s, m) => s + m.originalLength, 0));
      assert.ok(memories.every((m) => m.storedLength > 0 && Array.isArray(m.tags)));
      seen.push(...memories.map((m) => m.id));
      cursor = out.next as string | null;
      if (cursor === null) break;
    }
    assert.deepEqual(seen, records.map((r) => r.id));
    const human = memzip(["ls", "--limit", "2", "--db", db]);
    assert.match(human.stdout, /more: memzip ls --cursor \S+ --limit 2/);

    // Search: filters apply before ranking.
    const hits = (args: string[]) => (ids(["search", ...args]).hits as { id: string; preview: string }[]).map((h) => h.id);
    assert.ok(hits(["billing ledger migration"]).includes("deploy"));
    assert.deepEqual(hits(["billing ledger migration", "--kind", "meeting"]), ["standup"]);
    assert.deepEqual(hits(["cat sleeps balcony", "--since", new Date(T0 + 1 * DAY).toISOString()]), ["cat-2"]);
    assert.deepEqual(hits(["cat sleeps balcony", "--tag", "work"]), []);
    // Words no memory holds: nothing reaches the similarity floor; with the floor lowered, weak neighbours come back.
    assert.deepEqual(hits(["zorblax quintuple vexmora"]), []);
    assert.ok(hits(["zorblax quintuple vexmora", "--min-similarity=-1"]).length > 0);
    assert.equal(memzip(["search", "x", "--min-similarity", "2", "--db", db]).status, 2);
    assert.equal(memzip(["ls", "--since", "last tuesday", "--db", db]).status, 2);
    // trial56: a day that does not exist rolled over (2020-02-30 read as March 1st); a time before 1970 was refused.
    const impossible = memzip(["ls", "--until", "2020-02-30", "--db", db]);
    assert.equal(impossible.status, 2);
    assert.match(impossible.stderr.toString(), /2020-02-30 does not exist/);
    assert.deepEqual(listed(["--until", "1969-06-01"]), []);
    assert.deepEqual(listed(["--until", "0004-02-29"]), [], "a leap day of year 4 exists (years 0–99 are not 1900–1999)");

    // Related: the filter narrows the neighbours.
    const related = (args: string[]) => (ids(["related", "cat", ...args]).hits as { id: string }[]).map((h) => h.id);
    assert.equal(related([])[0], "cat-2");
    assert.ok(!related(["--tag", "work", "--min-similarity=-1"]).some((id) => id.startsWith("cat")));
  });
});
