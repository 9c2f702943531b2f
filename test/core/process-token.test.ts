import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { processEnded, processToken } from "../../src/core/process-token.js";
import { closedWithin, ROOT } from "../helpers.js";

/** The token another process makes for itself: it prints it, then waits until stdin closes or it is killed. */
async function liveProcess(): Promise<{ token: string; kill: () => Promise<void> }> {
  const url = pathToFileURL(join(ROOT, "dist", "src", "core", "process-token.js")).href;
  const script = `const { processToken } = await import(${JSON.stringify(url)});
    process.stdout.write(String(processToken()) + "\\n");
    process.stdin.resume();`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  const closed = closedWithin(child, "the token's process");
  const [line] = (await once(child.stdout, "data")) as [Buffer];
  return {
    token: line.toString().trim(),
    kill: async () => {
      child.kill("SIGKILL");
      await closed;
    },
  };
}

describe("process tokens (who runs an import job)", { skip: process.platform !== "linux" && "tokens are made from /proc" }, () => {
  it("names this process, which has not ended", () => {
    const own = processToken();
    assert.match(own ?? "", /^linux:[\w-]+\.[\w.-]+\.\d+\.(\d+|-):\d+:\d+$/);
    assert.equal(own?.split(":")[2], String(process.pid));
    assert.equal(processEnded(own), false);
  });

  it("tells a killed process from a live one, at once", async () => {
    const other = await liveProcess();
    assert.notEqual(other.token, processToken());
    assert.equal(processEnded(other.token), false, "alive");
    await other.kill();
    assert.equal(processEnded(other.token), true, "killed and reaped");
  });

  it("takes a live pid with another start time for a process that ended (the pid was given again)", () => {
    const [kind, where] = (processToken() as string).split(":") as [string, string];
    const stat = readFileSync(`/proc/${process.ppid}/stat`, "utf8");
    const parentStart = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    assert.ok(Number.isInteger(parentStart), stat);
    assert.equal(processEnded([kind, where, String(process.ppid), String(parentStart)].join(":")), false, "the parent as it is");
    assert.equal(processEnded([kind, where, String(process.ppid), String(parentStart + 1)].join(":")), true);
  });

  it("cannot tell, and so says not ended, for another machine, boot or container, and for no token", () => {
    const [kind, where, pid, start] = (processToken() as string).split(":") as [string, string, string, string];
    // boot id . host name (may hold dots) . pid namespace . time namespace
    const parts = where.split(".");
    const [boot, pids, time, host] = [parts[0] as string, parts.at(-2) as string, parts.at(-1) as string, parts.slice(1, -2).join(".")];
    // A pid no process has (above pid_max), so only the machine part decides.
    const gone = (machine: string) => processEnded([kind, machine, "99999999", start].join(":"));
    assert.equal(gone(where), true, "this machine: ended");
    {
      assert.equal(gone([`${boot}x`, host, pids, time].join(".")), false, "another boot");
      assert.equal(gone([boot, `${host}x`, pids, time].join(".")), false, "another host name");
      assert.equal(gone([boot, host, "1", time].join(".")), false, "another pid namespace");
      assert.equal(gone([boot, host, pids, "1"].join(".")), false, "another time namespace");
    }
    assert.equal(processEnded([kind, where, pid, start].join(":")), false, "this process");
    for (const token of [null, undefined, "", "linux:", "darwin:x:1:2", "linux:a:b:c", "linux:a:1:2:3"]) assert.equal(processEnded(token), false, String(token));
  });
});
