import type { Redis } from "@upstash/redis";
import { lookupConfigSchema, lookupStatsConfigSchema } from "../core/config";
import { HttpLegacyLookup } from "../core/lookups/adapters/http-legacy-lookup";
import { LookupService, defaultLookupCacheOptions, defaultLookupOptions } from "../core/lookups/lookup-service";
import type { LookupValue } from "../core/lookups/lookup-service";
import { ReadThroughCache } from "../core/cache/read-through-cache";
import { sleep } from "../core/resilience/timeout";
import { UpstashCacheStore } from "../core/cache/adapters/upstash-cache-store";
import type { MappingAdminDeps } from "../core/lookups/mapping-admin";
import { PostgresMappingRepository } from "../core/lookups/adapters/postgres-mapping-repository";
import type { ImportDeps } from "../core/lookups/import";
import type { BreakerStates, LegacyLookup } from "../core/lookups/ports";
import type { PendingInvalidationGate } from "../core/cache/pending-gate";
import { identifierKey } from "../core/lookups/identifier";
import { storeInvalidations } from "../core/lookups/invalidation";
import type { InvalidationDeliveryDeps, OwedInvalidationCache } from "../core/lookups/invalidation";
import { USER_REF_CACHE } from "../core/identity/adapters/cached-user-directory";
import { PostgresPendingInvalidations } from "../core/lookups/adapters/postgres-pending-invalidations";
import type { OutboxDeliveryDeps } from "../core/outbox/delivery";
import { PostgresOutbox } from "../core/outbox/adapters/postgres-outbox";
import { LookupStats } from "../core/lookups/stats";
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
import { lookupStoreInvalidations, lookupTombstoneMs } from "./lookup-invalidations";
import { pendingGate, registerCache } from "./cache";

export interface LookupModule {
  readonly service: LookupService;
  readonly admin: MappingAdminDeps;
  readonly stats: LookupStats;
  /** The lookups' read-through cache (core/cache): Redis behind its timeout and breaker (its state for stats). */
  readonly cache: ReadThroughCache<LookupValue>;
  /** Which entries reads trust while invalidations are undelivered. */
  readonly gate: PendingInvalidationGate;
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

/** The lookup service of this container: one cache (counted in cacheSnapshots()), one breaker pair and one set of stats. */
export function lookups(): LookupModule {
  return once(buildLookups, () => {
    containerModule = buildLookups();
    registerCache(containerModule.cache);
    return containerModule;
  });
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
  const gate = pendingGate(new PostgresPendingInvalidations(lookupOutbox().store), config.LOOKUP_PENDING_CHECK_MS);
  // The lookups' own store: a test may give its module a dead or hanging Redis.
  const store = new UpstashCacheStore(options.redis ?? redisClient(), redisKeys());
  const cache = new ReadThroughCache<LookupValue>(
    { store, clock, ids, log: logger, sleep, metrics: sink, trust: gate },
    {
      ...defaultLookupCacheOptions,
      ttlMs: config.LOOKUP_CACHE_TTL_SECONDS * 1_000,
      negativeTtlMs: config.LOOKUP_NEGATIVE_TTL_SECONDS * 1_000,
      storeTimeoutMs: config.LOOKUP_CACHE_TIMEOUT_MS,
      storeCooldownMs: config.LOOKUP_CACHE_RESET_MS,
      // The lock and the tombstones must outlive the slowest fill, which may include a legacy call.
      fillLockMs: Math.max(defaultLookupCacheOptions.fillLockMs, config.LEGACY_LOOKUP_TIMEOUT_MS + 500),
      tombstoneMs: lookupTombstoneMs(),
    },
  );
  // The user refs are keyed by identifiers too: a mapping change tombstones them with the lookups.
  const refs = storeInvalidations(store, ids, { tombstoneMs: lookupTombstoneMs(), timeoutMs: config.LOOKUP_CACHE_TIMEOUT_MS }, [USER_REF_CACHE]);
  const owed: OwedInvalidationCache = {
    invalidateOrThrow: async (identifiers) => {
      await Promise.all([cache.invalidateKeys(identifiers.map(identifierKey)), refs.invalidateOrThrow(identifiers)]);
    },
  };
  const invalidations: InvalidationDeliveryDeps = { outbox: lookupOutbox(), cache: owed, onUndelivered: (identifiers) => gate.remember(identifiers.map(identifierKey)) };
  const legacy = options.legacy ?? new HttpLegacyLookup({
      baseUrl: config.LEGACY_LOOKUP_URL,
      maxInFlight: config.LEGACY_LOOKUP_MAX_IN_FLIGHT,
      maxBodyBytes: config.LEGACY_LOOKUP_MAX_BODY_BYTES,
    });
  const service = new LookupService({
    repository,
    cache,
    invalidations,
    legacy,
    stats,
    ids,
    log: logger,
    options: { ...defaultLookupOptions, legacyTimeoutMs: config.LEGACY_LOOKUP_TIMEOUT_MS },
  });
  const fleet = fleetRecorder(options.redis ?? redisClient(), () => ({ legacy: legacy.breakerState(), cache: cache.breakerState() }));
  stats.observe((counter) => fleet.record(counter));
  return { service, admin: { repository, invalidations }, repository, stats, cache, gate, invalidations, legacy, metrics, fleet };
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
  return once(lookupInvalidations, () => ({ outbox: lookupOutbox(), cache: lookupStoreInvalidations(configFor(lookupConfigSchema).LOOKUP_CACHE_TIMEOUT_MS) }));
}

/** An import's statements work on whole inputs (grouping, checks): a budget for an operator's command, not a request's. */
const IMPORT_BUDGET = { statementTimeoutMs: 30_000, requestTimeoutMs: 60_000 };

/** A batch's invalidation (one round trip of up to a batch's identifiers); a failure is reported, the row kept. */
const IMPORT_INVALIDATION_TIMEOUT_MS = 5_000;

/** Where an import delivers the invalidations its batches owe (also the import bench's, so it measures the same tombstones). */
export function importInvalidations(): OwedInvalidationCache {
  return lookupStoreInvalidations(IMPORT_INVALIDATION_TIMEOUT_MS);
}

/**
 * What the mapping import writes through: its scratch tables and batched writes, the outbox that
 * holds the invalidations they owe, and the cache those are delivered to (its failures are
 * reported to the operator rather than skipped behind a breaker). A dry run touches no cache.
 */
export function mappingImportDeps(options: { readonly withCache: boolean }): ImportDeps {
  const { ids } = platform();
  const cache: OwedInvalidationCache = options.withCache ? importInvalidations() : noCache;
  const scratch = new Database(sqlClient(), IMPORT_BUDGET);
  return {
    repository: new PostgresMappingRepository(database(), { ids }),
    store: new PostgresMappingImport(scratch, { messageId: () => ids.uuid(), writerGraceMs: defaultOutboxOptions.writerGraceMs }),
    outbox: lookupOutbox(),
    cache,
    ids,
  };
}

const noCache: OwedInvalidationCache = { invalidateOrThrow: () => Promise.reject(new Error("no cache configured")) };
