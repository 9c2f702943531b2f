/**
 * One process's first write into a new store (the child that `bench/fresh.ts` runs several times):
 * `node dist/bench/first-write.js DB on|off`. Prints one JSON line: the whole process's CPU and the
 * CPU and wall time from opening the store to closing it after one `remember`, the codec it chose,
 * and the bytes left beside the store (`DB.derived/`). The per-user cache is MEMZIP_CACHE_DIR.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../src/engine.js";

const [db, base] = process.argv.slice(2);
if (!db || (base !== "on" && base !== "off")) throw new Error("usage: first-write.js DB on|off");
const cpu = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};
const beside = (path: string): number => {
  try {
    return readdirSync(path).reduce((sum, name) => sum + statSync(join(path, name)).size, 0);
  } catch {
    return 0;
  }
};
const cpuBefore = cpu();
const wallBefore = performance.now();
// "on" is the default (cmBase is on unless turned off).
const engine = Engine.open({ db, ...(base === "off" ? { cmBase: false } : {}), cache: "off", workers: 0 });
const written = await engine.remember({ id: "n1", text: "Met with Sarah about the Q3 roadmap; she wants the search API first, then the dashboard." });
await engine.close();
console.log(
  JSON.stringify({
    codec: written.codec,
    processCpuMs: Math.round(cpu()),
    writeCpuMs: Math.round(cpu() - cpuBefore),
    writeWallMs: Math.round(performance.now() - wallBefore),
    besideStoreBytes: beside(`${db}.derived`),
  }),
);
