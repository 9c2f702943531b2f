import { createHash, randomBytes } from "node:crypto";
import { KEY_ROLES, type ApiKeyRecord, type KeyRepository, type KeyRole } from "../core/store.js";
import { ErrorCode, MemzipError } from "../errors.js";
import { NAMESPACE_PATTERN } from "../pipeline/records.js";

/** Every key starts with this, so a leaked one is easy to spot in logs and by secret scanners. */
export const KEY_PREFIX = "mzk_";

/** What a key may do where: the result of authenticating a request. */
export interface KeyScope {
  keyId: string;
  role: KeyRole;
  /** The namespaces the key acts in; `"*"` is every namespace. */
  namespaces: readonly string[] | "*";
}

export interface NewKey {
  /** The secret: shown once, never stored. */
  key: string;
  record: ApiKeyRecord;
}

const ROLE_RANK: Record<KeyRole, number> = { read: 0, write: 1, admin: 2 };
/** Authentications remembered per process (a revocation from another process takes this long at most). */
const CACHE_MS = 2_000;

export function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text, "utf8").digest());
}

/** Whether a scope's role includes `needed` (admin > write > read). */
export function allows(scope: KeyScope, needed: KeyRole): boolean {
  return ROLE_RANK[scope.role] >= ROLE_RANK[needed];
}

/** Whether a scope may see a namespace. */
export function inScope(scope: KeyScope, namespace: string): boolean {
  return scope.namespaces === "*" || scope.namespaces.includes(namespace);
}

/**
 * Checks a new key's role and namespaces before anything is opened or written (`keys create` calls it before it opens
 * the store, so a refused key leaves no new store behind); returns the namespaces without repeats.
 */
export function checkKeyRequest(options: { role: string; namespaces: readonly string[] }): string[] {
  if (!(KEY_ROLES as readonly string[]).includes(options.role)) {
    throw new MemzipError(ErrorCode.USAGE, `unknown role ${JSON.stringify(options.role)}`, { hint: `Use one of ${KEY_ROLES.join(", ")}.` });
  }
  const namespaces = [...new Set(options.namespaces)];
  // The rule every write applies to a namespace: a key for any other name could write memories that no `-n`, export
  // and import could carry (a REST write without a namespace lands in the key's first).
  const refused = namespaces.find((ns) => ns !== "*" && !NAMESPACE_PATTERN.test(ns));
  if (namespaces.length === 0 || refused !== undefined) {
    throw new MemzipError(ErrorCode.USAGE, `${refused === undefined ? "a key needs one or more namespaces" : `${JSON.stringify(refused)} is not a namespace`} (1–128 letters, digits or _ . : @ -; * for all)`, {
      hint: "Pass --namespace NS once per namespace the key may use.",
    });
  }
  if (namespaces.includes("*") && namespaces.length > 1) {
    throw new MemzipError(ErrorCode.USAGE, `* (every namespace) is given with ${namespaces.filter((ns) => ns !== "*").join(", ")}: a key has either all namespaces or the ones named`, {
      hint: "Pass --namespace '*' alone for a key to every namespace, or name each namespace without it.",
    });
  }
  return namespaces;
}

/**
 * API keys: created with a random secret of 192 bits, stored as the secret's sha256 only, checked
 * by hash (no timing leak: the look-up is by the hash of what the caller sent, never by comparing secrets).
 */
export class KeyService {
  private readonly recent = new Map<string, { scope: KeyScope | undefined; at: number }>();

  constructor(private readonly keys: KeyRepository) {}

  async create(options: { role: KeyRole; namespaces: readonly string[]; label?: string }): Promise<NewKey> {
    const namespaces = checkKeyRequest(options);
    const key = `${KEY_PREFIX}${randomBytes(24).toString("base64url")}`;
    const record: ApiKeyRecord = {
      id: `k_${randomBytes(6).toString("hex")}`,
      hash: sha256(key),
      role: options.role,
      namespaces,
      label: options.label ?? null,
      createdAt: Date.now(),
      revokedAt: null,
    };
    await this.keys.put(record);
    return { key, record };
  }

  /** The scope of a presented key, or undefined for an unknown or revoked one. */
  async authenticate(key: string): Promise<KeyScope | undefined> {
    if (!key.startsWith(KEY_PREFIX) || key.length > 200) return undefined;
    const digest = sha256(key);
    const hash = Buffer.from(digest).toString("hex");
    const now = Date.now();
    const cached = this.recent.get(hash);
    if (cached && now - cached.at < CACHE_MS) return cached.scope;
    const record = await this.keys.byHash(digest);
    const scope: KeyScope | undefined =
      record && record.revokedAt === null ? { keyId: record.id, role: record.role, namespaces: record.namespaces.includes("*") ? "*" : record.namespaces } : undefined;
    if (this.recent.size > 10_000) this.recent.clear();
    this.recent.set(hash, { scope, at: now });
    return scope;
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.keys.list();
  }

  async revoke(id: string): Promise<boolean> {
    const revoked = await this.keys.revoke(id, Date.now());
    this.recent.clear();
    return revoked;
  }
}
