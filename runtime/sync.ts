import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { syncConfigSchema } from "../core/config";
import type { SyncConfig } from "../core/config";
import { UpstashLookupCache } from "../core/lookups/adapters/upstash-lookup-cache";
import { deliverCommitted } from "../core/outbox/delivery";
import { IdentifiersSyncSource } from "../core/sync/adapters/identifiers-source";
import { SettingsSyncSource } from "../core/sync/adapters/settings-source";
import { PostgresSyncStateStore } from "../core/sync/adapters/postgres-sync-state";
import { UpstashKeyScanner } from "../core/sync/adapters/upstash-key-scanner";
import type { SyncSummary } from "../core/sync/model";
import type { SyncMetrics, SyncSource } from "../core/sync/ports";
import type { SyncDeps } from "../core/sync/run-sync";
import { database } from "./clients/postgres";
import { redisClient, redisKeys } from "./clients/redis";
import { configFor, once } from "./config";
import { cronDispositionOf } from "./cron/error-mapping";
import { outbox, outboxHandlers } from "./outbox";
import { platform } from "./platform";

/** CloudWatch (EMF) figures of each run, dimension `source`: rows written, conflicts, invalid, failed, lag. */
class PowertoolsSyncMetrics implements SyncMetrics {
  constructor(private readonly serviceName: string) {}

  publish(summary: SyncSummary): void {
    const metrics = new Metrics({ namespace: "botstate", serviceName: this.serviceName, defaultDimensions: { source: summary.source } });
    metrics.addMetric("SyncRowsWritten", MetricUnit.Count, summary.counts.written);
    metrics.addMetric("SyncConflicts", MetricUnit.Count, summary.counts.conflicts);
    metrics.addMetric("SyncInvalid", MetricUnit.Count, summary.counts.invalid);
    metrics.addMetric("SyncFailed", MetricUnit.Count, summary.counts.failed);
    if (summary.lagSeconds !== null) metrics.addMetric("SyncLagSeconds", MetricUnit.Seconds, summary.lagSeconds);
    metrics.publishStoredMetrics();
  }
}

/** What every sync run uses: SCAN, the lock and cursor table, time, metrics, the cron error mapping. */
export function syncDeps(): SyncDeps {
  return once(syncDeps, () => {
    const { clock, config } = platform();
    return {
      scanner: new UpstashKeyScanner(redisClient()),
      state: new PostgresSyncStateStore(database()),
      clock,
      metrics: new PowertoolsSyncMetrics(config.SERVICE_NAME),
      disposition: cronDispositionOf,
    };
  });
}

export function syncConfig(): SyncConfig {
  return configFor(syncConfigSchema);
}

/** Legacy registration hashes → identifier mappings (lookup cache invalidated for what is written). */
export function identifiersSyncSource(): IdentifiersSyncSource {
  return once(identifiersSyncSource, () => {
    const { ids } = platform();
    const redis = redisClient();
    const keys = redisKeys();
    return new IdentifiersSyncSource({ redis, keys, db: database(), cache: new UpstashLookupCache(redis, keys, ids), ids });
  });
}

/** Legacy settings keys → user_settings (new versions, conflicts kept as history, fast copy repaired). */
export function settingsSyncSource(): SettingsSyncSource {
  return once(settingsSyncSource, () => {
    const { ids } = platform();
    return new SettingsSyncSource({
      redis: redisClient(),
      keys: redisKeys(),
      db: database(),
      ids,
      deliver: async (messages) => {
        if (messages.length > 0) await deliverCommitted(outbox(), messages, await outboxHandlers());
      },
    });
  });
}

/**
 * Every source of the scheduled sync, by name, in the order a scheduled run takes them. Each
 * capability adds its source here (settings, identifiers, positions).
 */
export const syncSources: Readonly<Record<string, () => SyncSource>> = {
  // Identifiers first: a mapping persisted here lets the settings of that okx uid find their user.
  identifiers: identifiersSyncSource as () => SyncSource,
  settings: settingsSyncSource as () => SyncSource,
};
