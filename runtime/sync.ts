import type { Clock } from "../core/clock";
import { syncConfigSchema } from "../core/config";
import type { SyncConfig } from "../core/config";
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
import { platform } from "./platform";
import { positionsSyncSource } from "./positions";
import { lookupStoreInvalidations } from "./lookup-invalidations";

/**
 * CloudWatch figures of each run as one Embedded Metric Format line (namespace `botstate`,
 * dimensions service and source): rows written, conflicts, invalid, failed and the sync lag. Written
 * by hand rather than through Powertools Metrics, whose 14 KB would push the cron past its bundle budget.
 */
export class EmfSyncMetrics implements SyncMetrics {
  constructor(
    private readonly serviceName: string,
    private readonly clock: Clock,
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  publish(summary: SyncSummary): void {
    if (process.env.POWERTOOLS_METRICS_DISABLED === "true") return;
    const figures: [string, "Count" | "Seconds", number][] = [
      ["SyncRowsWritten", "Count", summary.counts.written],
      ["SyncConflicts", "Count", summary.counts.conflicts],
      ["SyncInvalid", "Count", summary.counts.invalid],
      ["SyncFailed", "Count", summary.counts.failed],
      ...(summary.lagSeconds === null ? [] : [["SyncLagSeconds", "Seconds", summary.lagSeconds] as [string, "Seconds", number]]),
    ];
    const metrics = figures.map(([Name, Unit]) => ({ Name, Unit }));
    const emf = { Timestamp: this.clock.now().getTime(), CloudWatchMetrics: [{ Namespace: "botstate", Dimensions: [["service", "source"]], Metrics: metrics }] };
    this.write(JSON.stringify({ _aws: emf, service: this.serviceName, source: summary.source, ...Object.fromEntries(figures.map(([name, , value]) => [name, value])) }));
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
      metrics: new EmfSyncMetrics(config.SERVICE_NAME, clock),
      disposition: cronDispositionOf,
    };
  });
}

export function syncConfig(): SyncConfig {
  return configFor(syncConfigSchema);
}

/** Longest a page's lookup invalidation waits for Redis (a failure is reported with the page). */
const SYNC_INVALIDATION_TIMEOUT_MS = 1_000;

/** Legacy registration hashes → identifier mappings (lookup cache invalidated for what is written). */
export function identifiersSyncSource(): IdentifiersSyncSource {
  return once(identifiersSyncSource, () => {
    const { ids } = platform();
    const redis = redisClient();
    const keys = redisKeys();
    return new IdentifiersSyncSource({ redis, keys, db: database(), cache: lookupStoreInvalidations(SYNC_INVALIDATION_TIMEOUT_MS), ids });
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
  positions: positionsSyncSource as () => SyncSource,
};
