import { strict as assert } from "node:assert";
import { request, type IncomingHttpHeaders } from "node:http";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { tempDir } from "../helpers.js";
import { bearer, startServer } from "./http.js";

type ErrorBody = { error: { code: string; message: string } };

/** A HEAD request over a real socket, with the headers exactly as the server sent them (fetch may add or drop some). */
function rawHead(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "HEAD", headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * Read, change, write back: two agents that both read a memory and both write their change must not
 * lose one of them silently. With the tag of their read (HTTP If-Match, MCP ifMatch) the second one
 * is refused (412 / E_PRECONDITION) and nothing of it is written.
 */
describe("conditional updates", () => {
  it("over HTTP: GET gives the tag, PATCH with it applies once, a stale tag is 412 and writes nothing, a malformed one 400", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off" });
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const json = { "content-type": "application/json" };
      const memoryUrl = `${running.url}/v1/memories/plan`;
      const created = await fetch(`${running.url}/v1/memories`, { method: "POST", headers: bearer(key, json), body: JSON.stringify({ id: "plan", text: "Deploy on Tuesday.", meta: { owner: "li" } }) });
      assert.equal(created.status, 201);
      const read = await fetch(memoryUrl, { headers: bearer(key) });
      const tag = read.headers.get("etag");
      assert.ok(tag, "GET answers an ETag");
      assert.equal(((await read.json()) as { etag: string }).etag, tag, "the body's etag is the header's");
      const patch = (ifMatch: string | undefined, body: unknown) =>
        fetch(memoryUrl, { method: "PATCH", headers: bearer(key, { ...json, ...(ifMatch === undefined ? {} : { "if-match": ifMatch }) }), body: JSON.stringify(body) });

      // The first agent writes with the tag it read: applied, and the answer carries the new tag.
      const first = await patch(tag, { text: "Deploy on Wednesday." });
      assert.equal(first.status, 200, await first.clone().text());
      const newTag = first.headers.get("etag");
      assert.ok(newTag && newTag !== tag, "a new text gives a new tag");
      assert.equal(((await first.json()) as { etag: string }).etag, newTag);

      // The second agent read the same version: its write is refused and nothing of it lands.
      const second = await patch(tag, { text: "Deploy on Thursday.", meta: { owner: "wu" } });
      assert.equal(second.status, 412);
      assert.equal(((await second.json()) as ErrorBody).error.code, "E_PRECONDITION");
      const now = (await (await fetch(memoryUrl, { headers: bearer(key) })).json()) as { text: string; meta: Record<string, unknown>; etag: string };
      assert.equal(now.text, "Deploy on Wednesday.");
      assert.deepEqual(now.meta, { owner: "li" });
      assert.equal(now.etag, newTag);

      // A change of meta alone changes the tag too.
      const metaOnly = await patch(newTag, { meta: { reviewed: true } });
      assert.equal(metaOnly.status, 200);
      assert.notEqual(metaOnly.headers.get("etag"), newTag);
      assert.equal((await patch(newTag, { meta: { reviewed: false } })).status, 412);

      // `*` needs only the memory; without If-Match the patch is unconditional, as before.
      assert.equal((await patch("*", { tags: ["deploy"] })).status, 200);
      assert.equal((await patch(undefined, { kind: "doc" })).status, 200);
      // A list, a weak tag or an unquoted value is a malformed header, not a mismatch.
      for (const bad of [`${newTag}, ${newTag}`, `W/${newTag}`, "plain"]) {
        const answer = await patch(bad, { tags: [] });
        assert.equal(answer.status, 400, bad);
        const { error } = (await answer.json()) as ErrorBody;
        assert.equal(error.code, "E_USAGE", bad);
        assert.match(error.message, /if-match: one entity tag in double quotes/, bad);
      }
      // The OpenAPI document names the header where PATCH takes it.
      const openApi = (await (await fetch(`${running.url}/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>> };
      for (const method of ["patch", "delete"]) {
        const operation = openApi.paths["/v1/memories/{id}"]?.[method];
        assert.ok(operation?.parameters?.some((p) => p.name === "if-match" && p.in === "header"), method);
        assert.ok(operation?.responses["412"], method);
      }
      assert.equal(openApi.paths["/v1/memories/{id}"]?.get?.responses["412"], undefined);
      const last = (await (await fetch(memoryUrl, { headers: bearer(key) })).json()) as { text: string; kind: string; tags: string[]; meta: Record<string, unknown> };
      assert.deepEqual([last.text, last.kind, last.tags, last.meta], ["Deploy on Wednesday.", "doc", ["deploy"], { owner: "li", reviewed: true }]);
      // List items carry the same tag as a read of the memory.
      const listed = (await (await fetch(`${running.url}/v1/memories`, { headers: bearer(key) })).json()) as { items: { id: string; etag: string }[] };
      const current = (await fetch(memoryUrl, { headers: bearer(key) })).headers.get("etag") as string;
      assert.equal(listed.items.find((item) => item.id === "plan")?.etag, current);

      // DELETE with a stale tag deletes nothing (412); with the current one it deletes.
      const remove = (ifMatch: string) => fetch(memoryUrl, { method: "DELETE", headers: bearer(key, { "if-match": ifMatch }) });
      const staleDelete = await remove(newTag);
      assert.equal(staleDelete.status, 412);
      const refusal = ((await staleDelete.json()) as ErrorBody).error;
      assert.equal(refusal.code, "E_PRECONDITION");
      assert.match(refusal.message, /nothing was deleted$/);
      assert.equal((await fetch(memoryUrl, { headers: bearer(key) })).status, 200, "still there");
      assert.equal((await remove("W/" + current)).status, 400);
      assert.equal((await remove(current)).status, 204);
      assert.equal((await fetch(memoryUrl, { headers: bearer(key) })).status, 404);
    } finally {
      await running.server.close();
    }
  });

  it("over HTTP: GET with If-None-Match naming the memory's tag is 304 with no body; a changed memory, another tag or another mode answers in full", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off" });
    try {
      const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
      const json = { "content-type": "application/json" };
      const memoryUrl = `${running.url}/v1/memories/note`;
      assert.equal((await fetch(`${running.url}/v1/memories`, { method: "POST", headers: bearer(key, json), body: JSON.stringify({ id: "note", text: "Rotate the keys monthly." }) })).status, 201);
      const get = (ifNoneMatch: string, query = "") => fetch(`${memoryUrl}${query}`, { headers: bearer(key, { "if-none-match": ifNoneMatch }) });
      const tag = (await fetch(memoryUrl, { headers: bearer(key) })).headers.get("etag") as string;
      assert.ok(tag);

      for (const current of [tag, `W/${tag}`, `"other", ${tag}`, "*"]) {
        const answer = await get(current);
        assert.equal(answer.status, 304, current);
        assert.equal(await answer.text(), "", `${current}: no body`);
        assert.equal(answer.headers.get("etag"), tag, `${current}: the tag comes with it`);
      }
      // HEAD answers the same, without a Content-Length (a 304's may only be the full answer's, RFC 9110 8.6).
      const head = await rawHead(memoryUrl, { authorization: `Bearer ${key}`, "if-none-match": tag });
      assert.equal(head.status, 304);
      assert.equal(head.headers.etag, tag);
      assert.equal(head.headers["content-length"], undefined, "no content-length on a 304");
      const fullHead = await rawHead(memoryUrl, { authorization: `Bearer ${key}` });
      assert.equal(fullHead.status, 200);
      assert.ok(Number(fullHead.headers["content-length"]) > 0, "a 200 HEAD keeps its length");
      const other = await get(`"m${"x".repeat(22)}"`);
      assert.equal(other.status, 200);
      assert.equal(((await other.json()) as { text: string }).text, "Rotate the keys monthly.");
      // The other modes answer in full whatever the tag: a summary can change while the memory keeps its tag.
      assert.notEqual((await get(tag, "?mode=summary")).status, 304);

      // Changed since: the old tag gets the new text and the new tag.
      const patched = await fetch(memoryUrl, { method: "PATCH", headers: bearer(key, json), body: JSON.stringify({ text: "Rotate the keys weekly." }) });
      assert.equal(patched.status, 200);
      const changed = await get(tag);
      assert.equal(changed.status, 200);
      assert.equal(changed.headers.get("etag"), patched.headers.get("etag"));
      assert.equal(((await changed.json()) as { text: string }).text, "Rotate the keys weekly.");

      // A write with If-None-Match: * asks for it only where nothing exists: refused (412), nothing written or deleted (it
      // was ignored and the PATCH applied: hostile trial s61); a tag list there is not supported (400).
      const patchedTag = patched.headers.get("etag") as string;
      const starPatch = await fetch(memoryUrl, { method: "PATCH", headers: bearer(key, { ...json, "if-none-match": "*" }), body: JSON.stringify({ text: "Never rotate." }) });
      assert.equal(starPatch.status, 412);
      assert.equal(((await starPatch.json()) as ErrorBody).error.code, "E_PRECONDITION");
      assert.equal((await fetch(memoryUrl, { method: "DELETE", headers: bearer(key, { "if-none-match": "*" }) })).status, 412);
      assert.equal((await fetch(memoryUrl, { method: "PATCH", headers: bearer(key, { ...json, "if-none-match": patchedTag }), body: JSON.stringify({ text: "Never rotate." }) })).status, 400);
      const still = await fetch(memoryUrl, { headers: bearer(key) });
      assert.equal(still.headers.get("etag"), patchedTag);
      assert.equal(((await still.json()) as { text: string }).text, "Rotate the keys weekly.");
      assert.equal((await fetch(`${running.url}/v1/memories/nobody`, { method: "DELETE", headers: bearer(key, { "if-none-match": "*" }) })).status, 404);

      // Read leniently (RFC 9110): empty list elements are skipped; a value that names no tag is a full answer, not a 400.
      const newTag = changed.headers.get("etag") as string;
      assert.equal((await get(`"x",, ${newTag}`)).status, 304);
      assert.equal((await get("plain")).status, 200);
      // A memory out of the key's scope stays 404.
      const outsider = (await running.engine.keys.create({ role: "read", namespaces: ["b"] })).key;
      assert.equal((await fetch(memoryUrl, { headers: bearer(outsider, { "if-none-match": "*" }) })).status, 404);

      const openApi = (await (await fetch(`${running.url}/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>> };
      const read = openApi.paths["/v1/memories/{id}"]?.get;
      assert.ok(read?.parameters?.some((p) => p.name === "if-none-match" && p.in === "header"));
      assert.ok(read?.responses["304"]);
      assert.equal(openApi.paths["/v1/memories/{id}"]?.patch?.responses["304"], undefined);
    } finally {
      await running.server.close();
    }
  });

  it("over MCP: recall gives the tag, update_memory with a stale ifMatch is the tool error E_PRECONDITION and writes nothing", async () => {
    using dir = tempDir();
    const running = await startServer(dir.path, { logLevel: "silent" }, { cache: "off" });
    const key = (await running.engine.keys.create({ role: "write", namespaces: ["a"] })).key;
    const mcp = new Client({ name: "memzip-test", version: "1" });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${running.url}/mcp`), { requestInit: { headers: bearer(key) } }));
    try {
      const call = async (name: string, args: Record<string, unknown>) => (await mcp.callTool({ name, arguments: args })) as CallToolResult;
      const structured = (result: CallToolResult) => {
        assert.notEqual(result.isError, true, JSON.stringify(result.content));
        return result.structuredContent as Record<string, unknown>;
      };
      structured(await call("remember", { id: "todo", text: "Buy oat milk." }));
      const tag = structured(await call("recall", { id: "todo" })).etag as string;
      assert.equal(typeof tag, "string");
      const updated = structured(await call("update_memory", { id: "todo", text: "Buy oat milk and coffee.", ifMatch: tag }));
      assert.equal(updated.status, "updated");
      assert.notEqual(updated.etag, tag);
      assert.equal(structured(await call("recall", { id: "todo" })).etag, updated.etag, "update's etag is what a recall gives next");

      const stale = await call("update_memory", { id: "todo", text: "Buy tea.", ifMatch: tag });
      assert.equal(stale.isError, true);
      const first = stale.content[0];
      assert.ok(first && first.type === "text" && first.text.startsWith("E_PRECONDITION:"), JSON.stringify(stale.content));
      assert.equal(structured(await call("recall", { id: "todo" })).text, "Buy oat milk and coffee.");

      const staleForget = await call("forget", { id: "todo", ifMatch: tag });
      assert.equal(staleForget.isError, true);
      assert.match(JSON.stringify(staleForget.content), /E_PRECONDITION: .*nothing was deleted/);
      assert.equal(structured(await call("recall", { id: "todo" })).etag, updated.etag, "not forgotten");
      assert.equal(structured(await call("forget", { id: "todo", ifMatch: updated.etag })).forgotten, true);
      assert.equal((await call("recall", { id: "todo" })).isError, true);
    } finally {
      await mcp.close();
      await running.server.close();
    }
  });
});
