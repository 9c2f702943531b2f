import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import pgModule from "pg";
import { memoryKey } from "../../src/core/store.js";
import { Engine } from "../../src/engine.js";
import { ErrorCode, isMemzipError } from "../../src/errors.js";
import { openStore } from "../../src/store/open.js";
import { PgDatabase, WRITE_LOCK } from "../../src/store/postgres/database.js";
import { PG_MIGRATIONS } from "../../src/store/postgres/migrations.js";
import { CLI, devCorpus, tempDir } from "../helpers.js";
import { POSTGRES_MISSING, startPostgres, type PostgresService } from "../services/postgres.js";
import { memory, storeSuite } from "./store-suite.js";

const run = promisify(execFile);
const PgClient = pgModule.Client;
const server: PostgresService | undefined = await startPostgres();
after(() => server?.stop());

if (!server) {
  it("PostgreSQL store", { skip: POSTGRES_MISSING }, () => undefined);
} else {
  const pg = server;
  // Each case gets a fresh schema (its own tables, functions and triggers).
  storeSuite("postgres", async () => openStore(await pg.createSchema("suite")));

  describe("PostgreSQL store specifics", () => {
    let url = "";
    before(async () => {
      url = await pg.createDatabase("specifics");
    });

    it("a role granted only the rights on the tables and sequences opens a store another role made, and reads and writes it", async () => {
      const location = await pg.createDatabase("grants");
      const owner = openStore(location);
      await owner.memories.put([memory("a")]);
      await owner.close();
      const role = `tables_only_${process.pid}`;
      const admin = new PgClient({ connectionString: location });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE ${role} LOGIN; REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO ${role};
          GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}; GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
      } finally {
        await admin.end();
      }
      // Before: every open ran CREATE TABLE IF NOT EXISTS memzip_schema, which such a role may not (E_RESOURCE, permission denied).
      const user = openStore(location.replace("postgres@", `${role}@`));
      try {
        assert.deepEqual((await user.memories.get("ns", "a"))?.meta, { k: 1 });
        await user.memories.put([memory("b"), memory("a", "ns", { meta: { k: 2 } })]);
        assert.deepEqual([(await user.memories.get("ns", "a"))?.meta, (await user.memories.get("ns", "b"))?.id], [{ k: 2 }, "b"]);
        assert.equal(await user.memories.delete("ns", "b"), true);
        // compact needs the tables' owner: said, where VACUUM skipped them with a warning only the server's log showed
        // and compact reported success (trial of stop 62).
        await assert.rejects(user.compact(), (error: unknown) => isMemzipError(error, ErrorCode.RESOURCE) && /may not VACUUM FULL .*\bmemories\b/.test(error.message) && /owner/.test(error.hint ?? ""));
      } finally {
        await user.close();
      }
      const again = openStore(location);
      try {
        await again.compact();
      } finally {
        await again.close();
      }
    });

    it("the version clock step: rows written before it keep their versions, and a memory written again after it never matches an old read", async () => {
      const location = await pg.createSchema("clock");
      const store = openStore(location);
      await store.memories.put([memory("a"), memory("b")]);
      await store.close();
      // Back to the schema before the step: per-row integer versions, no clock (the steps after it are idempotent).
      const clockStep = PG_MIGRATIONS.findIndex((step) => step.includes("CREATE SEQUENCE memory_version_clock")) + 1;
      assert.ok(clockStep > 0);
      const admin = new PgClient({ connectionString: location });
      await admin.connect();
      try {
        await admin.query(`ALTER TABLE memories ALTER COLUMN version DROP DEFAULT; ALTER TABLE memories ALTER COLUMN version TYPE integer;
          DROP SEQUENCE memory_version_clock; UPDATE memories SET version = 1; DELETE FROM memzip_schema WHERE version >= ${clockStep}`);
      } finally {
        await admin.end();
      }
      const upgraded = openStore(location);
      try {
        const oldB = await upgraded.memories.get("ns", "b");
        assert.deepEqual([(await upgraded.memories.get("ns", "a"))?.version, oldB?.version], [1, 1]);
        await upgraded.memories.delete("ns", "b");
        await upgraded.memories.put([memory("b", "ns", { meta: { again: true } })]);
        const b = await upgraded.memories.get("ns", "b");
        assert.ok((b?.version as number) > 2 ** 32, `b's version ${String(b?.version)} is above the clock's start`);
        await assert.rejects(upgraded.memories.delete("ns", "b", oldB?.version), { code: "E_CONFLICT" });
        await upgraded.memories.put([memory("a", "ns", { meta: { n: 2 }, expected: { checksum: 7, originalLength: 3, version: 1 } })]);
        assert.ok(((await upgraded.memories.get("ns", "a"))?.version as number) > (b?.version as number));
      } finally {
        await upgraded.close();
      }
    });

    it("a store a newer memzip upgrades while this process holds it open refuses this process's writes with E_STORE, and writes nothing", async () => {
      const location = await pg.createDatabase("upgraded");
      const store = openStore(location);
      const admin = new PgClient({ connectionString: location });
      await admin.connect();
      try {
        await store.memories.put([memory("a")]);
        // What a newer build's migration leaves: a later version in memzip_schema.
        await admin.query("INSERT INTO memzip_schema (version, applied_at) VALUES ($1, $2)", [PG_MIGRATIONS.length + 1, Date.now()]);
        await assert.rejects(store.memories.put([memory("b"), memory("a", "ns", { meta: { k: 2 } })]), (e: unknown) => {
          const error = e as { code?: string; message?: string };
          return error.code === "E_STORE" && /upgraded to schema version \d+ by a newer memzip/.test(error.message ?? "");
        });
        await assert.rejects(store.memories.delete("ns", "a"), { code: "E_STORE" });
        assert.deepEqual((await admin.query("SELECT id, meta FROM memories")).rows.length, 1);
      } finally {
        await admin.end();
        await store.close();
      }
    });

    it("a migration waits for the write lock, so no write of an older process runs across it", async () => {
      const location = await pg.createDatabase("migrate-lock");
      const before = openStore(location);
      await before.memories.put([memory("a")]);
      await before.close();
      const admin = new PgClient({ connectionString: location });
      await admin.connect();
      try {
        // Back to the schema before the last step, then a writer holds the write lock.
        await admin.query(`ALTER TABLE memories ALTER COLUMN version DROP DEFAULT; ALTER TABLE memories ALTER COLUMN version TYPE integer;
          DROP SEQUENCE memory_version_clock; DELETE FROM memzip_schema WHERE version = ${PG_MIGRATIONS.length}`);
        await admin.query("SELECT pg_advisory_lock($1)", [WRITE_LOCK]);
        const upgrading = openStore(location);
        try {
          let opened = false;
          const count = upgrading.memories.count("ns").then((n) => ((opened = true), n));
          // Until the migration is seen waiting for the lock (no sleep: the server's lock table says so).
          while (!opened) {
            const waiting = await admin.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
            if (waiting.rows.length > 0) break;
            await new Promise((resolve) => setImmediate(resolve));
          }
          const version = await admin.query("SELECT max(version) AS v FROM memzip_schema");
          assert.equal(Number(version.rows[0].v), PG_MIGRATIONS.length - 1, "the step has not run while the lock is held");
          assert.equal(opened, false);
          await admin.query("SELECT pg_advisory_unlock($1)", [WRITE_LOCK]);
          assert.equal(await count, 1);
          const after = await admin.query("SELECT max(version) AS v FROM memzip_schema");
          assert.equal(Number(after.rows[0].v), PG_MIGRATIONS.length);
        } finally {
          await upgrading.close();
        }
      } finally {
        await admin.end();
      }
    });

    it("a transaction whose connection the server ends (pg_terminate_backend, a restart) is E_STORE; the process goes on and the next write lands", async () => {
      const location = await pg.createDatabase("terminated");
      const store = openStore(location);
      const admin = new PgClient({ connectionString: location });
      await admin.connect();
      try {
        await store.memories.put([memory("a")]);
        // A write waiting for the write lock (a query in flight) when its session is ended: without a listener on the
        // checked-out client, its "error" event ended the process (trial43: every server and worker of a fleet at once).
        await admin.query("SELECT pg_advisory_lock($1)", [WRITE_LOCK]);
        const waiting = store.memories.put([memory("b")]);
        let pid: number | undefined;
        while (pid === undefined) {
          const row = (await admin.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows[0] as { pid: number } | undefined;
          pid = row?.pid;
          if (pid === undefined) await new Promise((resolve) => setImmediate(resolve));
        }
        await admin.query("SELECT pg_terminate_backend($1)", [pid]);
        await assert.rejects(waiting, (e: unknown) => {
          const error = e as { code?: string; message?: string; hint?: string };
          return error.code === "E_STORE" && /57P01/.test(error.message ?? "") && /run the command again/.test(error.hint ?? "");
        });
        await admin.query("SELECT pg_advisory_unlock($1)", [WRITE_LOCK]);
        // A transaction idle between two statements when its session is ended: the next statement is E_STORE.
        const database = new PgDatabase(location);
        try {
          let release: () => void = () => undefined;
          const gate = new Promise<void>((resolve) => (release = resolve));
          let backend: (pid: number) => void = () => undefined;
          const started = new Promise<number>((resolve) => (backend = resolve));
          const idle = database.write(async (tx) => {
            backend(Number((await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid));
            await gate;
            await tx.query("INSERT INTO namespaces (name, created_at) VALUES ('never', 0)");
          });
          await admin.query("SELECT pg_terminate_backend($1)", [await started]);
          // Until the server has ended it (its row leaves pg_stat_activity).
          while ((await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [await started])).rows.length > 0) await new Promise((resolve) => setImmediate(resolve));
          release();
          await assert.rejects(idle, { code: "E_STORE" });
        } finally {
          await database.close();
        }
        // The same store goes on: the next write lands, and nothing of the ended transactions did.
        await store.memories.put([memory("c")]);
        assert.deepEqual((await admin.query("SELECT id FROM memories ORDER BY id")).rows.map((r: { id: string }) => r.id), ["a", "c"]);
        assert.equal((await admin.query("SELECT count(*)::int AS n FROM namespaces WHERE name = 'never'")).rows[0].n, 0);
      } finally {
        await admin.end();
        await store.close();
      }
    });

    it("a writer stopped inside its transaction holds the write lock only for writeIdleMs: the server ends its session, the other writers go on, and the stalled write is E_STORE with nothing of it committed", async () => {
      const location = await pg.createDatabase("stalled");
      for (const writeIdleMs of [Number.NaN, -1, 1.5, Infinity]) assert.throws(() => new PgDatabase(location, { writeIdleMs }), { code: "E_USAGE" });
      const stalled = new PgDatabase(location, { writeIdleMs: 500 });
      const other = openStore(location);
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let timer: NodeJS.Timeout | undefined;
      try {
        await other.memories.put([memory("a")]);
        let entered: () => void = () => undefined;
        const inside = new Promise<void>((resolve) => (entered = resolve));
        const frozen = stalled.write(async (tx) => {
          await tx.query("INSERT INTO namespaces (name, created_at) VALUES ('stalled', 0)");
          entered();
          // The process stops here (SIGSTOP, a paused VM, a partition): nothing more reaches the server.
          await gate;
          await tx.query("SELECT 1");
        });
        frozen.catch(() => undefined);
        await inside;
        // Before: this write waited for the lock as long as the stalled one lived (trial43: until SIGCONT).
        const landed = other.memories.put([memory("b")]).then(() => "landed");
        const waited = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("still waiting after 30 s"), 30_000)));
        assert.equal(await Promise.race([landed, waited]), "landed");
        release();
        await assert.rejects(frozen, (e: unknown) => {
          const error = e as { code?: string; message?: string; hint?: string };
          return error.code === "E_STORE" && /25P03|idle/.test(error.message ?? "") && /nothing of it was committed/.test(error.message ?? "") && /run the command again/.test(error.hint ?? "");
        });
        const admin = new PgClient({ connectionString: location });
        await admin.connect();
        try {
          assert.deepEqual((await admin.query("SELECT id FROM memories ORDER BY id")).rows.map((r: { id: string }) => r.id), ["a", "b"]);
          assert.equal((await admin.query("SELECT count(*)::int AS n FROM namespaces WHERE name = 'stalled'")).rows[0].n, 0);
        } finally {
          await admin.end();
        }
        // The stalled process goes on too: its next write lands.
        await stalled.write(async (tx) => void (await tx.query("INSERT INTO namespaces (name, created_at) VALUES ('resumed', 0)")));
      } finally {
        clearTimeout(timer);
        release();
        await stalled.close();
        await other.close();
      }
    });

    it("a meta PostgreSQL cannot cast to jsonb (U+0000, a lone surrogate) matches no meta filter instead of failing every one; tags and filters holding them are refused", async () => {
      const location = await pg.createSchema("uncastable");
      const store = openStore(location);
      try {
        await store.memories.put([
          memory("nul", "ns", { meta: { k: "a\u0000b", o: "ana" } }),
          memory("lone", "ns", { meta: { k: "x\ud800", o: "ana" } }),
          // A literal backslash and "u0000" (text, not JSON's escape) is castable, and matches.
          memory("literal", "ns", { meta: { k: "\\u0000", o: "ana" } }),
          memory("plain", "ns", { meta: { o: "ana" } }),
          memory("other", "ns", { meta: { o: "ben" } }),
        ]);
        // It failed with 22P05 ("unsupported Unicode escape sequence"): every meta filter on the store, once one row held one.
        const ids = async (meta: Record<string, string>) => (await store.memories.page({ namespaces: ["ns"], meta, limit: 10 })).items.map((m) => m.id).sort();
        assert.deepEqual(await ids({ o: "ana" }), ["literal", "plain"]);
        assert.deepEqual(await ids({ k: "\\u0000" }), ["literal"]);
        // The rows themselves read back as written.
        assert.deepEqual((await store.memories.get("ns", "nul"))?.meta, { k: "a\u0000b", o: "ana" });
        // A filter value PostgreSQL cannot take is E_INVALID_INPUT (the library's filter; the doors' schema refuses it first).
        await assert.rejects(store.memories.page({ namespaces: ["ns"], tags: ["x\u0000"], limit: 10 }), { code: "E_INVALID_INPUT" });
      } finally {
        await store.close();
      }
      // On PostgreSQL every door refuses such a tag or meta string per memory: the engine's writes (library, CLI, REST,
      // MCP, import) and an update's meta patch. (SQLite keeps them: engine/library-input.test.ts.)
      const engine = Engine.open({ db: location, cache: "off" });
      try {
        for (const tag of ["x\u0000y", "x\ud800", "\udc00"]) {
          // New tags meet the rule of every store first (no control character, no half pair: stop 59)…
          await assert.rejects(engine.remember({ text: "a memory with a bad tag", tags: [tag] }), { code: "E_INVALID_INPUT", message: /a tag holds a control character or half of a surrogate pair/ });
        }
        // …and an import, which keeps an earlier export's tags where the store can, meets PostgreSQL's.
        using dir = tempDir();
        const earlier = join(dir.path, "earlier.jsonl");
        writeFileSync(earlier, `${JSON.stringify({ id: "odd", text: "a memory with a bad tag", tags: ["x\u0000y"] })}\n`);
        const imported = await engine.importJsonl(earlier);
        assert.equal(imported.stored, 0);
        assert.match(JSON.stringify(imported.rejected), /a tag holds U\+0000 or half of a surrogate pair/);
        await assert.rejects(engine.remember({ text: "a memory with a bad meta", meta: { deep: [{ k: "a\u0000b" }] } }), { code: "E_INVALID_INPUT", message: /meta holds U\+0000/ });
        const kept = await engine.remember({ text: "a memory to patch", meta: { o: "ana" } });
        await assert.rejects(engine.update(kept.id, { meta: { "x\ud800": 1 } }), { code: "E_INVALID_INPUT", message: /meta holds/ });
        assert.equal((await engine.remember({ text: "a memory with a good tag", tags: ["研究", "😀"] })).status, "stored");
      } finally {
        await engine.close();
      }
    });

    it("keeps the password out of its location, and says E_STORE with a hint when it cannot connect", async () => {
      const store = openStore(`postgres://memzip:s3cret@127.0.0.1:1/nowhere`);
      try {
        assert.equal(store.location.includes("s3cret"), false, store.location);
        await assert.rejects(store.memories.count(), (e: unknown) => (e as { code?: string }).code === "E_STORE" && /host and port/.test((e as { hint?: string }).hint ?? ""));
      } finally {
        await store.close();
      }
      const wrongUser = openStore(pg.url("postgres").replace("postgres@", "nobody_here@"));
      try {
        await assert.rejects(wrongUser.memories.count(), { code: "E_STORE" });
      } finally {
        await wrongUser.close();
      }
      // SSL asked of a server without it (trial41: exit 70, "internal error", with pg-pool's stack).
      for (const mode of ["require", "no-verify"]) {
        const ssl = openStore(`${pg.url("postgres")}?sslmode=${mode}`);
        try {
          await assert.rejects(ssl.memories.count(), (e: unknown) => (e as { code?: string }).code === "E_STORE" && /sslmode/.test((e as { hint?: string }).hint ?? ""));
        } finally {
          await ssl.close();
        }
      }
    });

    it("a read-only open of a database without memzip's schema is E_NOT_FOUND and creates nothing", async () => {
      const empty = await pg.createDatabase("empty");
      const reader = openStore(empty, { readOnly: true });
      try {
        await assert.rejects(reader.memories.count(), { code: "E_NOT_FOUND" });
      } finally {
        await reader.close();
      }
      const again = openStore(empty, { readOnly: true });
      try {
        await assert.rejects(again.memories.count(), { code: "E_NOT_FOUND" }, "still no schema: nothing was created");
      } finally {
        await again.close();
      }
    });

    it("two stores (two pools) on one database: the schema is made once, and each sees the other's writes and change token", async () => {
      const fresh = await pg.createDatabase("two");
      const first = openStore(fresh);
      const second = openStore(fresh);
      try {
        // Both migrate at once: the advisory lock lets one do it.
        await Promise.all([first.memories.count(), second.memories.count()]);
        const token = await second.search.changeToken();
        await first.memories.put([memory("a")]);
        assert.notEqual(await second.search.changeToken(), token);
        assert.equal((await second.memories.get("ns", "a"))?.id, "a");
        assert.equal(await second.memories.delete("ns", "a"), true);
        assert.equal(await first.memories.get("ns", "a"), undefined);
      } finally {
        await first.close();
        await second.close();
      }
    });

    it("concurrent batch writers from several pools lose nothing, and deduplicate a shared text once", async () => {
      const stores = [openStore(url), openStore(url), openStore(url)];
      try {
        const text = Uint8Array.from(Buffer.from("the same text in every batch"));
        const hash = new Uint8Array(32).fill(7);
        await Promise.all(
          stores.flatMap((store, s) =>
            Array.from({ length: 4 }, (_, b) =>
              store.memories.put(
                Array.from({ length: 25 }, (_, i) =>
                  i === 0
                    ? memory(`shared-${s}-${b}`, "c", { envelope: text, originalLength: text.length, checksum: 99, contentHash: hash })
                    : memory(`m-${s}-${b}-${i}`, "c", { envelope: Uint8Array.of(s, b, i) }),
                ),
              ),
            ),
          ),
        );
        const reader = stores[0] as (typeof stores)[0];
        assert.equal(await reader.memories.count("c"), 3 * 4 * 25);
        for (let s = 0; s < 3; s++) for (let b = 0; b < 4; b++) assert.deepEqual([...((await reader.memories.get("c", `m-${s}-${b}-7`))?.envelope ?? [])], [s, b, 7]);
        const shared = await reader.memories.list({ namespace: "c" }).then((all) => all.filter((m) => m.id.startsWith("shared-")));
        assert.equal(shared.length, 12);
        assert.equal(shared.filter((m) => m.contentOf === null).length, 1, "one holder of the shared text");
        assert.deepEqual(shared.map((m) => m.storedLength).sort((x, y) => (x ?? 0) - (y ?? 0)), [...Array(11).fill(0), text.length], "a reference stores no envelope");
        assert.equal((await reader.memories.usageByCodec("c"))[0]?.storedBytes, text.length + 3 * 4 * 24 * 3);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it("an engine over PostgreSQL remembers, recalls exactly, searches, verifies and forgets 50 corpus memories", async () => {
      const db = await pg.createDatabase("engine");
      const records = devCorpus().slice(0, 50);
      const engine = Engine.open({ db, cache: "memory" });
      try {
        assert.equal(engine.derived, undefined, "no folder beside a server store");
        const results = await engine.rememberMany(records.map((r) => ({ id: r.id, text: r.text, namespace: "corpus" })));
        assert.equal(results.length, 50);
        for (const record of records) assert.equal(await engine.recall(record.id, { namespace: "corpus" }), record.text);
        const probe = records[3] as (typeof records)[0];
        const words = probe.text.split(/\s+/).filter((w) => /^[a-z]{5,}$/i.test(w)).slice(0, 3).join(" ") || probe.text.slice(0, 20);
        const hits = await engine.searchMemories(words, { namespace: "corpus", limit: 10 });
        assert.ok(hits.some((h) => h.id === probe.id), `search "${words}" finds ${probe.id}: ${JSON.stringify(hits.map((h) => h.id))}`);
        const report = await engine.verify();
        assert.equal(report.failures.length, 0, JSON.stringify(report.failures.slice(0, 3)));
        await engine.forget(probe.id, "corpus");
        await assert.rejects(engine.recall(probe.id, { namespace: "corpus" }), { code: "E_NOT_FOUND" });
      } finally {
        await engine.close();
      }
      // Another engine (a second process would do the same) reads what the first wrote.
      const again = Engine.open({ db, cache: "memory" });
      try {
        assert.equal(await again.recall((records[0] as (typeof records)[0]).id, { namespace: "corpus" }), (records[0] as (typeof records)[0]).text);
      } finally {
        await again.close();
      }
    });

    it("a memory whose envelope was damaged is repaired by writing its text again; a new memory of its text is not made a reference to it", async () => {
      const db = await pg.createDatabase("repair");
      const [first, second] = devCorpus().filter((r) => r.text.length >= 200);
      assert.ok(first && second);
      const engine = Engine.open({ db, cache: "off", workers: 0 });
      try {
        await engine.rememberMany([{ id: "a", text: first.text }, { id: "b", text: second.text }, { id: "a-copy", text: first.text }]);
        const admin = new PgClient({ connectionString: db });
        await admin.connect();
        try {
          // One byte of a's envelope flipped (a-copy is a reference: it reads a's).
          const changed = await admin.query("UPDATE memories SET envelope = set_byte(envelope, length(envelope) * 7 / 10, get_byte(envelope, length(envelope) * 7 / 10) # 16) WHERE id = 'a' AND content_of IS NULL");
          assert.equal(changed.rowCount, 1);
        } finally {
          await admin.end();
        }
        for (const id of ["a", "a-copy"]) await assert.rejects(engine.recall(id), (error: Error & { code?: string; hint?: string }) => ["E_CHECKSUM", "E_FORMAT"].includes(error.code ?? "") && /Write its text again/.test(error.hint ?? ""));
        // A new memory of that text is not made a reference to the damaged holder (it was: stored, then unreadable), and
        // the reference written again keeps an envelope of its own.
        assert.equal((await engine.remember({ id: "c", text: first.text })).status, "stored");
        assert.equal(await engine.recall("c"), first.text);
        // A metadata write keeps c's good envelope (it made c a reference to the damaged a).
        await engine.update("c", { tags: ["x"] });
        assert.equal(await engine.recall("c"), first.text);
        // c takes another text in the batch that writes d of c's old one: d never goes to the damaged a.
        await engine.rememberMany([{ id: "c2", text: first.text }]);
        await engine.rememberMany([{ id: "c", text: second.text }, { id: "d", text: first.text }]);
        for (const id of ["c2", "d"]) assert.equal(await engine.recall(id), first.text);
        await engine.remember({ id: "c", text: first.text });
        assert.equal((await engine.remember({ id: "a-copy", text: first.text })).repaired, true);
        assert.equal(await engine.recall("a-copy"), first.text);
        const repaired = await engine.remember({ id: "a", text: first.text });
        assert.deepEqual([repaired.status, repaired.repaired], ["updated", true]);
        assert.equal((await engine.remember({ id: "b", text: second.text })).status, "unchanged");
        for (const [id, text] of [["a", first.text], ["a-copy", first.text], ["c", first.text], ["b", second.text]] as const) assert.equal(await engine.recall(id), text);
        assert.equal((await engine.verify()).failed, 0);
      } finally {
        await engine.close();
      }
    });

    it("the CLI takes --db postgres://… and MEMZIP_DB: import a JSONL file, get, stats", async () => {
      const db = await pg.createDatabase("cli");
      using dir = tempDir();
      const records = devCorpus().slice(50, 60);
      const file = join(dir.path, "few.jsonl");
      writeFileSync(file, records.map((r) => JSON.stringify({ id: r.id, text: r.text })).join("\n") + "\n");
      const env = { ...process.env, HOME: dir.path, MEMZIP_CONFIG: join(dir.path, "none.json") };
      await run(process.execPath, [CLI, "import", file, "--db", db, "--namespace", "cli"], { env });
      const record = records[4] as (typeof records)[0];
      const got = await run(process.execPath, [CLI, "get", record.id, "--namespace", "cli"], { env: { ...env, MEMZIP_DB: db } });
      assert.equal(got.stdout, record.text);
      const stats = JSON.parse((await run(process.execPath, [CLI, "stats", "--db", db, "--json"], { env })).stdout) as { memories: number; originalBytes: number };
      assert.equal(stats.memories, 10);
      assert.equal(stats.originalBytes, records.reduce((sum, r) => sum + Buffer.byteLength(r.text), 0));
    });

    it("a script that never closes its engine ends when its work is done: idle connections do not hold the process", async () => {
      const db = await pg.createDatabase("exit");
      const script = [
        `import { Engine } from ${JSON.stringify(new URL("../../src/index.js", import.meta.url).href)};`,
        `const engine = Engine.open({ db: ${JSON.stringify(db)} });`,
        `const { id } = await engine.remember({ text: "a memory written by a script that forgets close()" });`,
        "console.log(await engine.recall(id));",
        "console.log(`done ${Date.now()}`);",
      ].join("\n");
      const child = await run(process.execPath, ["--input-type=module", "-e", script], { timeout: 120_000 });
      const exited = Date.now();
      const [text, done] = child.stdout.trim().split("\n");
      assert.equal(text, "a memory written by a script that forgets close()");
      // Before: the pool's idle connections kept the process alive until their idle timeout, 10 s after the work.
      const lingered = exited - Number(/^done (\d+)$/.exec(done ?? "")?.[1]);
      assert.ok(lingered >= 0 && lingered < 5_000, `the process lingered ${lingered} ms after its work`);
    });

    it("keyword terms are stored and looked up verbatim: quotes, backslashes, operators and Chinese bigrams", async () => {
      const store = openStore(await pg.createSchema("terms"));
      try {
        await store.memories.put([memory("q"), memory("r")]);
        const [q, r] = (await store.search.pending("k", 10)).map((p) => p.seq) as [number, number];
        await store.search.put("k", [
          { seq: q, vector: Uint8Array.of(1), terms: "it's a\\b x&y !not 周五 五开" },
          { seq: r, vector: Uint8Array.of(2), terms: "Running running  周五" },
        ]);
        for (const term of ["it's", "a\\b", "x&y", "!not", "五开"]) assert.deepEqual(await store.search.matching(term), [q], term);
        assert.deepEqual((await store.search.matching("周五")).sort((x, y) => x - y), [q, r]);
        assert.deepEqual(await store.search.matching("Running"), [r], "no lower-casing");
        assert.deepEqual(await store.search.matching("run"), [], "no stemming");
        assert.equal(await store.search.documentFrequency("running"), 1);
        assert.deepEqual(await store.search.matching("it"), [], "no splitting at punctuation");
      } finally {
        await store.close();
      }
    });

    it("references follow a holder across pools within its namespace (memoryKey of the reference); another namespace holds its own copy", async () => {
      const a = openStore(url);
      const b = openStore(url);
      try {
        const bytes = Uint8Array.from(Buffer.from("cross pool text"));
        const base = { envelope: bytes, originalLength: bytes.length, checksum: 5, contentHash: new Uint8Array(32).fill(3) };
        await a.memories.put([memory("h", "x", base)]);
        assert.deepEqual(await b.memories.put([memory("r", "x", base)]), new Set([memoryKey("x", "r")]));
        assert.deepEqual(await b.memories.put([memory("own", "y", base)]), new Set(), "content addressing stays within a namespace");
        assert.equal((await b.memories.get("y", "own"))?.contentOf, null);
        assert.equal(await a.memories.delete("x", "h"), true);
        assert.deepEqual([...((await b.memories.get("x", "r"))?.envelope ?? [])], [...bytes], "handed over on delete");
        assert.deepEqual([...((await b.memories.get("y", "own"))?.envelope ?? [])], [...bytes]);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
