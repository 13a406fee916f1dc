import { PostgresPendingTagBumps } from "../core/cache/adapters/postgres-pending-tag-bumps";
import { cacheOutboxHandlers } from "../core/cache/outbox";
import type { PendingInvalidationGate } from "../core/cache/pending-gate";
import type { ReadThroughCache } from "../core/cache/read-through-cache";
import { guardConfigSchema } from "../core/config";
import type { OutboxHandlers } from "../core/outbox/model";
import { pendingGate, readThroughCache, tagInvalidator } from "./cache";
import { configFor, once } from "./config";
import { outbox } from "./outbox";

/**
 * Which cached views a read may serve: none of a user whose tag bump is still owed (a write
 * committed while Redis refused the bump). Each container re-reads the owed bumps at most every
 * VIEWS_PENDING_CHECK_MS, and at once after a cache failure of its own, so a refused bump is
 * honoured everywhere within that bound even though views live VIEWS_CACHE_TTL_MS.
 */
export function viewsGate(): PendingInvalidationGate {
  return once(viewsGate, () => {
    return pendingGate(new PostgresPendingTagBumps(outbox().store), configFor(guardConfigSchema).VIEWS_PENDING_CHECK_MS);
  });
}

/** A view cache (`reconciliation`, `guards`): tagged by user, VIEWS_CACHE_TTL_MS, behind the gate. */
export function viewCache<T>(name: "reconciliation" | "guards"): ReadThroughCache<T> {
  return readThroughCache<T>(name, { ttlMs: configFor(guardConfigSchema).VIEWS_CACHE_TTL_MS }, viewsGate());
}

/** Tag bumps for the views' writers: a bump Redis refused makes this container distrust the tags at once. */
export function viewWriteHandlers(): OutboxHandlers {
  return once(viewWriteHandlers, () => cacheOutboxHandlers(tagInvalidator(), (tags) => viewsGate().remember(tags)));
}
