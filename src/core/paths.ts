import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

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
 * Undefined when there is no such place: a relative `$XDG_CACHE_HOME` is ignored (as the XDG
 * spec says), and an empty, relative or unknown home (HOME="", a container's uid without a
 * passwd entry) gives none rather than a folder in the working directory; callers then keep
 * the state in memory.
 */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MEMZIP_CACHE_DIR) return resolve(env.MEMZIP_CACHE_DIR);
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, "memzip");
  const home = homeDir(env);
  return home === undefined ? undefined : join(home, ".cache", "memzip");
}

function homeDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.HOME !== undefined) return isAbsolute(env.HOME) ? env.HOME : undefined;
  try {
    const home = homedir();
    return isAbsolute(home) ? home : undefined;
  } catch {
    return undefined;
  }
}
