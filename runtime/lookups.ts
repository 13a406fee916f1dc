import type { Redis } from "@upstash/redis";
import { lookupConfigSchema, lookupStatsConfigSchema } from "../core/config";
import { HttpLegacyLookup } from "../core/lookups/adapters/http-legacy-lookup";
import { LookupService, defaultLookupOptions } from "../core/lookups/lookup-service";
import type { MappingAdminDeps } from "../core/lookups/mapping-admin";
import { PostgresMappingRepository } from "../core/lookups/adapters/postgres-mapping-repository";
import type { ImportDeps } from "../core/lookups/import";
import type { BreakerStates, LegacyLookup, LookupCache } from "../core/lookups/ports";
import type { LookupInvalidation } from "../core/provisioning/ports";
import { ResilientLookupCache } from "../core/lookups/resilient-cache";
import { LookupStats } from "../core/lookups/stats";
import { UpstashLookupCache } from "../core/lookups/adapters/upstash-lookup-cache";
import { UpstashFleetStatsStore } from "../core/lookups/adapters/upstash-fleet-stats";
import { FleetStatsRecorder, defaultFleetStatsOptions } from "../core/lookups/fleet-stats";
import type { FleetStatsDeps } from "../core/lookups/fleet-stats";
import { redisClient, redisKeys } from "./clients/redis";
import { database, sqlClient } from "./clients/postgres";
import { Database } from "../core/db/database";
import { PostgresMappingImport } from "../core/lookups/adapters/postgres-mapping-import";
import { PostgresOutbox, defaultOutboxOptions } from "../core/outbox/adapters/postgres-outbox";
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
  /** This container's counts on their way to Redis (fleet-wide figures). */
  readonly fleet: FleetStatsRecorder;
}

/** Parts a test may swap (a dead or hanging Redis, a scripted legacy service); the rest is wired as in Lambda. */
export interface LookupWiringOptions {
  readonly redis?: Redis;
  readonly legacy?: LegacyLookup;
}

/** The lookup service of this container: one cache, one breaker pair and one set of stats. */
export function lookups(): LookupModule {
  return once(buildLookups, () => (containerModule = buildLookups()));
}

let containerModule: LookupModule | undefined;

/**
 * Writes this container's pending counts now, if it built the lookup module. In Lambda the stats
 * function has none (its container serves no lookups); on the dev server, where every function
 * shares one process, this makes the figures include the lookups just served.
 */
export async function flushContainerLookupStats(): Promise<void> {
  await containerModule?.fleet.flush();
}

/** What the stats function reads: the per-minute figures in Redis. */
export function lookupFleetStats(): FleetStatsDeps {
  return once(lookupFleetStats, () => ({ store: new UpstashFleetStatsStore(redisClient(), redisKeys()), clock: platform().clock }));
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
  const legacy = options.legacy ?? new HttpLegacyLookup({
      baseUrl: config.LEGACY_LOOKUP_URL,
      maxInFlight: config.LEGACY_LOOKUP_MAX_IN_FLIGHT,
      maxBodyBytes: config.LEGACY_LOOKUP_MAX_BODY_BYTES,
    });
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
  const fleet = fleetRecorder(options.redis ?? redisClient(), () => ({ legacy: legacy.breakerState(), cache: cache.breakerState() }));
  stats.observe((counter) => fleet.record(counter));
  return { service, admin: { repository, cache }, repository, stats, cache, legacy, metrics, fleet };
}

function fleetRecorder(redis: Redis, breakers: () => BreakerStates): FleetStatsRecorder {
  const config = configFor(lookupStatsConfigSchema);
  const { logger, clock, ids } = platform();
  return new FleetStatsRecorder({
    store: new UpstashFleetStatsStore(redis, redisKeys()),
    clock,
    log: logger,
    container: ids.uuid(),
    breakers,
    options: { ...defaultFleetStatsOptions, flushIntervalMs: config.LOOKUP_STATS_FLUSH_INTERVAL_MS, flushTimeoutMs: config.LOOKUP_STATS_FLUSH_TIMEOUT_MS },
  });
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

/** An import's statements work on whole inputs (grouping, checks): a budget for an operator's command, not a request's. */
const IMPORT_BUDGET = { statementTimeoutMs: 30_000, requestTimeoutMs: 60_000 };

/**
 * What the mapping import writes through: its scratch tables and batched writes, the outbox that
 * holds the invalidations they owe, and the cache those are delivered to (its failures are
 * reported to the operator, so no resilient wrapper). A dry run touches no cache.
 */
export function mappingImportDeps(options: { readonly withCache: boolean }): ImportDeps {
  const { ids, logger } = platform();
  const cache: LookupCache = options.withCache ? new UpstashLookupCache(redisClient(), redisKeys(), ids) : noCache;
  const scratch = new Database(sqlClient(), IMPORT_BUDGET);
  return {
    repository: new PostgresMappingRepository(database()),
    store: new PostgresMappingImport(scratch, { messageId: () => ids.uuid(), writerGraceMs: defaultOutboxOptions.writerGraceMs }),
    outbox: { store: new PostgresOutbox(database(), defaultOutboxOptions), log: logger },
    cache,
    ids,
  };
}

const refuse = () => Promise.reject(new Error("no cache configured"));
const noCache: LookupCache = { getMany: refuse, setMany: refuse, invalidate: refuse, getOrLockFill: refuse, releaseFill: refuse };
