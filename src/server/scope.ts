import type { Engine, KeyScope } from "../engine.js";
import { ErrorCode, isMemzipError, MemzipError } from "../errors.js";
import { HttpError } from "./errors.js";

/**
 * The tenancy rule of every route: a key acts only inside its namespaces, and whatever lies outside
 * them answers exactly as something missing (404 with the same message), never 403.
 */

/** The scope of an authenticated route (the onRequest hook sets it on every non-public route). */
export function scopeOf(scope: KeyScope | undefined): KeyScope {
  if (!scope) throw new HttpError(401, "E_UNAUTHORIZED", "missing or unknown API key", "Send `Authorization: Bearer KEY` with a key from `memzip keys create`.");
  return scope;
}

/** The one answer for a memory that is missing or outside the key's namespaces. */
export function memoryNotFound(id: string): MemzipError {
  return new MemzipError(ErrorCode.NOT_FOUND, `no memory with id ${JSON.stringify(id)}`, { hint: "List the ids this key can see with GET /v1/memories." });
}

/** The one answer for a namespace that is missing or outside the key's namespaces. */
export function namespaceNotFound(namespace: string): MemzipError {
  return new MemzipError(ErrorCode.NOT_FOUND, `no namespace ${JSON.stringify(namespace)}`, { hint: "Use a namespace your key was created for (memzip keys ls)." });
}

function inScope(scope: KeyScope, namespace: string): boolean {
  return scope.namespaces === "*" || scope.namespaces.includes(namespace);
}

/**
 * The namespace a write (or an admin action) goes to: the one named, if the key may use it (else
 * 404), or the key's only namespace. A key with several namespaces, or all, must name one.
 */
export function targetNamespace(scope: KeyScope, requested: string | undefined): string {
  if (requested !== undefined) {
    if (!inScope(scope, requested)) throw namespaceNotFound(requested);
    return requested;
  }
  if (scope.namespaces !== "*" && scope.namespaces.length === 1) return scope.namespaces[0] as string;
  const named = scope.namespaces === "*" ? "any namespace" : scope.namespaces.map((ns) => JSON.stringify(ns)).join(", ");
  throw new MemzipError(ErrorCode.USAGE, `this key acts in ${named}: name the namespace`, {
    hint: `Pass "namespace" in the body (or ?namespace= in the query): ${scope.namespaces === "*" ? "any namespace (1–128 letters, digits or _ . : @ -)" : `one of ${named}`}.`,
  });
}

/** The namespaces a read looks in: the one named (none when outside the scope), the key's, or undefined for every one. */
export function readNamespaces(scope: KeyScope, requested: string | undefined): string[] | undefined {
  if (requested !== undefined) return inScope(scope, requested) ? [requested] : [];
  return scope.namespaces === "*" ? undefined : [...scope.namespaces];
}

/**
 * The namespace holding memory `id` for this key: the one named (404 outside the scope), else the
 * key's namespaces are searched. Missing and out of scope answer the same 404. With a single
 * candidate namespace the id is not checked here: callers wrap their engine call in `onMemory`.
 */
export async function locateMemory(engine: Engine, scope: KeyScope, id: string, requested: string | undefined): Promise<string> {
  const candidates = readNamespaces(scope, requested);
  if (candidates?.length === 0) throw memoryNotFound(id);
  // One namespace: no look-up here; the caller's engine call answers a missing id (through `onMemory`).
  if (candidates?.length === 1) return candidates[0] as string;
  try {
    if (candidates === undefined) return await engine.locate(id);
    const found: string[] = [];
    for (const namespace of candidates) {
      try {
        found.push(await engine.locate(id, namespace));
      } catch (error) {
        if (!isMemzipError(error, ErrorCode.NOT_FOUND)) throw error;
      }
    }
    if (found.length === 0) throw memoryNotFound(id);
    if (found.length > 1) {
      throw new MemzipError(ErrorCode.USAGE, `memory ${JSON.stringify(id)} exists in several of this key's namespaces: ${found.join(", ")}`, {
        hint: `Name one with ?namespace=, e.g. ?namespace=${encodeURIComponent(found[0] as string)}.`,
      });
    }
    return found[0] as string;
  } catch (error) {
    if (isMemzipError(error, ErrorCode.USAGE)) throw inSeveral(error, (ns) => `?namespace=${encodeURIComponent(ns)}`);
    throw isMemzipError(error, ErrorCode.NOT_FOUND) ? memoryNotFound(id) : error;
  }
}

/**
 * The engine's "exists in several namespaces" (a key or connection for every namespace) with the fix a client can use:
 * the engine's names the CLI's flag. Any other usage error is returned as it is.
 */
export function inSeveral(error: MemzipError, naming: (namespace: string) => string): MemzipError {
  const held = (error.details as { namespaces?: unknown } | undefined)?.namespaces;
  if (!Array.isArray(held) || typeof held[0] !== "string") return error;
  return new MemzipError(ErrorCode.USAGE, error.message, { hint: `Name one, e.g. ${naming(held[0])}.`, ...(error.details ? { details: error.details } : {}) });
}

/** Runs an engine call on a memory the key may see, answering any E_NOT_FOUND as the uniform 404. */
export async function onMemory<T>(id: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw isMemzipError(error, ErrorCode.NOT_FOUND) ? memoryNotFound(id) : error;
  }
}
