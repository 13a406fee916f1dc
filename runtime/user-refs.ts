import { guardConfigSchema } from "../core/config";
import { CachedUserDirectory } from "../core/identity/adapters/cached-user-directory";
import type { UserDirectory } from "../core/identity/user-ref";
import { readThroughCache } from "./cache";
import { configFor, once } from "./config";
import { userDirectory } from "./identity";

/**
 * `{ref}` resolution through the shared cache (`user-refs`): read-heavy routes (position lists,
 * reconciliation, guards) resolve a known ref without a database query. Writes keep using
 * runtime/identity.ts' userDirectory(), so a deactivated user cannot write; reads may still see
 * one for USER_REF_CACHE_TTL_SECONDS. In its own module so that Postgres-only functions that import
 * runtime/identity.ts do not bundle the Redis client.
 */
export function cachedUserDirectory(): UserDirectory {
  return once(cachedUserDirectory, () => {
    const ttlMs = configFor(guardConfigSchema).USER_REF_CACHE_TTL_SECONDS * 1_000;
    return new CachedUserDirectory(userDirectory(), readThroughCache<string>("user-refs", { ttlMs, negativeTtlMs: 5_000 }));
  });
}
