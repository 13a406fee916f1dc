import { UpstashLookupCache } from "../core/lookups/adapters/upstash-lookup-cache";
import { lookupInvalidationHandlers } from "../core/lookups/invalidation";
import type { OutboxHandlers } from "../core/outbox/model";
import { withTimeout } from "../core/resilience/timeout";
import { redisClient, redisKeys } from "./clients/redis";
import { once } from "./config";
import { platform } from "./platform";

/** Longest one delivery waits for Redis in the drain; a hung Redis only postpones the row. */
const DRAIN_INVALIDATION_TIMEOUT_MS = 1_000;

/**
 * The outbox handlers of lookups for the drain (runtime/outbox.ts): the invalidations mapping
 * changes owe, straight to Redis with a bounded wait. Kept apart from runtime/lookups.ts so the
 * drain does not carry the lookup service.
 */
export function lookupOutboxHandlers(): OutboxHandlers {
  return once(lookupOutboxHandlers, () => {
    const cache = new UpstashLookupCache(redisClient(), redisKeys(), platform().ids);
    return lookupInvalidationHandlers({
      invalidateOrThrow: (identifiers) => withTimeout(cache.invalidate(identifiers), DRAIN_INVALIDATION_TIMEOUT_MS, "lookup cache invalidation"),
    });
  });
}
