import { homedir } from "node:os";
import { join } from "node:path";

/** `MEMZIP_DB`, else `$XDG_DATA_HOME/memzip/memzip.db`, else `~/.local/share/memzip/memzip.db`. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEMZIP_DB) return env.MEMZIP_DB;
  const dataHome = env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(dataHome, "memzip", "memzip.db");
}

/**
 * Where memzip keeps per-user state that any store may reuse and that can always be rebuilt
 * (derived model states of shipped assets, calibration results): `MEMZIP_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/memzip`, else `~/.cache/memzip`. Nothing here is needed to read a store.
 */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEMZIP_CACHE_DIR) return env.MEMZIP_CACHE_DIR;
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cacheHome, "memzip");
}
