/**
 * A JSONL import job taken by another server of the same store (its upload in that server's folder) is seen here through
 * the store's job row: its status and its events, followed until it ends; a resume here is 409, naming where it can
 * run (trial of stop 62: every server but the one that took it answered 404).
 */
import { strict as assert } from "node:assert";
import { rmSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, it } from "node:test";
import { uploadFolder } from "../../src/server/upload-folder.js";
import { devCorpus, storeOf, tempDir } from "../helpers.js";
import { bearer, readEvents, startServer } from "./http.js";

const NDJSON = "application/x-ndjson";

describe("an import job another server of the store took", () => {
  it("is seen through the store's job row; resuming it here is 409", { timeout: 120_000 }, async () => {
    using dir = tempDir();
    const records = devCorpus()
      .slice(0, 30)
      .map((record, i) => ({ id: `e-${i}`, text: record.text }));
    const first = await startServer(dir.path);
    let key = "";
    let job = "";
    try {
      key = (await first.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const response = await fetch(`${first.url}/v1/imports?namespace=a`, { method: "POST", headers: bearer(key, { "content-type": NDJSON }), body: records.map((r) => JSON.stringify(r)).join("\n") + "\n" });
      assert.equal(response.status, 202);
      ({ job } = (await response.json()) as { job: string });
      const events = await readEvents(await fetch(`${first.url}/v1/imports/${job}/events`, { headers: bearer(key) }));
      assert.equal(events.at(-1)?.event, "done");
    } finally {
      await first.server.close();
      await first.engine.close();
    }
    // The other server's upload is not in this one's folder (another machine).
    rmSync(join(uploadFolder(first.db), `${job}.jsonl`), { force: true });

    const second = await startServer(dir.path);
    try {
      const get = () => fetch(`${second.url}/v1/imports/${job}`, { headers: bearer(key) });
      const seen = await get();
      assert.equal(seen.status, 200, await seen.clone().text());
      const view = (await seen.json()) as { status: string; namespace: string; progress: { records: number } };
      assert.deepEqual([view.status, view.namespace, view.progress.records], ["done", "a", 30]);

      const rows = storeOf(second.engine).jobs;
      const row = (await second.engine.jobs()).find((candidate) => basename(candidate.source) === `${job}.jsonl`);
      assert.ok(row, "the job's row names its upload");
      await rows.update(row.id, { status: "interrupted" });
      assert.equal(((await (await get()).json()) as { status: string }).status, "interrupted");
      const resume = await fetch(`${second.url}/v1/imports/${job}/resume`, { method: "POST", headers: bearer(key) });
      assert.equal(resume.status, 409);
      const refused = (await resume.json()) as { error: { code: string; message: string; hint: string } };
      assert.equal(refused.error.code, "E_CONFLICT");
      assert.match(refused.error.message, /upload is not on this server: another server of this store took it/);

      // Running there: the events follow the row until it ends.
      await rows.update(row.id, { status: "running" });
      const stream = await fetch(`${second.url}/v1/imports/${job}/events`, { headers: bearer(key) });
      assert.equal(stream.status, 200);
      await rows.update(row.id, { status: "done" });
      const followed = await readEvents(stream);
      assert.equal(followed[0]?.event, "progress");
      assert.equal(followed.at(-1)?.event, "done");
    } finally {
      await second.server.close();
      await second.engine.close();
    }
  });
});
