/**
 * Where a server keeps the uploads of its import jobs until they are done (a JSONL job's file lets a restarted
 * server resume it): `$TMPDIR/memzip-uploads-<uid>/<store>/`, private to the user the server runs as.
 */
import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ErrorCode, MemzipError } from "../errors.js";

/**
 * The upload folder of the store at `location` (a file path or a server URL), made if missing. Each store has its own
 * (a job id of one store's server never finds another store's upload), under a folder of this user's. A folder there
 * that is not a plain folder of this user's (a link, another user's: they could swap an upload before it is imported)
 * is refused; one of this user's that others may enter is made private.
 */
export function uploadFolder(location: string, base: string = tmpdir()): string {
  const uid = process.getuid?.();
  const root = join(base, `memzip-uploads-${uid ?? "user"}`);
  const folder = join(root, createHash("sha256").update(canonical(location)).digest("hex").slice(0, 16));
  for (const path of [root, folder]) {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    const found = lstatSync(path);
    if (!found.isDirectory() || (uid !== undefined && found.uid !== uid)) {
      throw new MemzipError(ErrorCode.RESOURCE, `the upload folder ${path} is not a folder of this user's (uid ${uid}): another user could change an upload there before it is imported`, {
        hint: `Remove ${path} (or start the server with another TMPDIR); the server makes it again, private.`,
      });
    }
    if ((found.mode & 0o077) !== 0) chmodSync(path, 0o700);
  }
  return folder;
}

/** A store file by its real path (however `--db` spelled it: relative, `./`, through a link); a server URL as it is. */
function canonical(location: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  const path = resolve(location);
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
