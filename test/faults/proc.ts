import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { CHILD_TIMEOUT_MS, CLI, ROOT } from "../helpers.js";

/** How one CLI process ended. */
export interface CliResult {
  args: string[];
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** True when the harness killed it on purpose (kill -9 at a chosen moment) before it exited. */
  killedByHarness: boolean;
}

export interface CliOptions {
  /** Written to stdin, then closed. */
  input?: string | Buffer;
  /** Send SIGKILL after this many milliseconds (if still running). */
  killAfterMs?: number;
  /** Run under `ulimit -f` (KiB) in a shell that ignores SIGXFSZ, so writes past it fail with EFBIG. */
  fileLimitKiB?: number;
  /** Run as this user and group (the read-only family when the suite runs as root). */
  uid?: number;
  gid?: number;
  env?: Record<string, string>;
}

/** The environment every CLI child gets: no user config, no default store. */
export const CHILD_ENV: Record<string, string | undefined> = { ...process.env, MEMZIP_CONFIG: "/nonexistent/memzip-config.json", MEMZIP_DB: "" };

/** Runs `memzip ARGS` as a real process. */
export function memzip(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const command = options.fileLimitKiB === undefined ? process.execPath : "/bin/sh";
  const argv =
    options.fileLimitKiB === undefined
      ? [CLI, ...args]
      : ["-c", `trap '' XFSZ; ulimit -f ${Math.max(1, Math.floor(options.fileLimitKiB))}; exec "$0" "$@"`, process.execPath, CLI, ...args];
  const child = spawn(command, argv, {
    env: { ...CHILD_ENV, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  child.stdin.on("error", () => undefined);
  child.stdin.end(options.input);
  let killedByHarness = false;
  const timer =
    options.killAfterMs === undefined
      ? undefined
      : setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) {
            killedByHarness = true;
            child.kill("SIGKILL");
          }
        }, options.killAfterMs);
  // Apart from killAfterMs (a kill the case asks for): a child that hangs is killed and fails its case by name.
  let hung = false;
  const hang = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, CHILD_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.once("error", (error) => {
      clearTimeout(hang);
      reject(error);
    });
    child.once("close", (status, signal) => {
      if (timer) clearTimeout(timer);
      clearTimeout(hang);
      if (hung) reject(new Error(`memzip ${args.join(" ")} ran past ${CHILD_TIMEOUT_MS / 1000} s and was killed (a hang?)`));
      else resolve({ args, status, signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8"), killedByHarness });
    });
  });
}

/** The documented exit codes, read from the one place that defines them (src/cli/exit-codes.ts). */
export interface ExitTable {
  byCode: Readonly<Record<string, number>>;
  failuresFound: number;
  internal: number;
}

let exitTable: Promise<ExitTable> | undefined;
export function exitCodes(): Promise<ExitTable> {
  exitTable ??= (async () => {
    const module = (await import(pathToFileURL(join(ROOT, "dist", "src", "cli", "exit-codes.js")).href)) as {
      EXIT_CODES: Record<string, number>;
      EXIT_FAILURES_FOUND: number;
      EXIT_INTERNAL: number;
    };
    return { byCode: module.EXIT_CODES, failuresFound: module.EXIT_FAILURES_FOUND, internal: module.EXIT_INTERNAL };
  })();
  return exitTable;
}

export type ExitClass = "ok" | "failures" | "typed" | "killed" | "crash";

/**
 * ok: exit 0. failures: exit 1 ("ran and found failures", e.g. rejected records). typed: a
 * MemzipError code on stderr whose documented exit code is the one returned. killed: our SIGKILL.
 * crash: anything else — exit 70, another signal, a stack trace, an exit code that does not match
 * the error code printed.
 */
export async function classifyExit(result: CliResult): Promise<{ kind: ExitClass; detail: string }> {
  const table = await exitCodes();
  const where = `memzip ${result.args.slice(0, 2).join(" ")}`;
  if (result.killedByHarness) return { kind: "killed", detail: "" };
  if (result.signal) return { kind: "crash", detail: `${where}: killed by ${result.signal}: ${tail(result.stderr)}` };
  if (/\n\s+at .+:\d+:\d+\)?\n/.test(result.stderr) || /internal error/.test(result.stderr)) {
    return { kind: "crash", detail: `${where}: exit ${result.status}, stack trace: ${tail(result.stderr)}` };
  }
  if (result.status === 0) return { kind: "ok", detail: "" };
  if (result.status === table.failuresFound) return { kind: "failures", detail: tail(result.stderr) };
  const code = /memzip: (E_[A-Z_]+):/.exec(result.stderr)?.[1];
  if (code !== undefined && table.byCode[code] === result.status) return { kind: "typed", detail: `${code}` };
  return { kind: "crash", detail: `${where}: exit ${result.status} (${code ?? "no error code"}): ${tail(result.stderr)}` };
}

function tail(text: string): string {
  const lines = text.trim().split("\n");
  return lines.slice(0, 3).join(" | ").slice(0, 300);
}
