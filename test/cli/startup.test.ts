import { strict as assert } from "node:assert";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT, spawnBounded } from "../helpers.js";

/**
 * What a command's start loads: the CLI's command modules are all imported at start, so a module
 * one command needs must not be imported at the top of the others (a queued import's producer, on
 * the workers' cores, pays every module it loads). The server (fastify), the MCP SDK (it brings
 * ajv) and pg are loaded by the commands that use them, when they run.
 */
describe("CLI start-up", () => {
  it("loading every command loads neither the server, the MCP SDK nor pg", () => {
    const commands = join(ROOT, "dist", "src", "cli", "commands", "index.js");
    // CommonJS packages imported from ESM land in the shared require cache; the MCP SDK is ESM but
    // loads ajv (CommonJS) at its import.
    const script = `
      await import(${JSON.stringify(commands)});
      const { createRequire } = await import("node:module");
      process.stdout.write(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
    const result = spawnBounded(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: ROOT });
    assert.equal(result.status, 0, result.stderr);
    const loaded = JSON.parse(result.stdout) as string[];
    const packages = (name: string) => loaded.filter((path) => path.includes(`/node_modules/${name}/`));
    // The check itself: the command modules did load CommonJS packages (bullmq, better-sqlite3).
    assert.ok(packages("bullmq").length > 0 && packages("better-sqlite3").length > 0, "the require cache shows no package at all");
    for (const name of ["fastify", "ajv", "pg", "prom-client"]) assert.deepEqual(packages(name), [], `${name} is loaded at every command's start`);
  });
});
