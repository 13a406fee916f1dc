import type { Redis } from "@upstash/redis";
import { UpstashCacheStore } from "../../../core/cache/adapters/upstash-cache-store";
import { randomIds } from "../../../core/clock";
import type { Identifier } from "../../../core/lookups/identifier";
import { identifierKey } from "../../../core/lookups/identifier";
import { LOOKUP_CACHE, storeInvalidations } from "../../../core/lookups/invalidation";
import type { OwedInvalidationCache } from "../../../core/lookups/invalidation";
import type { LookupResult } from "../../../core/lookups/model";
import type { RedisKeys } from "../../../core/redis/keys";

/** An entry as a fill of the lookups' cache writes it: an answer, or null for "unknown". */
export interface LookupEntry {
  readonly identifier: Identifier;
  readonly value: LookupResult | null;
  readonly ttlSeconds: number;
}

/**
 * The lookups' entries in real Redis, through the core/cache store: seeded as another container's
 * fills would write them, read back, and invalidated as the drain would.
 */
export class LookupRedisCache implements OwedInvalidationCache {
  readonly store: UpstashCacheStore;
  private readonly owed: OwedInvalidationCache;

  constructor(redis: Redis, keys: RedisKeys) {
    this.store = new UpstashCacheStore(redis, keys);
    this.owed = storeInvalidations(this.store, randomIds, { tombstoneMs: 5_000, timeoutMs: 5_000 });
  }

  invalidateOrThrow(identifiers: readonly Identifier[]): Promise<void> {
    return this.owed.invalidateOrThrow(identifiers);
  }

  async setMany(entries: readonly LookupEntry[]): Promise<void> {
    const nowMs = Date.now();
    await this.store.write(LOOKUP_CACHE, {
      tags: [],
      stamp: "@",
      nowMs,
      entries: entries.map(({ identifier, value, ttlSeconds }) => ({
        key: identifierKey(identifier),
        expectedSlot: null,
        entry: { payload: value === null ? "n" : `v${JSON.stringify(value)}`, freshUntilMs: nowMs + ttlSeconds * 1000 },
        keepMs: ttlSeconds * 1000,
      })),
    });
  }

  /** Each identifier's fresh answer (null: "unknown"), undefined when there is none. */
  async getMany(identifiers: readonly Identifier[]): Promise<(LookupResult | null | undefined)[]> {
    const probes = await this.store.probeMany(LOOKUP_CACHE, identifiers.map(identifierKey), Date.now());
    return probes.map(({ fresh }) => (fresh ? (fresh.payload === "n" ? null : (JSON.parse(fresh.payload.slice(1)) as LookupResult)) : undefined));
  }

  /** The tombstone each slot holds (the id of the invalidation that emptied it), else null. */
  async slots(identifiers: readonly Identifier[]): Promise<(string | null)[]> {
    return (await this.store.probeMany(LOOKUP_CACHE, identifiers.map(identifierKey), Date.now())).map((probe) => probe.slot);
  }

  /** Seconds Redis still keeps the entry (as TTL answers). */
  ttl(redis: Redis, keys: RedisKeys, identifier: Identifier): Promise<number> {
    return redis.ttl(keys.cacheEntry(LOOKUP_CACHE, identifierKey(identifier)));
  }
}
