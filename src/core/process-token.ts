import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";

/**
 * Who runs a piece of work, written where another process can read it (an import job's row), so that a process
 * killed with SIGKILL can be told from a live one without waiting for its heartbeat to go stale.
 *
 * Linux only: `linux:<boot id>.<host name>.<pid namespace>.<time namespace>:<pid>:<start time>`, the start time in
 * clock ticks since boot (/proc/PID/stat, field 22), so a pid the kernel gave to a new process is not taken for the
 * old one. A token written on another machine (or a clone with another host name), before a reboot, or in another
 * pid or time namespace (another container) cannot be checked here: such a process counts as alive, and its work is
 * left to the heartbeat. Where /proc does not show this process's own pids, and off Linux, there is no token. Not
 * told apart: machines cloned from one snapshot that keep its boot id and host name.
 */
export function processToken(): string | undefined {
  const here = machine();
  const start = here && readStat("self")?.start;
  return here && start !== undefined ? `linux:${here}:${process.pid}:${start}` : undefined;
}

/**
 * True only when the process a token names is known to have ended: it ran on this machine, since its last boot, in
 * this pid and time namespace, and no process of its pid and start time lives (a zombie counts as ended). Anything
 * that cannot be checked (no token, another machine or container, /proc hidden or not this namespace's) is false.
 */
export function processEnded(token: string | null | undefined): boolean {
  const match = token ? /^linux:([^:]+):(\d+):(\d+)$/.exec(token) : null;
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

/**
 * This machine since its last boot (with its host name: machines cloned from one snapshot share a boot id), this
 * process's pid namespace and time namespace (start times read through /proc are shifted by the reader's boot-time
 * offset), or undefined where /proc does not say — or does not show this process's own pids (a pid namespace without
 * a /proc of its own: /proc/PID there is another namespace's process).
 */
function machine(): string | undefined {
  // Read once: none of it changes while the process runs (a `memzip jobs` checks every running job against it).
  if (thisMachine === null) thisMachine = readMachine();
  return thisMachine;
}
let thisMachine: string | undefined | null = null;

function readMachine(): string | undefined {
  try {
    if (readlinkSync("/proc/self") !== String(process.pid)) return undefined;
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const namespace = (kind: string) => /^\w+:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/ns/${kind}`))?.[1];
    const pids = namespace("pid");
    // Kernels before 5.6 have no time namespaces: one clock for every process.
    let time = "-";
    try {
      time = namespace("time") ?? "";
    } catch {
      // absent: "-"
    }
    const host = hostname().replace(/[^\w.-]/g, "_");
    return boot && pids && time && host && /^[\w-]+$/.test(boot) ? `${boot}.${host}.${pids}.${time}` : undefined;
  } catch {
    return undefined;
  }
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
