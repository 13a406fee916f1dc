import type { LookupSource } from "./model";

/** Where counts also go as metrics (Powertools EMF in Lambda, nothing in unit tests). */
export interface MetricsSink {
  count(name: string, value?: number): void;
}

export const noMetrics: MetricsSink = { count: () => undefined };

export interface LookupStatsSnapshot {
  readonly since: string;
  readonly lookups: number;
  readonly byTier: Readonly<Record<LookupSource, number>>;
  readonly notFound: number;
  readonly negativeHits: number;
  readonly hitRate: number;
  readonly databaseQueries: number;
  readonly cacheErrors: number;
  readonly legacyErrors: number;
  readonly legacyShortCircuits: number;
  readonly fillWaits: number;
}

/** Counters since this container started, mirrored to metrics as they change. */
export class LookupStats {
  private readonly tiers: Record<LookupSource, number> = { cache: 0, database: 0, legacy: 0, direct: 0 };
  private notFound = 0;
  private negativeHits = 0;
  private databaseQueries = 0;
  private cacheErrors = 0;
  private legacyErrors = 0;
  private legacyShortCircuits = 0;
  private fillWaits = 0;

  constructor(
    private readonly since: Date,
    private readonly metrics: MetricsSink = noMetrics,
  ) {}

  resolved(source: LookupSource): void {
    this.tiers[source] += 1;
    this.metrics.count(`LookupTier_${source}`);
  }
  unknown(fromNegativeCache: boolean): void {
    this.notFound += 1;
    this.metrics.count("LookupNotFound");
    if (fromNegativeCache) {
      this.negativeHits += 1;
      this.metrics.count("LookupNegativeHit");
    }
  }
  databaseQuery(): void {
    this.databaseQueries += 1;
    this.metrics.count("LookupDatabaseQuery");
  }
  cacheError(): void {
    this.cacheErrors += 1;
    this.metrics.count("LookupCacheDegraded");
  }
  legacyError(): void {
    this.legacyErrors += 1;
    this.metrics.count("LookupLegacyError");
  }
  legacyShortCircuit(): void {
    this.legacyShortCircuits += 1;
    this.metrics.count("LookupLegacyShortCircuit");
  }
  fillWait(): void {
    this.fillWaits += 1;
  }

  snapshot(): LookupStatsSnapshot {
    const resolved = Object.values(this.tiers).reduce((sum, n) => sum + n, 0);
    const lookups = resolved + this.notFound;
    const cacheAnswers = this.tiers.cache + this.negativeHits;
    return {
      since: this.since.toISOString(),
      lookups,
      byTier: { ...this.tiers },
      notFound: this.notFound,
      negativeHits: this.negativeHits,
      hitRate: lookups === 0 ? 0 : Math.round((cacheAnswers / lookups) * 10_000) / 10_000,
      databaseQueries: this.databaseQueries,
      cacheErrors: this.cacheErrors,
      legacyErrors: this.legacyErrors,
      legacyShortCircuits: this.legacyShortCircuits,
      fillWaits: this.fillWaits,
    };
  }
}
