import type { Redis } from "@upstash/redis";
import { lookupConfigSchema, lookupStatsConfigSchema } from "../core/config";
import { HttpLegacyLookup } from "../core/lookups/adapters/http-legacy-lookup";
import { LookupService, defaultLookupOptions } from "../core/lookups/lookup-service";
import type { MappingAdminDeps } from "../core/lookups/mapping-admin";
import { PostgresMappingRepository } from "../core/lookups/adapters/postgres-mapping-repository";
import type { ImportDeps } from "../core/lookups/import";
import type { BreakerStates, LegacyLookup, LookupCache } from "../core/lookups/ports";
import { ResilientLookupCache } from "../core/lookups/resilient-cache";
import { GatedLookupCache, InvalidationGate, defaultGateOptions } from "../core/lookups/invalidation-gate";
import type { InvalidationDeliveryDeps } from "../core/lookups/invalidation";
import { PostgresPendingInvalidations } from "../core/lookups/adapters/postgres-pending-invalidations";
import type { OutboxDeliveryDeps } from "../core/outbox/delivery";
import { PostgresOutbox } from "../core/outbox/adapters/postgres-outbox";
import { LookupStats } from "../core/lookups/stats";
import { UpstashLookupCache } from "../core/lookups/adapters/upstash-lookup-cache";
import { UpstashFleetStatsStore } from "../core/lookups/adapters/upstash-fleet-stats";
import { FleetStatsRecorder, defaultFleetStatsOptions } from "../core/lookups/fleet-stats";
import type { FleetStatsDeps } from "../core/lookups/fleet-stats";
import { redisClient, redisKeys } from "./clients/redis";
import { database, sqlClient } from "./clients/postgres";
import { Database } from "../core/db/database";
import { PostgresMappingImport } from "../core/lookups/adapters/postgres-mapping-import";
import { defaultOutboxOptions } from "../core/outbox/adapters/postgres-outbox";
import { configFor, once } from "./config";
import { createMetrics } from "./metrics";
import { platform } from "./platform";
import { sleep, withTimeout } from "../core/resilience/timeout";

export interface LookupModule {
  readonly service: LookupService;
  readonly admin: MappingAdminDeps;
  readonly stats: LookupStats;
  /** Redis behind its timeout and breaker (its state for stats; the outbox handler delivers through it). */
  readonly cache: ResilientLookupCache;
  /** Which entries reads trust while invalidations are undelivered. */
  readonly gate: InvalidationGate;
  /** How mapping changes deliver the invalidations they owe. */
  readonly invalidations: InvalidationDeliveryDeps;
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

/**
 * The outbox as lookups use it (their invalidation rows). Built here rather than through
 * runtime/outbox.ts, which imports this module lazily for the drain's handlers: a cycle through a
 * dynamic import would make the bundler wrap both and keep code that tree shaking drops now.
 */
/** The outbox of lookup invalidations: mapping writes here and elsewhere (user creation, registration) enqueue them in it. */
export function lookupOutbox(): OutboxDeliveryDeps & { readonly store: PostgresOutbox } {
  return once(lookupOutbox, () => ({ store: new PostgresOutbox(database()), log: platform().logger }));
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
  const repository = new PostgresMappingRepository(database(), { onQuery: () => stats.databaseQuery(), ids });
  const { gate, cache, gated } = guardedCache(options);
  const invalidations: InvalidationDeliveryDeps = { outbox: lookupOutbox(), cache, onUndelivered: (identifiers) => gate.remember(identifiers) };
  const legacy = options.legacy ?? new HttpLegacyLookup({
      baseUrl: config.LEGACY_LOOKUP_URL,
      maxInFlight: config.LEGACY_LOOKUP_MAX_IN_FLIGHT,
      maxBodyBytes: config.LEGACY_LOOKUP_MAX_BODY_BYTES,
    });
  const service = new LookupService({
    repository,
    cache: gated,
    invalidations,
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
  return { service, admin: { repository, invalidations }, repository, stats, cache, gate, invalidations, legacy, metrics, fleet };

  /** Redis with its timeout and breaker, behind the gate of undelivered invalidations. */
  function guardedCache(wiring: LookupWiringOptions) {
    const upstash = new UpstashLookupCache(wiring.redis ?? redisClient(), redisKeys(), ids, Math.max(5_000, 2 * config.LEGACY_LOOKUP_TIMEOUT_MS));
    const resilient: ResilientLookupCache = new ResilientLookupCache(
      upstash,
      {
        timeoutMs: config.LOOKUP_CACHE_TIMEOUT_MS,
        resetTimeoutMs: config.LOOKUP_CACHE_RESET_MS,
        onFailure: () => guard.markSuspect(),
        nowMs: () => clock.now().getTime(),
      },
      stats,
      logger,
    );
    const guard = new InvalidationGate(
      new PostgresPendingInvalidations(lookupOutbox().store),
      () => clock.now().getTime(),
      logger,
      { ...defaultGateOptions, refreshMs: config.LOOKUP_PENDING_CHECK_MS },
    );
    return { gate: guard, cache: resilient, gated: new GatedLookupCache(resilient, guard) };
  }
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
 * Delivery of the lookup invalidation a user creation or registration owes, right after its commit,
 * with one bounded wait on Redis (a row Redis could not take is the drain's). Without the lookup
 * service, legacy client or metrics, which those functions never use.
 */
export function lookupInvalidations(): InvalidationDeliveryDeps {
  return once(lookupInvalidations, () => {
    const cache = new UpstashLookupCache(redisClient(), redisKeys(), platform().ids);
    const timeoutMs = configFor(lookupConfigSchema).LOOKUP_CACHE_TIMEOUT_MS;
    return {
      outbox: lookupOutbox(),
      cache: { invalidateOrThrow: (identifiers) => withTimeout(cache.invalidate(identifiers), timeoutMs, "lookup cache invalidation") },
    };
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
  const { ids } = platform();
  const cache: LookupCache = options.withCache ? new UpstashLookupCache(redisClient(), redisKeys(), ids) : noCache;
  const scratch = new Database(sqlClient(), IMPORT_BUDGET);
  return {
    repository: new PostgresMappingRepository(database(), { ids }),
    store: new PostgresMappingImport(scratch, { messageId: () => ids.uuid(), writerGraceMs: defaultOutboxOptions.writerGraceMs }),
    outbox: lookupOutbox(),
    cache,
    ids,
  };
}

const refuse = () => Promise.reject(new Error("no cache configured"));
const noCache: LookupCache = { getMany: refuse, setMany: refuse, invalidate: refuse, getOrLockFill: refuse, releaseFill: refuse };
