/**
 * JSON merge patch (RFC 7396) for a memory's meta: the one semantics of `engine.update`, REST
 * `PATCH /v1/memories/:id`, MCP `update_memory` and `memzip update --meta`.
 */

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `target` with `patch` merged in, neither changed: a key set to null is removed, an object merges
 * key by key into the current value (into {} when that is not an object), anything else (a scalar,
 * an array) replaces the current value. A key whose value is `undefined` (a library caller's unset
 * optional field; JSON has no such value) is absent: it changes nothing, as in `remember`'s meta.
 */
export function mergePatch(target: Readonly<Record<string, unknown>>, patch: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    // defineProperty: a key named "__proto__" is stored as a key, never taken as the prototype.
    if (value === undefined) continue;
    if (value === null) delete result[key];
    else Object.defineProperty(result, key, { value: isObject(value) ? mergePatch(isObject(result[key]) ? result[key] : {}, value) : value, enumerable: true, writable: true, configurable: true });
  }
  return result;
}
