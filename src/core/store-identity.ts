/**
 * Which store a location names, as every process that can reach that store names it: what the import queue and the
 * Redis cache tier are keyed by, so that processes of one store meet there and processes of two stores never do.
 */
import { statSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";

/** Host names and addresses that reach the machine a process runs on, not a shared server. */
const THIS_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[?::1\]?|0\.0\.0\.0|\[?::\]?)$/i;

/**
 * A file path is a store of this host (the same path on two machines is two stores): qualified by the host name. A
 * connection string is the same for every process sharing that server, unless it reaches the process's own machine
 * (`localhost`, a loopback address, a unix socket): then it too is qualified by the host name (two machines with
 * `postgres://…@localhost/memzip` are two stores).
 */
export function storeIdentity(location: string, host: string = hostname()): string {
  if (!location.includes("://")) return `file:${host}:${resolve(location)}`;
  return reachesOwnHost(location) ? `${host}|${location}` : location;
}

function reachesOwnHost(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const socket = parsed.searchParams.get("host");
  if (socket !== null) return socket.startsWith("/") || THIS_HOST.test(socket);
  return parsed.hostname === "" || THIS_HOST.test(parsed.hostname);
}

/**
 * The store file itself (device and inode), where `location` is a file that exists: a chunk queued for one file and
 * taken by a worker of another at the same path (a host of the same name, a container with the same mount) is refused,
 * not written into the wrong store.
 */
export function storeFileMark(location: string): string | undefined {
  if (location.includes("://") || location === ":memory:") return undefined;
  try {
    const stat = statSync(location, { bigint: true });
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}
