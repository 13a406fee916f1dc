import { UpstashCacheStore } from "../core/cache/adapters/upstash-cache-store";
import { cacheOutboxHandlers } from "../core/cache/outbox";
import { PendingInvalidationGate, defaultGateOptions } from "../core/cache/pending-gate";
import type { PendingInvalidations } from "../core/cache/pending-gate";
import type { CacheMetricsSnapshot } from "../core/cache/metrics";
import { ReadThroughCache, defaultReadThroughOptions } from "../core/cache/read-through-cache";
import type { EntryTrust, ReadThroughOptions } from "../core/cache/read-through-cache";
import { TagInvalidator } from "../core/cache/tag-invalidator";
import { cacheConfigSchema } from "../core/config";
import type { OutboxHandlers } from "../core/outbox/model";
import { sleep } from "../core/resilience/timeout";
import { redisClient, redisKeys } from "./clients/redis";
import { configFor, once } from "./config";
import { createMetrics } from "./metrics";
import { platform } from "./platform";

/** The container's cache store (Redis) and tag invalidator, shared by every cache. */
export function cacheStore(): UpstashCacheStore {
  return once(cacheStore, () => new UpstashCacheStore(redisClient(), redisKeys()));
}

export function tagInvalidator(): TagInvalidator {
  return once(tagInvalidator, () => new TagInvalidator(cacheStore(), configFor(cacheConfigSchema).CACHE_STORE_TIMEOUT_MS * 5));
}

/** Cache metrics (CloudWatch EMF); routes that read through a cache flush them (flushMetrics). */
export function cacheMetrics(): ReturnType<typeof createMetrics> {
  return once(cacheMetrics, () => createMetrics(platform().config.SERVICE_NAME));
}

const caches = new Map<string, ReadThroughCache<unknown>>();

/**
 * One named cache per container; the options come from the caller, the timeouts from CACHE_* config;
 * `trust` decides which entries a read may serve (core/cache/pending-gate.ts).
 */
export function readThroughCache<T>(name: string, options: Partial<Omit<ReadThroughOptions, "name">> = {}, trust?: EntryTrust): ReadThroughCache<T> {
  const existing = caches.get(name);
  if (existing) return existing as ReadThroughCache<T>;
  const config = configFor(cacheConfigSchema);
  const { clock, ids, logger } = platform();
  const cache = new ReadThroughCache<T>(
    { store: cacheStore(), invalidator: tagInvalidator(), clock, ids, log: logger, sleep, metrics: cacheMetrics().sink, ...(trust ? { trust } : {}) },
    {
      ...defaultReadThroughOptions,
      storeTimeoutMs: config.CACHE_STORE_TIMEOUT_MS,
      staleIfErrorMs: config.CACHE_STALE_IF_ERROR_SECONDS * 1_000,
      ...options,
      name,
    },
  );
  caches.set(name, cache as ReadThroughCache<unknown>);
  return cache;
}

/**
 * Counts in cacheSnapshots() a cache built with deps readThroughCache() does not give: the lookups'
 * (runtime/lookups.ts: a store a test may swap, the invalidation gate as entry trust, no tag
 * invalidator, the lookup routes' own metrics). The last one registered under a name is counted.
 */
export function registerCache<T>(cache: ReadThroughCache<T>): void {
  caches.set(cache.options.name, cache as ReadThroughCache<unknown>);
}

/** A gate over the invalidations `pending` lists, re-read at most every `refreshMs` (core/cache/pending-gate.ts). */
export function pendingGate(pending: PendingInvalidations, refreshMs: number): PendingInvalidationGate {
  const { clock, logger } = platform();
  return new PendingInvalidationGate(pending, () => clock.now().getTime(), logger, { ...defaultGateOptions, refreshMs });
}

/** Counters of every cache this container built or registered (bench). */
export function cacheSnapshots(): CacheMetricsSnapshot[] {
  return [...caches.values()].map((cache) => cache.metrics.snapshot());
}

/** The outbox topics of core/cache (tag bumps), for runtime/outbox.ts. */
export function cacheOutbox(): OutboxHandlers {
  return cacheOutboxHandlers(tagInvalidator());
}
