import { HttpLegacyLookup } from "../core/lookups/http-legacy-lookup";
import { LookupService, defaultLookupSettings } from "../core/lookups/lookup-service";
import type { MappingAdminDeps } from "../core/lookups/mapping-admin";
import { PostgresMappingRepository } from "../core/lookups/postgres-mapping-repository";
import { ResilientLookupCache } from "../core/lookups/resilient-cache";
import { LookupStats } from "../core/lookups/stats";
import { UpstashLookupCache } from "../core/lookups/upstash-lookup-cache";
import type { Redis } from "@upstash/redis";
import type { LegacyLookup } from "../core/lookups/ports";
import { container } from "./container";
import type { Container } from "./container";
import { createMetrics } from "./metrics";

export interface LookupModule {
  readonly service: LookupService;
  readonly admin: MappingAdminDeps;
  readonly stats: LookupStats;
  readonly cache: ResilientLookupCache;
  readonly legacy: LegacyLookup;
  readonly repository: PostgresMappingRepository;
  readonly metrics: ReturnType<typeof createMetrics>["metrics"];
}

let current: LookupModule | undefined;

/** The lookup service of this container: one cache, one breaker pair and one set of stats. */
export function lookups(): LookupModule {
  current ??= buildLookups(container());
  return current;
}

/**
 * Wires the lookup service from a container. Tests swap the Redis client (a dead or hanging
 * endpoint) or the legacy tier; everything else is wired exactly as in Lambda.
 */
export function buildLookups(deps: Container, overrides: { redis?: Redis; legacy?: LegacyLookup } = {}): LookupModule {
  const { config } = deps;
  const { metrics, sink } = createMetrics(config.SERVICE_NAME);
  const stats = new LookupStats(deps.clock.now(), sink);
  const repository = new PostgresMappingRepository(deps.sql, () => stats.databaseQuery());
  const cache = new ResilientLookupCache(
    new UpstashLookupCache(overrides.redis ?? deps.redis, deps.keys, deps.ids, Math.max(5_000, 2 * config.LEGACY_LOOKUP_TIMEOUT_MS)),
    { timeoutMs: config.LOOKUP_CACHE_TIMEOUT_MS },
    stats,
    deps.logger,
  );
  const legacy = overrides.legacy ?? new HttpLegacyLookup({ baseUrl: config.LEGACY_LOOKUP_URL });
  const service = new LookupService({
    repository,
    cache,
    legacy,
    stats,
    ids: deps.ids,
    log: deps.logger,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    settings: {
      ...defaultLookupSettings,
      positiveTtlSeconds: config.LOOKUP_CACHE_TTL_SECONDS,
      negativeTtlSeconds: config.LOOKUP_NEGATIVE_TTL_SECONDS,
      legacyTimeoutMs: config.LEGACY_LOOKUP_TIMEOUT_MS,
      // The lock must outlive the slowest fill, which may include a legacy call.
      fillLockMs: Math.max(defaultLookupSettings.fillLockMs, config.LEGACY_LOOKUP_TIMEOUT_MS + 500),
    },
  });
  return { service, admin: { repository, cache }, repository, stats, cache, legacy, metrics };
}
