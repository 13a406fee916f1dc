import { HttpLegacyLookup } from "../core/lookups/http-legacy-lookup";
import { LookupService, defaultLookupSettings } from "../core/lookups/lookup-service";
import type { MappingAdminDeps } from "../core/lookups/mapping-admin";
import { PostgresMappingRepository } from "../core/lookups/postgres-mapping-repository";
import { ResilientLookupCache } from "../core/lookups/resilient-cache";
import { LookupStats } from "../core/lookups/stats";
import { UpstashLookupCache } from "../core/lookups/upstash-lookup-cache";
import { container } from "./container";
import { createMetrics } from "./metrics";

export interface LookupModule {
  readonly service: LookupService;
  readonly admin: MappingAdminDeps;
  readonly stats: LookupStats;
  readonly cache: ResilientLookupCache;
  readonly legacy: HttpLegacyLookup;
  readonly metrics: ReturnType<typeof createMetrics>["metrics"];
}

let current: LookupModule | undefined;

/** The lookup service of this container: one cache, one breaker pair and one set of stats. */
export function lookups(): LookupModule {
  if (current) return current;
  const deps = container();
  const { config } = deps;
  const { metrics, sink } = createMetrics(config.SERVICE_NAME);
  const stats = new LookupStats(deps.clock.now(), sink);
  const repository = new PostgresMappingRepository(deps.sql, () => stats.databaseQuery());
  const cache = new ResilientLookupCache(
    new UpstashLookupCache(deps.redis, deps.keys, deps.ids),
    { timeoutMs: config.LOOKUP_CACHE_TIMEOUT_MS },
    stats,
    deps.logger,
  );
  const legacy = new HttpLegacyLookup({ baseUrl: config.LEGACY_LOOKUP_URL });
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
  current = { service, admin: { repository, cache }, stats, cache, legacy, metrics };
  return current;
}
