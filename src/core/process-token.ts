import { readFileSync, readlinkSync } from "node:fs";

/**
 * Who runs a piece of work, written where another process can read it (an import job's row), so that a process
 * killed with SIGKILL can be told from a live one without waiting for its heartbeat to go stale.
 *
 * Linux only: `linux:<boot id>:<pid namespace>:<pid>:<start time>`, the start time in clock ticks since boot
 * (/proc/PID/stat, field 22), so a pid the kernel gave to a new process is not taken for the old one. A token written
 * on another machine, before a reboot, or in another pid namespace (another container) cannot be checked here: such a
 * process counts as alive, and its work is left to the heartbeat. Elsewhere there is no token.
 */
export function processToken(): string | undefined {
  const here = machine();
  const start = here && startTicks("self");
  return here && start !== undefined ? `linux:${here}:${process.pid}:${start}` : undefined;
}

/**
 * True only when the process a token names is known to have ended: it ran on this machine, since its last boot, in
 * this pid namespace, and no process of its pid and start time lives (a zombie counts as ended). Anything that
 * cannot be checked (no token, another machine or container, /proc hidden) is false.
 */
export function processEnded(token: string | null | undefined): boolean {
  const match = token ? /^linux:([^:]+:[^:]+):(\d+):(\d+)$/.exec(token) : null;
  if (!match) return false;
  const [, where, pidText, start] = match as unknown as [string, string, string, string];
  const pid = Number(pidText);
  if (where !== machine() || pid === process.pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: a process of another account has that pid; alive as far as this account can tell, checked below.
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return true;
  }
  const stat = readStat(String(pid));
  // Hidden from this account (hidepid): cannot tell.
  if (stat === undefined) return false;
  return stat.start !== start || stat.state === "Z" || stat.state === "X";
}

/** This machine since its last boot and this process's pid namespace, or undefined where /proc does not say. */
function machine(): string | undefined {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const namespace = /^pid:\[(\d+)\]$/.exec(readlinkSync("/proc/self/ns/pid"))?.[1];
    return boot && namespace && !boot.includes(":") ? `${boot}:${namespace}` : undefined;
  } catch {
    return undefined;
  }
}

function startTicks(pid: string): string | undefined {
  return readStat(pid)?.start;
}

/** The state (field 3) and start time (field 22) of /proc/PID/stat; its second field, the name, may hold spaces and parentheses. */
function readStat(pid: string): { state: string; start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After the name: state is field 3, so start time (field 22) is the 20th from here.
  const state = fields[0];
  const start = fields[19];
  return state && start && /^\d+$/.test(start) ? { state, start } : undefined;
}
