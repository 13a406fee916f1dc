import { guardConfigSchema } from "../core/config";
import { CachedUserDirectory } from "../core/identity/adapters/cached-user-directory";
import type { UserDirectory } from "../core/identity/user-ref";
import { readThroughCache } from "./cache";
import { configFor, once } from "./config";
import { userDirectory } from "./identity";
import { platform } from "./platform";

/** Refs a container keeps in memory (about 100 bytes each). */
const MEMO_ENTRIES = 10_000;

/**
 * `{ref}` resolution for read-heavy routes (position lists, reconciliation, guards): found users
 * are kept in this container for half of USER_REF_CACHE_TTL_SECONDS (no Redis round trip), in front
 * of the shared cache (`user-refs`) that keeps them for the other half (no database query). An
 * answer is at most USER_REF_CACHE_TTL_SECONDS old either way: a deactivated user may still read
 * for that long. Writes keep using runtime/identity.ts' userDirectory(), so a deactivated user
 * cannot write. In its own module so that Postgres-only functions that import
 * runtime/identity.ts do not bundle the Redis client.
 */
export function cachedUserDirectory(): UserDirectory {
  return once(cachedUserDirectory, () => {
    const boundMs = configFor(guardConfigSchema).USER_REF_CACHE_TTL_SECONDS * 1_000;
    const memoMs = Math.floor(boundMs / 2);
    const cache = readThroughCache<string>("user-refs", { ttlMs: boundMs - memoMs, negativeTtlMs: 5_000 });
    return new CachedUserDirectory(userDirectory(), cache, { clock: platform().clock, ttlMs: memoMs, maxEntries: MEMO_ENTRIES });
  });
}
