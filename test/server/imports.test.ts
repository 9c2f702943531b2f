import { strict as assert } from "node:assert";
import { readdirSync } from "node:fs";
import Database from "better-sqlite3";
import { after, before, describe, it } from "node:test";
import { JOB_STALE_AFTER_MS } from "../../src/engine.js";
import { uploadFolder } from "../../src/server/upload-folder.js";
import { devCorpus, tempDir } from "../helpers.js";
import { bearer, readEvents, startServer, type Running } from "./http.js";

const NDJSON = "application/x-ndjson";
const ARROW = "application/vnd.apache.arrow.file";
const uploadsLeft = (location: string) => readdirSync(uploadFolder(location)).length;
const jsonl = (records: readonly object[]) => records.map((record) => JSON.stringify(record)).join("\n") + "\n";

/**
 * Uploads `count` dev-corpus records as one import, waits for its first committed batch, then shuts
 * the server down: the job stops after the batch in flight and is left interrupted.
 */
async function interruptedImport(dir: string, count: number, prefix: string): Promise<{ all: { id: string; text: string }[]; key: string; job: string; db: string }> {
  const all = devCorpus()
    .slice(0, count)
    .map((r, i) => ({ id: `${prefix}-${i}`, text: r.text }));
  const first = await startServer(dir, {}, { batchSize: 10, concurrency: 2 });
  const key = (await first.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
  const response = await fetch(`${first.url}/v1/imports`, { method: "POST", headers: bearer(key, { "content-type": NDJSON }), body: jsonl(all) });
  const { job } = (await response.json()) as { job: string };
  const events = await fetch(`${first.url}/v1/imports/${job}/events`, { headers: bearer(key) });
  const reader = (events.body as ReadableStream<Uint8Array>).getReader();
  let seen = "";
  while (!/"records":[1-9]/.test(seen)) seen += new TextDecoder().decode((await reader.read()).value);
  await first.server.close();
  await reader.cancel().catch(() => undefined);
  return { all, key, job, db: first.db };
}

describe("server imports and exports", () => {
  const dir = tempDir();
  let running: Running;
  let keyA: string;
  let keyB: string;
  let readA: string;
  let admin: string;
  const records = devCorpus()
    .slice(0, 200)
    .map((record, i) => ({ id: `m-${i}`, text: record.text, kind: "note", tags: [record.lang] }));
  const post = (key: string, query: string, body: string | Uint8Array, type = NDJSON) =>
    fetch(`${running.url}/v1/imports${query}`, { method: "POST", headers: bearer(key, { "content-type": type }), body });
  const get = (key: string, path: string) => fetch(`${running.url}${path}`, { headers: bearer(key) });

  before(async () => {
    running = await startServer(dir.path, {}, { batchSize: 40 });
    keyA = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
    keyB = (await running.engine.keys.create({ role: "write", namespaces: ["b"] })).key;
    readA = (await running.engine.keys.create({ role: "read", namespaces: ["a"] })).key;
    admin = (await running.engine.keys.create({ role: "admin", namespaces: ["*"] })).key;
  });
  after(async () => {
    await running?.server.close();
    dir[Symbol.dispose]();
  });

  let jobA = "";
  it("imports an uploaded JSONL file as a job in the key's namespace, with progress as SSE", async () => {
    const response = await post(keyA, "", jsonl(records));
    assert.equal(response.status, 202);
    const job = (await response.json()) as { job: string; namespace: string; status: string };
    assert.equal(job.namespace, "a");
    jobA = job.job;
    const events = await readEvents(await get(readA, `/v1/imports/${job.job}/events`));
    const last = events.at(-1) as { event: string; data: { status: string; report: { stored: number; rejected: number; trained?: string[]; notUsed?: string[] } } };
    assert.equal(last.event, "done", JSON.stringify(events.slice(-2)));
    assert.equal(last.data.report.stored, 200);
    assert.equal(last.data.report.rejected, 0);
    // 200 memories: the ending trains both, and measures each larger than the shipped base (which learned from these dev texts).
    assert.deepEqual(last.data.report.trained, []);
    assert.deepEqual(last.data.report.notUsed?.sort(), ["cm-snapshot", "zstd-dictionary"]);
    assert.ok(events.some((e) => e.event === "progress"));
    const status = (await (await get(readA, `/v1/imports/${job.job}`)).json()) as { status: string; progress: { records: number; totalBytes: number } };
    assert.equal(status.status, "done");
    assert.equal(status.progress.records, 200);
    assert.equal((await running.engine.stats("a")).memories, 200);
  });

  it("answers another namespace's job as a missing one, and a read key may not import", async () => {
    assert.equal((await get(keyB, `/v1/imports/${jobA}`)).status, 404);
    assert.equal((await get(keyB, `/v1/imports/${jobA}/events`)).status, 404);
    assert.equal((await fetch(`${running.url}/v1/imports/${jobA}/resume`, { method: "POST", headers: bearer(keyB) })).status, 404);
    assert.equal((await get(keyB, `/v1/imports/imp-zz-00`)).status, 404);
    assert.equal((await post(readA, "", jsonl(records.slice(0, 1)))).status, 403);
    assert.equal((await post(keyB, "?namespace=a", jsonl(records.slice(0, 1)))).status, 404);
    assert.equal((await fetch(`${running.url}/v1/imports`, { method: "POST", headers: { "content-type": NDJSON }, body: "{}\n" })).status, 401);
  });

  it("refuses a file whose records name another namespace, writing nothing", async () => {
    const before = uploadsLeft(running.engine.location);
    const bad = [...records.slice(0, 5).map((r) => ({ ...r, id: `x-${r.id}` })), { text: "sneaky", namespace: "b" }];
    const response = await post(keyA, "", jsonl(bad));
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: { message: string } }).error.message, /line 6 names another namespace/);
    assert.equal((await running.engine.stats("b")).memories, 0);
    assert.equal((await running.engine.stats("a")).memories, 200);
    assert.equal(uploadsLeft(running.engine.location), before, "the refused upload's temporary file is removed");
    // Spelled as the importer reads it but not as the bytes say "namespace": an escaped key, a line behind a byte order mark.
    const good = jsonl(records.slice(0, 2).map((r) => ({ ...r, id: `y-${r.id}` })));
    for (const [sneaky, line] of [['{"text": "escaped", "\\u006eamespace": "b"}', 3], [`\ufeff${JSON.stringify({ text: "behind a BOM", namespace: "b" })}`, 3]] as const) {
      const refused = await post(keyA, "", `${good}${sneaky}\n`);
      assert.equal(refused.status, 400, sneaky);
      assert.match(((await refused.json()) as { error: { message: string } }).error.message, new RegExp(`line ${line} names another namespace`));
    }
    assert.equal((await running.engine.stats("b")).memories, 0);
    // A finished job names its rejected records with where and why (it gave only their count: trial42).
    const mixed = await post(keyA, "", `${jsonl([{ id: "fine-1", text: "a fine record" }])}{"id":"bad-1","text":""}\nnot json\n${jsonl([{ id: "fine-2", text: "another" }])}`);
    assert.equal(mixed.status, 202);
    const finished = (await readEvents(await get(keyA, `/v1/imports/${((await mixed.json()) as { job: string }).job}/events`))).at(-1) as { data: { report: { stored: number; rejected: number; rejections: { where: string; code: string; message: string }[] } } };
    assert.deepEqual([finished.data.report.stored, finished.data.report.rejected], [2, 2]);
    assert.deepEqual(finished.data.report.rejections.map((r) => [r.where, r.code]), [["line 2", "E_INVALID_INPUT"], ["line 3", "E_INVALID_INPUT"]]);
    assert.ok(finished.data.report.rejections.every((r) => r.message.length > 0));
    // Each names its line once, in where ("line 3: line 3: not JSON" read twice).
    assert.ok(finished.data.report.rejections.every((r) => !r.message.startsWith("line ")), JSON.stringify(finished.data.report.rejections));
    for (const id of ["fine-1", "fine-2"]) await running.engine.forget(id, "a"); // the later cases count namespace a
    // The job's own namespace named in the records is fine.
    const same = await post(keyA, "", jsonl([{ text: "named its own namespace", namespace: "a", id: "own" }]));
    assert.equal(same.status, 202);
    const done = await readEvents(await get(keyA, `/v1/imports/${((await same.json()) as { job: string }).job}/events`));
    assert.equal(done.at(-1)?.event, "done");
  });

  it("exports the scope's memories byte for byte as JSONL and Arrow; another namespace is 404", async () => {
    const response = await get(readA, "/v1/export");
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /ndjson/);
    const lines = (await response.text()).split("\n").filter(Boolean).map((line) => JSON.parse(line) as { id: string; text: string; namespace: string });
    assert.equal(lines.length, 201);
    const byId = new Map(lines.map((line) => [line.id, line]));
    for (const record of records) assert.equal(byId.get(record.id)?.text, record.text);
    assert.ok(lines.every((line) => line.namespace === "a"));
    assert.equal((await get(keyB, "/v1/export?namespace=a")).status, 404);
    const empty = await get(keyB, "/v1/export");
    assert.equal(empty.status, 200);
    assert.equal(await empty.text(), "");

    const arrow = await get(readA, "/v1/export?format=arrow");
    assert.equal(arrow.status, 200);
    const bytes = new Uint8Array(await arrow.arrayBuffer());
    // Arrow rows carry their namespace, as JSONL lines do: into "a" they are all already there; into "b"
    // (a key of b, or the admin naming b) the upload is refused whole, and b holds none of them.
    assert.equal((await post(admin, "?format=arrow", bytes, ARROW)).status, 400, "a key of every namespace must name one");
    for (const [key, query] of [[keyB, "?format=arrow"], [admin, "?format=arrow&namespace=b"]] as const) {
      const refused = await post(key, query, bytes, ARROW);
      assert.equal(refused.status, 400, query);
      assert.match(((await refused.json()) as { error: { message: string } }).error.message, /names another namespace than the job's \(b\)/);
    }
    assert.equal((await running.engine.list({ namespace: "b" })).length, 0);
    // A truncated file is E_FORMAT, said in words (it was E_INVALID_INPUT with a TypeError's text: hostile trial s61); the
    // wrong content type names the format.
    const truncated = await post(keyA, "?format=arrow", bytes.subarray(0, Math.floor(bytes.length / 3)), ARROW);
    assert.equal(truncated.status, 400);
    const { error } = (await truncated.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, "E_FORMAT");
    assert.match(error.message, /^not an Arrow IPC file, or a damaged one/);
    assert.doesNotMatch(error.message, /Cannot read properties/);
    const asJsonl = await post(keyA, "?format=arrow", bytes, NDJSON);
    assert.equal(asJsonl.status, 415);
    assert.match(((await asJsonl.json()) as { error: { message: string } }).error.message, /^an Arrow upload was sent as application\/x-ndjson/);
    const again = await post(keyA, "?format=arrow", bytes, ARROW);
    assert.equal(again.status, 202);
    const events = await readEvents(await get(keyA, `/v1/imports/${((await again.json()) as { job: string }).job}/events`));
    const last = events.at(-1) as { event: string; data: { report: { unchanged: number; stored: number } } };
    assert.equal(last.event, "done");
    assert.equal(last.data.report.unchanged, 201);
    assert.equal(last.data.report.stored, 0);
  });

  it("answers 413 past the upload limit and keeps no temporary file", async () => {
    await using small = await (async () => {
      const other = tempDir();
      const server = await startServer(other.path, { limits: { uploadBytes: 64 << 10 } });
      const key = (await server.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      return { server, key, async [Symbol.asyncDispose]() { await server.server.close(); other[Symbol.dispose](); } };
    })();
    const before = uploadsLeft(small.server.engine.location);
    const big = jsonl(devCorpus().slice(0, 2000).map((r) => ({ text: r.text })));
    assert.ok(big.length > 64 << 10);
    const declared = await fetch(`${small.server.url}/v1/imports`, { method: "POST", headers: bearer(small.key, { "content-type": NDJSON }), body: big });
    assert.equal(declared.status, 413);
    // Streamed without a Content-Length: the server counts while it writes, and stops.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder().encode(big);
        for (let i = 0; i < bytes.length; i += 16 << 10) controller.enqueue(bytes.subarray(i, i + (16 << 10)));
        controller.close();
      },
    });
    const streamed = await fetch(`${small.server.url}/v1/imports`, { method: "POST", headers: bearer(small.key, { "content-type": NDJSON }), body, duplex: "half" } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.equal(((await streamed.json()) as { error: { code: string } }).error.code, "E_TOO_LARGE");
    assert.equal(uploadsLeft(small.server.engine.location), before);
    assert.equal((await small.server.engine.stats("a")).memories, 0);
  });

  it("resumes a job its killed server left \"running\" with a fresh heartbeat: waits out the stale window, then ends exact (it failed with E_BUSY)", async () => {
    const other = tempDir();
    try {
      const { all, key, job, db } = await interruptedImport(other.path, 200, "k");
      // What SIGKILL leaves: the engine's job row still "running", its last heartbeat a few seconds old.
      const raw = new Database(db);
      try {
        const touched = raw.prepare("UPDATE jobs SET status = 'running', updated_at = ? WHERE status = 'interrupted'").run(Date.now() - (JOB_STALE_AFTER_MS - 3000)).changes;
        assert.equal(touched, 1);
      } finally {
        raw.close();
      }

      const first = await startServer(other.path);
      try {
        const resumed = await fetch(`${first.url}/v1/imports/${job}/resume`, { method: "POST", headers: bearer(key) });
        assert.equal(resumed.status, 202);
        const end = await readEvents(await fetch(`${first.url}/v1/imports/${job}/events`, { headers: bearer(key) }));
        assert.equal(end.at(-1)?.event, "done", JSON.stringify(end.at(-1)));
        const exported = (await (await fetch(`${first.url}/v1/export`, { headers: bearer(key) })).text()).split("\n").filter(Boolean);
        const texts = new Map(exported.map((line) => JSON.parse(line) as { id: string; text: string }).map((m) => [m.id, m.text]));
        assert.equal(texts.size, all.length);
        for (const record of all) assert.equal(texts.get(record.id), record.text);
      } finally {
        await first.server.close();
      }
    } finally {
      other[Symbol.dispose]();
    }
  });

  it("resumes after a restart a job the shutdown interrupted, ending with every record once and exact", async () => {
    const other = tempDir();
    try {
      const { all, key, job } = await interruptedImport(other.path, 300, "r");

      const first = await startServer(other.path);
      try {
        const status = (await (await fetch(`${first.url}/v1/imports/${job}`, { headers: bearer(key) })).json()) as { status: string; progress: { records: number } };
        assert.equal(status.status, "interrupted");
        assert.ok(status.progress.records > 0 && status.progress.records < all.length, JSON.stringify(status));
        const resumed = await fetch(`${first.url}/v1/imports/${job}/resume`, { method: "POST", headers: bearer(key) });
        assert.equal(resumed.status, 202);
        const end = await readEvents(await fetch(`${first.url}/v1/imports/${job}/events`, { headers: bearer(key) }));
        assert.equal(end.at(-1)?.event, "done", JSON.stringify(end.at(-1)));
        // The job's progress counts every record, the runs before the resume included (it went back to the resumed run's
        // count: hostile trial s61); the report says where the resumed run began, and counts the lines after it.
        const done = (await (await fetch(`${first.url}/v1/imports/${job}`, { headers: bearer(key) })).json()) as { progress: { records: number }; report: { read: number; resumedAfterLine?: number } };
        assert.equal(done.progress.records, all.length, JSON.stringify(done));
        assert.equal(done.report.resumedAfterLine, status.progress.records);
        assert.equal(done.report.read, all.length - status.progress.records);
        const exported = (await (await fetch(`${first.url}/v1/export`, { headers: bearer(key) })).text()).split("\n").filter(Boolean);
        assert.equal(exported.length, all.length);
        const texts = new Map(exported.map((line) => JSON.parse(line) as { id: string; text: string }).map((m) => [m.id, m.text]));
        for (const record of all) assert.equal(texts.get(record.id), record.text);
      } finally {
        await first.server.close();
      }
    } finally {
      other[Symbol.dispose]();
    }
  });
});
