import type { LookupSource } from "./model";

/** Where counts also go as metrics (Powertools EMF in Lambda, nothing in unit tests). */
export interface MetricsSink {
  count(name: string, value?: number): void;
}

export const noMetrics: MetricsSink = { count: () => undefined };

/** Every counter lookups keep, by the name it has in Redis (fleet figures) and in the snapshot. */
export const statCounters = [
  "tier.cache",
  "tier.database",
  "tier.legacy",
  "tier.direct",
  "notFound",
  "negativeHits",
  "unavailable",
  "databaseQueries",
  "cacheErrors",
  "legacyErrors",
  "legacyShortCircuits",
  "legacyConflicts",
  "legacyBusy",
  "fillWaits",
] as const;
export type StatCounter = (typeof statCounters)[number];
export type StatCounts = Record<StatCounter, number>;

export function zeroCounts(): StatCounts {
  return Object.fromEntries(statCounters.map((name) => [name, 0])) as StatCounts;
}

export function isStatCounter(name: string): name is StatCounter {
  return (statCounters as readonly string[]).includes(name);
}

export interface LookupStatsSnapshot {
  readonly since: string;
  readonly lookups: number;
  readonly byTier: Readonly<Record<LookupSource, number>>;
  readonly notFound: number;
  readonly negativeHits: number;
  /** Lookups answered 503: the legacy service could not be asked and no other tier knew. */
  readonly unavailable: number;
  readonly hitRate: number;
  readonly databaseQueries: number;
  readonly cacheErrors: number;
  readonly legacyErrors: number;
  readonly legacyShortCircuits: number;
  /** Legacy answers refused (another identifier, a deactivated user, another user's okx uid, an invalid Telegram id). */
  readonly legacyConflicts: number;
  /** Legacy calls not made because this container's in-flight limit stayed full for the call's whole budget. */
  readonly legacyBusy: number;
  readonly fillWaits: number;
}

/** The snapshot of a set of counts (one container's, or the fleet's sum over a window). */
export function snapshotOf(counts: Readonly<StatCounts>, since: Date): LookupStatsSnapshot {
  const byTier = { cache: counts["tier.cache"], database: counts["tier.database"], legacy: counts["tier.legacy"], direct: counts["tier.direct"] };
  const resolved = byTier.cache + byTier.database + byTier.legacy + byTier.direct;
  const lookups = resolved + counts.notFound + counts.unavailable;
  const cacheAnswers = byTier.cache + counts.negativeHits;
  return {
    since: since.toISOString(),
    lookups,
    byTier,
    notFound: counts.notFound,
    negativeHits: counts.negativeHits,
    unavailable: counts.unavailable,
    hitRate: lookups === 0 ? 0 : Math.round((cacheAnswers / lookups) * 10_000) / 10_000,
    databaseQueries: counts.databaseQueries,
    cacheErrors: counts.cacheErrors,
    legacyErrors: counts.legacyErrors,
    legacyShortCircuits: counts.legacyShortCircuits,
    legacyConflicts: counts.legacyConflicts,
    legacyBusy: counts.legacyBusy,
    fillWaits: counts.fillWaits,
  };
}

/** Metric names of the counters that CloudWatch receives too (names kept from before the fleet figures). */
const METRIC_NAMES: Partial<Record<StatCounter, string>> = {
  "tier.cache": "LookupTier_cache",
  "tier.database": "LookupTier_database",
  "tier.legacy": "LookupTier_legacy",
  "tier.direct": "LookupTier_direct",
  notFound: "LookupNotFound",
  negativeHits: "LookupNegativeHit",
  unavailable: "LookupUnavailable",
  databaseQueries: "LookupDatabaseQuery",
  cacheErrors: "LookupCacheDegraded",
  legacyErrors: "LookupLegacyError",
  legacyShortCircuits: "LookupLegacyShortCircuit",
  legacyConflicts: "LookupLegacyConflict",
  legacyBusy: "LookupLegacyBusy",
};

/** Also told about every count: the fleet-wide recorder (fleet-stats.ts), which batches them to Redis. */
export type CountObserver = (counter: StatCounter) => void;

/** Counters since this container started, mirrored to metrics (and to the fleet recorder) as they change. */
export class LookupStats {
  private readonly counts = zeroCounts();
  private observer: CountObserver = () => undefined;

  constructor(
    private readonly since: Date,
    private readonly metrics: MetricsSink = noMetrics,
  ) {}

  /** Sends every later count to `observer` too (one per container: the wiring's fleet recorder). */
  observe(observer: CountObserver): void {
    this.observer = observer;
  }

  private add(counter: StatCounter): void {
    this.counts[counter] += 1;
    const metric = METRIC_NAMES[counter];
    if (metric) this.metrics.count(metric);
    this.observer(counter);
  }

  resolved(source: LookupSource): void {
    this.add(`tier.${source}`);
  }
  unknown(fromNegativeCache: boolean): void {
    this.add("notFound");
    if (fromNegativeCache) this.add("negativeHits");
  }
  unavailable(): void {
    this.add("unavailable");
  }
  databaseQuery(): void {
    this.add("databaseQueries");
  }
  cacheError(): void {
    this.add("cacheErrors");
  }
  legacyError(): void {
    this.add("legacyErrors");
  }
  legacyShortCircuit(): void {
    this.add("legacyShortCircuits");
  }
  legacyConflict(): void {
    this.add("legacyConflicts");
  }
  legacyBusy(): void {
    this.add("legacyBusy");
  }
  fillWait(): void {
    this.add("fillWaits");
  }

  snapshot(): LookupStatsSnapshot {
    return snapshotOf(this.counts, this.since);
  }
}
