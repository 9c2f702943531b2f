import { readFileSync } from "node:fs";

/**
 * CPU time the calling thread (the main thread or a worker) has run, in milliseconds, from
 * Linux's `/proc/thread-self/schedstat` (nanoseconds on a CPU); undefined where there is no such
 * file. Node 20 has no per-thread CPU clock of its own, and `process.cpuUsage()` adds up every
 * thread of the process.
 */
export function threadCpuMs(): number | undefined {
  try {
    const first = readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0];
    const ns = Number(first);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
