import { homedir } from "node:os";
import { join } from "node:path";

/** `MEMZIP_DB`, else `$XDG_DATA_HOME/memzip/memzip.db`, else `~/.local/share/memzip/memzip.db`. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEMZIP_DB) return env.MEMZIP_DB;
  const dataHome = env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(dataHome, "memzip", "memzip.db");
}
