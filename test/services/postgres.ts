import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { spawnBounded } from "../helpers.js";
import { freePort } from "./ports.js";

/**
 * A throwaway PostgreSQL server for one test file: initdb into a temporary folder, a port chosen at
 * run time on 127.0.0.1, unix sockets in the folder, fsync off. As root the server refuses to run,
 * so it runs as the `postgres` user (or `nobody`) with a folder that user owns. `stop()` ends it
 * (`pg_ctl stop -m immediate`) and removes the folder; a process exit does the same if a test forgot.
 */
export interface PostgresService {
  readonly port: number;
  /** A connection string for `database` (trust authentication on loopback: no password). */
  url(database?: string): string;
  /** Creates a new empty database and returns its connection string. */
  createDatabase(prefix?: string): Promise<string>;
  /** Creates a new empty schema (cheaper than a database) and returns a connection string whose search_path is that schema. */
  createSchema(prefix?: string): Promise<string>;
  stop(): Promise<void>;
}

/** The message a test skips with when PostgreSQL is missing (outside CI only). */
export const POSTGRES_MISSING = "PostgreSQL 15 is not installed (Debian: apt-get install postgresql); CI never skips this";

/** The folder holding initdb and postgres, if PostgreSQL is installed. */
export function postgresBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) if (existsSync(join(root, version, "bin", "postgres"))) return join(root, version, "bin");
  const which = spawnBounded("sh", ["-c", "command -v postgres"], { encoding: "utf8" });
  const found = which.stdout.trim();
  return which.status === 0 && found ? join(found, "..") : undefined;
}

/**
 * Starts a server, or returns undefined when PostgreSQL is not installed and `CI` is not set (the
 * caller skips with POSTGRES_MISSING). In CI a missing PostgreSQL is an error.
 */
export async function startPostgres(): Promise<PostgresService | undefined> {
  const bin = postgresBin();
  if (!bin) {
    if (process.env.CI) throw new Error(POSTGRES_MISSING);
    return undefined;
  }
  const root = process.getuid?.() === 0;
  const user = root ? (userExists("postgres") ? "postgres" : "nobody") : undefined;
  const folder = mkdtempSync(join(tmpdir(), "memzip-pg-"));
  const data = join(folder, "data");
  const run = (command: string, args: string[]) => (user ? { command: "runuser", args: ["-u", user, "--", command, ...args] } : { command, args });
  let server: ChildProcess | undefined;
  let stopped = false;
  const stopNow = (): void => {
    if (stopped) return;
    stopped = true;
    if (server && server.exitCode === null) {
      const stop = run(join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "immediate", "-w"]);
      try {
        spawnBounded(stop.command, stop.args, { stdio: "ignore", timeout: 30_000 });
      } catch {
        // pg_ctl hung: the server is killed below either way.
      }
      if (server.exitCode === null) server.kill("SIGKILL");
    }
    rmSync(folder, { recursive: true, force: true });
  };
  // A test process ended by a signal stops its server too (an orphaned postgres would outlive the run).
  const onSignal = (signal: NodeJS.Signals): void => {
    stopNow();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  const forget = (): void => {
    process.removeListener("exit", stopNow);
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  };
  process.once("exit", stopNow);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    if (user) {
      const ids = spawnBounded("id", ["-u", user], { encoding: "utf8" }).stdout.trim();
      const gid = spawnBounded("id", ["-g", user], { encoding: "utf8" }).stdout.trim();
      chownSync(folder, Number(ids), Number(gid));
    }
    const init = run(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C"]);
    const initialised = spawnBounded(init.command, init.args, { encoding: "utf8", timeout: 120_000 });
    if (initialised.status !== 0) throw new Error(`initdb failed: ${initialised.stderr || initialised.stdout}`);
    let port = 0;
    let log = "";
    const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`;
    // A probed port can be taken before postgres binds it (it then exits at once): a few ports are tried.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const start = run(join(bin, "postgres"), [
        "-D", data, "-p", String(port), "-k", folder,
        "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        "-c", "max_connections=200", "-c", "shared_buffers=32MB",
      ]);
      log = "";
      const child = spawn(start.command, start.args, { stdio: ["ignore", "ignore", "pipe"] });
      server = child;
      child.stderr?.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
      if (await acceptsConnections(child, url(), data, () => log)) break;
      if (attempt >= 4) throw new Error(`postgres exited with ${child.exitCode} on ${attempt} ports in turn: ${log}`);
      await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));
    }
    let databases = 0;
    return {
      port,
      url,
      async createDatabase(prefix = "t") {
        const name = `${prefix}_${process.pid}_${databases++}`;
        const admin = new pg.Client({ connectionString: url() });
        await admin.connect();
        try {
          await admin.query(`CREATE DATABASE "${name}"`);
        } finally {
          await admin.end();
        }
        return url(name);
      },
      async createSchema(prefix = "s") {
        const name = `${prefix}_${databases++}`;
        const admin = new pg.Client({ connectionString: url() });
        await admin.connect();
        try {
          await admin.query(`CREATE SCHEMA "${name}"`);
        } finally {
          await admin.end();
        }
        return `${url()}?options=${encodeURIComponent(`-c search_path=${name}`)}`;
      },
      async stop() {
        forget();
        stopNow();
      },
    };
  } catch (error) {
    forget();
    stopNow();
    throw error;
  }
}

/**
 * Waits until the server accepts a connection (true), or it exits first (false: its port was taken; the caller tries
 * another). Bounded: 60 s on a loaded machine.
 */
async function acceptsConnections(server: ChildProcess, url: string, data: string, log: () => string): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) return false;
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      // Another test file's server that holds the port answers too: ours is the one serving our data folder.
      const served = (await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir")).rows[0]?.dir;
      await client.end();
      if (served === data) return true;
      await new Promise<void>((resolve) => (server.exitCode !== null ? resolve() : server.once("exit", () => resolve())));
      return false;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 60 s: ${(error as Error).message}\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function userExists(name: string): boolean {
  return spawnBounded("id", ["-u", name], { stdio: "ignore" }).status === 0;
}

