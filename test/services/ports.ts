import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { randomInt } from "node:crypto";

/** The lowest port the OS hands out for outgoing connections and `listen(0)` (Linux's default when unreadable). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Whether `port` can be listened on at 127.0.0.1 now (0: any; resolves the port bound, or undefined). */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port free on 127.0.0.1 now, for a server a test starts (Redis refuses port 0). Drawn below the
 * ephemeral range: there, only another listener can take it, never the local end of some outgoing
 * connection, so a server stopped and started again on it (a Redis outage test) finds it still free.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 20 && low > 10_000; attempt++) {
    const port = await probe(randomInt(10_000, low));
    if (port !== undefined) return port;
  }
  const any = await probe(0);
  if (any === undefined) throw new Error("no TCP port could be listened on at 127.0.0.1");
  return any;
}
