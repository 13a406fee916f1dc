import { lookupConfigSchema } from "../core/config";
import { USER_REF_CACHE } from "../core/identity/adapters/cached-user-directory";
import { LOOKUP_CACHE, lookupInvalidationHandlers, storeInvalidations } from "../core/lookups/invalidation";
import type { OwedInvalidationCache } from "../core/lookups/invalidation";
import type { OutboxHandlers } from "../core/outbox/model";
import { cacheStore } from "./cache";
import { configFor, once } from "./config";
import { platform } from "./platform";

/** Longest one delivery waits for Redis in the drain; a hung Redis only postpones the row. */
const DRAIN_INVALIDATION_TIMEOUT_MS = 1_000;

/**
 * No lookup fill outlives the longest lookups function (the batch route's 15 s, infra/lookups.ts):
 * Lambda resets an environment whose invocation timed out. A fill that started after a tombstone
 * may still replace it, so a long-lived tombstone only costs its key's bytes.
 */
const LONGEST_LOOKUP_INVOCATION_MS = 15_000;

/** The caches keyed by identifiers: a mapping change tombstones its identifiers in each. */
export const IDENTIFIER_CACHES = [LOOKUP_CACHE, USER_REF_CACHE] as const;

/** A tombstone outlives the slowest lookup fill (its queries, a legacy call, learning the answer). */
export function lookupTombstoneMs(): number {
  return Math.max(LONGEST_LOOKUP_INVOCATION_MS, 2 * configFor(lookupConfigSchema).LEGACY_LOOKUP_TIMEOUT_MS);
}

/**
 * Lookup invalidations straight to the container's cache store (core/cache), each bounded by
 * `timeoutMs`: for writers without the lookup service (the drain, registration, the import, the sync).
 */
export function lookupStoreInvalidations(timeoutMs: number): OwedInvalidationCache {
  return storeInvalidations(cacheStore(), platform().ids, { tombstoneMs: lookupTombstoneMs(), timeoutMs }, IDENTIFIER_CACHES);
}

/**
 * The outbox handlers of lookups for the drain (runtime/outbox.ts): the invalidations mapping
 * changes owe, straight to Redis with a bounded wait. Kept apart from runtime/lookups.ts so the
 * drain does not carry the lookup service.
 */
export function lookupOutboxHandlers(): OutboxHandlers {
  return once(lookupOutboxHandlers, () => lookupInvalidationHandlers(lookupStoreInvalidations(DRAIN_INVALIDATION_TIMEOUT_MS)));
}
