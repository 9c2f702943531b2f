import { strict as assert } from "node:assert";
import { get as httpGet, type IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { memoriesFromArrow } from "../../src/pipeline/arrow.js";
import { devCorpus, tempDir } from "../helpers.js";
import { bearer, startServer } from "./http.js";

/** A GET over node:http, which hands over the trailers (fetch does not); a connection cut short is reported, not thrown. */
function getRaw(url: string, key: string): Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer; trailers: NodeJS.Dict<string>; complete: boolean }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers: bearer(key) }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      const done = () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), trailers: response.trailers, complete: response.complete });
      response.on("end", done);
      response.on("error", done);
      response.on("aborted", done);
    }).on("error", reject);
  });
}

describe("GET /v1/export of a store with a memory that cannot be read back", () => {
  it("ends a plain export early; skipBad=true leaves it out, exports the rest exactly and counts it in trailers (JSONL) or headers (Arrow) and the log", async () => {
    using dir = tempDir();
    const records = devCorpus()
      .slice(0, 40)
      .map((record, i) => ({ id: `m-${i}`, text: record.text }));
    const running = await startServer(dir.path, {}, { batchSize: 40, seal: false });
    try {
      const key = (await running.engine.keys.create({ role: "read", namespaces: ["a"] })).key;
      await running.engine.rememberMany(records.map((r) => ({ ...r, namespace: "a" })));
      // A misdirected envelope: m-7 holds m-3's bytes, so it decodes to the wrong text and fails its checksum.
      const raw = new Database(running.db);
      try {
        assert.equal(raw.prepare("UPDATE memories SET envelope = (SELECT envelope FROM memories WHERE id = 'm-3') WHERE id = 'm-7'").run().changes, 1);
      } finally {
        raw.close();
      }
      const bad = "m-7";
      const good = records.filter((r) => r.id !== bad);

      const plain = await getRaw(`${running.url}/v1/export`, key);
      assert.equal(plain.status, 200);
      assert.equal(plain.complete, false, "the body is cut short, not ended as if whole");
      assert.equal(plain.trailers["memzip-skipped"], undefined);
      assert.ok(!plain.body.toString("utf8").includes(`"id":"${bad}"`));

      const skipping = await getRaw(`${running.url}/v1/export?skipBad=true`, key);
      assert.equal(skipping.status, 200);
      assert.equal(skipping.complete, true);
      const lines = skipping.body.toString("utf8").trim().split("\n").map((line) => JSON.parse(line) as { id: string; text: string });
      assert.deepEqual(lines.map((l) => [l.id, l.text]), good.map((r) => [r.id, r.text]));
      assert.deepEqual([skipping.trailers["memzip-skipped"], skipping.trailers["memzip-skipped-memories"]], ["1", "1"]);
      assert.ok(running.logs.some((line) => line.includes("export skipped") && line.includes(`"id":"${bad}"`) && line.includes("E_CHECKSUM")), "the log names it");

      const arrow = await getRaw(`${running.url}/v1/export?format=arrow&skipBad=true`, key);
      assert.equal(arrow.status, 200);
      assert.deepEqual([arrow.headers["memzip-skipped"], arrow.headers["memzip-skipped-memories"]], ["1", "1"]);
      const rows = [...memoriesFromArrow(new Uint8Array(arrow.body))].map((item) => ("record" in item ? [item.record.id, item.record.text] : ["not a record"]));
      assert.deepEqual(rows, good.map((r) => [r.id, r.text]));
      const arrowPlain = await getRaw(`${running.url}/v1/export?format=arrow`, key);
      assert.equal(arrowPlain.status, 500);
      assert.match(arrowPlain.body.toString("utf8"), /E_CHECKSUM/);

      // A clean export with skipBad says so: 0 skipped.
      const clean = await getRaw(`${running.url}/v1/export?skipBad=1&kind=chat`, key);
      assert.deepEqual([clean.status, clean.body.length, clean.trailers["memzip-skipped"]], [200, 0, "0"]);
      assert.equal((await getRaw(`${running.url}/v1/export?skipBad=maybe`, key)).status, 400);
    } finally {
      await running.server.close();
    }
  });
});
