import type { Redis } from "@upstash/redis";
import { lookupConfigSchema } from "../core/config";
import { HttpLegacyLookup } from "../core/lookups/adapters/http-legacy-lookup";
import { LookupService, defaultLookupOptions } from "../core/lookups/lookup-service";
import type { MappingAdminDeps } from "../core/lookups/mapping-admin";
import { PostgresMappingRepository } from "../core/lookups/adapters/postgres-mapping-repository";
import type { ImportDeps } from "../core/lookups/import";
import type { LegacyLookup, LookupCache } from "../core/lookups/ports";
import type { LookupInvalidation } from "../core/provisioning/ports";
import { ResilientLookupCache } from "../core/lookups/resilient-cache";
import { LookupStats } from "../core/lookups/stats";
import { UpstashLookupCache } from "../core/lookups/adapters/upstash-lookup-cache";
import { redisClient, redisKeys } from "./clients/redis";
import { database } from "./clients/postgres";
import { configFor, once } from "./config";
import { createMetrics } from "./metrics";
import { platform } from "./platform";
import { sleep } from "../core/resilience/timeout";

export interface LookupModule {
  readonly service: LookupService;
  readonly admin: MappingAdminDeps;
  readonly stats: LookupStats;
  readonly cache: ResilientLookupCache;
  readonly legacy: LegacyLookup;
  readonly repository: PostgresMappingRepository;
  readonly metrics: ReturnType<typeof createMetrics>["metrics"];
}

/** Parts a test may swap (a dead or hanging Redis, a scripted legacy service); the rest is wired as in Lambda. */
export interface LookupWiringOptions {
  readonly redis?: Redis;
  readonly legacy?: LegacyLookup;
}

/** The lookup service of this container: one cache, one breaker pair and one set of stats. */
export function lookups(): LookupModule {
  return once(buildLookups, () => buildLookups());
}

export function buildLookups(options: LookupWiringOptions = {}): LookupModule {
  const config = configFor(lookupConfigSchema);
  const { logger, clock, ids, config: platformConfig } = platform();
  const { metrics, sink } = createMetrics(platformConfig.SERVICE_NAME);
  const stats = new LookupStats(clock.now(), sink);
  const repository = new PostgresMappingRepository(database(), () => stats.databaseQuery());
  const cache = new ResilientLookupCache(
    new UpstashLookupCache(options.redis ?? redisClient(), redisKeys(), ids, Math.max(5_000, 2 * config.LEGACY_LOOKUP_TIMEOUT_MS)),
    { timeoutMs: config.LOOKUP_CACHE_TIMEOUT_MS },
    stats,
    logger,
  );
  const legacy = options.legacy ?? new HttpLegacyLookup({ baseUrl: config.LEGACY_LOOKUP_URL });
  const service = new LookupService({
    repository,
    cache,
    legacy,
    stats,
    ids,
    log: logger,
    sleep,
    options: {
      ...defaultLookupOptions,
      positiveTtlSeconds: config.LOOKUP_CACHE_TTL_SECONDS,
      negativeTtlSeconds: config.LOOKUP_NEGATIVE_TTL_SECONDS,
      legacyTimeoutMs: config.LEGACY_LOOKUP_TIMEOUT_MS,
      // The lock must outlive the slowest fill, which may include a legacy call.
      fillLockMs: Math.max(defaultLookupOptions.fillLockMs, config.LEGACY_LOOKUP_TIMEOUT_MS + 500),
    },
  });
  return { service, admin: { repository, cache }, repository, stats, cache, legacy, metrics };
}

/**
 * Only the cache's invalidation, for user creation (API and queue worker): the same breaker-guarded
 * cache without the lookup service, legacy client or metrics, which those functions never use.
 */
export function lookupInvalidation(): LookupInvalidation {
  return once(lookupInvalidation, () => {
    const config = configFor(lookupConfigSchema);
    const { logger, clock, ids } = platform();
    const cache = new UpstashLookupCache(redisClient(), redisKeys(), ids);
    return new ResilientLookupCache(cache, { timeoutMs: config.LOOKUP_CACHE_TIMEOUT_MS }, new LookupStats(clock.now()), logger);
  });
}

/**
 * What the mapping import writes through: the repository, and the cache it invalidates (its
 * failures are reported to the operator, so no resilient wrapper). A dry run touches no cache.
 */
export function mappingImportDeps(options: { readonly withCache: boolean }): ImportDeps {
  const { ids } = platform();
  const cache: LookupCache = options.withCache ? new UpstashLookupCache(redisClient(), redisKeys(), ids) : noCache;
  return { repository: new PostgresMappingRepository(database()), cache, ids };
}

const refuse = () => Promise.reject(new Error("no cache configured"));
const noCache: LookupCache = { getMany: refuse, setMany: refuse, invalidate: refuse, getOrLockFill: refuse, releaseFill: refuse };
