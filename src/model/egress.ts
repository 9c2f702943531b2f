import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { MemzipError, ErrorCode } from "../errors.js";

/** Host names of cloud metadata services (they hand out credentials to whoever asks from inside). */
const METADATA_HOSTS = new Set(["metadata", "metadata.google.internal", "metadata.goog", "metadata.azure.internal", "instance-data", "instance-data.ec2.internal"]);

/** True for 127.0.0.0/8, ::1 and `localhost` names: traffic that never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = unbracket(hostname).toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = ipv4Of(host);
  if (v4) return v4[0] === 127;
  return host === "::1" || host === "0:0:0:0:0:0:0:1";
}

/**
 * Why an address must not be a backend, or undefined: link-local (169.254.0.0/16, where cloud
 * metadata services answer, and fe80::/10), the IPv6 metadata address fd00:ec2::254, and
 * Alibaba's 100.100.100.200. Checks IP literals, IPv4-mapped IPv6 and the known metadata names.
 */
export function blockedAddress(hostname: string): string | undefined {
  const host = unbracket(hostname).toLowerCase().replace(/\.$/, "");
  if (METADATA_HOSTS.has(host)) return "a cloud metadata service name";
  const v4 = ipv4Of(host);
  if (v4) {
    if (v4[0] === 169 && v4[1] === 254) return "a link-local address (169.254.0.0/16, where cloud metadata services answer)";
    if (v4.join(".") === "100.100.100.200") return "a cloud metadata address";
    return undefined;
  }
  if (isIP(host) === 6) {
    const first = parseInt(host.split(":")[0] || "0", 16);
    if ((first & 0xffc0) === 0xfe80) return "a link-local IPv6 address (fe80::/10)";
    if (host === "fd00:ec2::254") return "a cloud metadata address";
  }
  return undefined;
}

export interface EgressOptions {
  /** The backend's name, for messages. */
  name: string;
  /** Allow link-local and metadata addresses (a backend really served there). Defaults to false. */
  allowLinkLocal?: boolean;
}

/** Validates a backend's base URL: http(s) only, and no metadata or link-local host unless allowed. */
export function checkBackendUrl(url: string, options: EgressOptions): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new MemzipError(ErrorCode.USAGE, `backend ${options.name}: "${url}" is not a URL`, { hint: "Give the backend's base URL, like https://api.example.com.", cause });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new MemzipError(ErrorCode.USAGE, `backend ${options.name}: ${parsed.protocol} URLs are not supported`, { hint: "Use an http:// or https:// URL." });
  }
  if (parsed.username || parsed.password) {
    throw new MemzipError(ErrorCode.USAGE, `backend ${options.name}: the URL carries credentials`, { hint: "Put the key in an environment variable named by apiKeyEnv, not in the URL." });
  }
  if (!options.allowLinkLocal) refuseBlocked(parsed.hostname, options.name);
  return parsed;
}

/**
 * Resolves a host name and refuses it when any address is link-local or a metadata address (a
 * name pointing at 169.254.169.254). IP literals were checked with the URL; a name that does
 * not resolve is left to the request to report.
 */
export async function checkResolvedHost(hostname: string, options: EgressOptions): Promise<void> {
  const host = unbracket(hostname);
  if (options.allowLinkLocal || isIP(host) !== 0 || isLoopbackHost(host)) return;
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch {
    return;
  }
  for (const { address } of addresses) refuseBlocked(address, options.name, host);
}

function refuseBlocked(host: string, name: string, via?: string): void {
  const reason = blockedAddress(host);
  if (!reason) return;
  throw new MemzipError(ErrorCode.USAGE, `backend ${name}: ${via ? `${via} resolves to ${host}, ` : `${host} is `}${reason}; memzip does not send memories there`, {
    hint: `Fix the backend's url, or set allowLinkLocal: true on backend ${name} if a model server really runs at that address.`,
    details: { host, ...(via ? { name: via } : {}) },
  });
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** The four octets of an IPv4 address, dotted or IPv4-mapped IPv6 (::ffff:a.b.c.d or ::ffff:hhhh:hhhh). */
function ipv4Of(host: string): number[] | undefined {
  if (isIP(host) === 4) return host.split(".").map(Number);
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(.+)$/i.exec(host)?.[1];
  if (!mapped) return undefined;
  if (isIP(mapped) === 4) return mapped.split(".").map(Number);
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(mapped);
  if (!hex) return undefined;
  const high = parseInt(hex[1] as string, 16);
  const low = parseInt(hex[2] as string, 16);
  return [high >> 8, high & 255, low >> 8, low & 255];
}
