import type { CacheStore } from "../cache/ports";
import type { IdGenerator } from "../clock";
import { deliverCommitted } from "../outbox/delivery";
import type { OutboxDeliveryDeps } from "../outbox/delivery";
import type { OutboxHandlers, OutboxMessage } from "../outbox/model";
import { identifierKey, identifierKinds } from "./identifier";
import type { Identifier, IdentifierKind } from "./identifier";
import type { Mapping } from "./model";
import { withTimeout } from "../resilience/timeout";

/**
 * Outbox topic of lookup-cache invalidations. A mapping change writes one row of it in its own
 * transaction (key: the user id; payload: every identifier whose cached answer the change makes
 * wrong, of the old and the new state), so an invalidation that Redis could not take when the
 * change committed is still owed, and delivered by the writer, a recovering container or the drain.
 */
export const LOOKUP_INVALIDATION_TOPIC = "lookups.invalidate";

export interface LookupInvalidationPayload {
  readonly identifiers: readonly Identifier[];
}

/** Every cache entry a mapping can answer for: by user id, by okx uid, by telegram id. */
export function identifiersOf(mapping: Pick<Mapping, "userId" | "telegramId" | "okxUid">): Identifier[] {
  return [
    { kind: "user_id", value: mapping.userId },
    { kind: "telegram_id", value: mapping.telegramId },
    ...(mapping.okxUid ? [{ kind: "okx_uid" as const, value: mapping.okxUid }] : []),
  ];
}

export function uniqueIdentifiers(identifiers: readonly Identifier[]): Identifier[] {
  return [...new Map(identifiers.map((id) => [identifierKey(id), id])).values()];
}

/** The message for a change of one user's mapping (for writers that build rows in the application). */
export function lookupInvalidationMessage(id: string, userId: string, identifiers: readonly Identifier[]): OutboxMessage {
  const payload: LookupInvalidationPayload = { identifiers: uniqueIdentifiers(identifiers) };
  return { id, topic: LOOKUP_INVALIDATION_TOPIC, key: userId, payload: { ...payload } };
}

const isKind = (value: unknown): value is IdentifierKind => identifierKinds.includes(value as IdentifierKind);

/** The identifiers a stored message names; malformed entries are skipped (nothing to invalidate). */
export function identifiersIn(message: Pick<OutboxMessage, "payload">): Identifier[] {
  const list = message.payload.identifiers;
  if (!Array.isArray(list)) return [];
  const identifiers: Identifier[] = [];
  for (const entry of list as unknown[]) {
    if (!entry || typeof entry !== "object") continue;
    const { kind, value } = entry as { kind?: unknown; value?: unknown };
    if (isKind(kind) && typeof value === "string" && value !== "") identifiers.push({ kind, value });
  }
  return identifiers;
}

/** What delivering an invalidation needs from the cache: it resolves only when Redis took it. */
export interface OwedInvalidationCache {
  invalidateOrThrow(identifiers: readonly Identifier[]): Promise<void>;
}

/** The name of the lookups' read-through cache (core/cache); its keys are identifierKey(). */
export const LOOKUP_CACHE = "lookups";

/**
 * Invalidations straight to the cache store, for writers without the lookup service (the outbox
 * drain, the import, the sync, registration): tombstones of every cache keyed by identifiers
 * (`caches`: the lookups' and whatever else runtime/ names), one round trip each, all at once,
 * bounded by `timeoutMs`; it throws unless every cache took them.
 */
export function storeInvalidations(
  store: Pick<CacheStore, "tombstone">,
  ids: IdGenerator,
  bounds: { readonly tombstoneMs: number; readonly timeoutMs: number },
  caches: readonly string[] = [LOOKUP_CACHE],
): OwedInvalidationCache {
  return {
    invalidateOrThrow: async (identifiers) => {
      const keys = identifiers.map(identifierKey);
      const id = ids.uuid();
      const tombstones = Promise.all(caches.map((cache) => store.tombstone(cache, keys, id, bounds.tombstoneMs)));
      await withTimeout(tombstones, bounds.timeoutMs, "lookup cache invalidation");
    },
  };
}

/** The outbox handler of the topic (registered in runtime/outbox.ts). Idempotent: tombstones again. */
export function lookupInvalidationHandlers(cache: OwedInvalidationCache): OutboxHandlers {
  return {
    [LOOKUP_INVALIDATION_TOPIC]: async (message) => {
      const identifiers = identifiersIn(message);
      if (identifiers.length > 0) await cache.invalidateOrThrow(identifiers);
    },
  };
}

export interface InvalidationDeliveryDeps {
  readonly outbox: OutboxDeliveryDeps;
  readonly cache: OwedInvalidationCache;
  /** Told about a message whose delivery failed, so that this container distrusts its entries at once. */
  readonly onUndelivered?: (identifiers: readonly Identifier[]) => void;
}

/**
 * Delivers the invalidation a committed change wrote, right away (write-through). When Redis
 * cannot take it, the row stays for a later delivery and this returns normally: the change is
 * committed, and reads do not trust the cache for those identifiers until the row is delivered.
 * `except`: identifiers the caller is about to write itself (their slot must not be tombstoned now).
 */
export async function deliverInvalidation(
  deps: InvalidationDeliveryDeps,
  message: OutboxMessage | null,
  except: readonly Identifier[] = [],
): Promise<{ readonly delivered: boolean; readonly reason?: string }> {
  if (!message) return { delivered: true };
  const skip = new Set(except.map(identifierKey));
  const outcome = await deliverCommitted(deps.outbox, [message], {
    [LOOKUP_INVALIDATION_TOPIC]: async (delivered) => {
      const identifiers = identifiersIn(delivered).filter((id) => !skip.has(identifierKey(id)));
      if (identifiers.length > 0) await deps.cache.invalidateOrThrow(identifiers);
    },
  });
  const [failure] = outcome.failed;
  if (!failure) return { delivered: true };
  const owed = identifiersIn(message);
  deps.onUndelivered?.(owed);
  // Telegram ids and okx uids are personal: named at debug level only.
  deps.outbox.log.debug("lookup invalidation postponed for", { identifiers: owed.map(identifierKey) });
  return { delivered: false, reason: failure.reason };
}

