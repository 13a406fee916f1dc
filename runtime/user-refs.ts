import { guardConfigSchema } from "../core/config";
import { CachedUserDirectory, USER_REF_CACHE } from "../core/identity/adapters/cached-user-directory";
import type { UserDirectory } from "../core/identity/user-ref";
import { PostgresPendingInvalidations } from "../core/lookups/adapters/postgres-pending-invalidations";
import { PostgresOutbox } from "../core/outbox/adapters/postgres-outbox";
import { pendingGate, readThroughCache } from "./cache";
import { database } from "./clients/postgres";
import { configFor, once } from "./config";
import { userDirectory } from "./identity";
import { platform } from "./platform";

/** Refs a container keeps in memory (about 100 bytes each). */
const MEMO_ENTRIES = 10_000;

/**
 * `{ref}` resolution for read-heavy routes (position lists, reconciliation, guards): found users
 * are kept in this container for USER_REF_MEMO_SECONDS (no Redis round trip), in front of the
 * shared cache (`user-refs`, no database query) that every mapping change invalidates at once (and,
 * when Redis refused that, the gate within VIEWS_PENDING_CHECK_MS). A deactivated user may still
 * read for USER_REF_MEMO_SECONDS. Writes keep using runtime/identity.ts' userDirectory(), so a
 * deactivated user cannot write. In its own module so that Postgres-only functions that import
 * runtime/identity.ts do not bundle the Redis client.
 */
export function cachedUserDirectory(): UserDirectory {
  return once(cachedUserDirectory, () => {
    const config = configFor(guardConfigSchema);
    const { clock } = platform();
    // The lookups' outbox topic names the identifiers a mapping change owes an invalidation. The
    // outbox store is built here rather than taken from runtime/lookups.ts or runtime/outbox.ts,
    // which would bring the lookup service or every topic's handlers into the position functions.
    const gate = pendingGate(new PostgresPendingInvalidations(new PostgresOutbox(database())), config.VIEWS_PENDING_CHECK_MS);
    const cache = readThroughCache<string>(USER_REF_CACHE, { ttlMs: config.USER_REF_CACHE_TTL_SECONDS * 1_000, negativeTtlMs: 5_000 }, gate);
    const memo = config.USER_REF_MEMO_SECONDS > 0 ? { clock, ttlMs: config.USER_REF_MEMO_SECONDS * 1_000, maxEntries: MEMO_ENTRIES } : undefined;
    return new CachedUserDirectory(userDirectory(), cache, memo);
  });
}
