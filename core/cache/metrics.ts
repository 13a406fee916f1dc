import type { CacheMetricsSink } from "./ports";

export interface CacheMetricsSnapshot {
  readonly cache: string;
  readonly reads: number;
  readonly hits: number;
  readonly misses: number;
  readonly staleServes: number;
  readonly bypasses: number;
  readonly fills: number;
  readonly lockWaits: number;
  readonly storeErrors: number;
  /** Calls not made: the store's breaker was open. */
  readonly storeSkips: number;
  /** hits / reads (0 before the first read). */
  readonly hitRate: number;
}

export type CacheCounter = "hits" | "misses" | "staleServes" | "bypasses" | "fills" | "lockWaits" | "storeErrors" | "storeSkips";

const metricNames: Readonly<Record<CacheCounter, string>> = {
  hits: "CacheHit",
  misses: "CacheMiss",
  staleServes: "CacheStaleServe",
  bypasses: "CacheBypass",
  fills: "CacheFill",
  lockWaits: "CacheLockWait",
  storeErrors: "CacheStoreError",
  storeSkips: "CacheStoreSkip",
};

/** Counters of one cache since this container started, mirrored to metrics (`Cache*_<name>`). */
export class CacheMetrics {
  private readonly counts: Record<CacheCounter, number> = { hits: 0, misses: 0, staleServes: 0, bypasses: 0, fills: 0, lockWaits: 0, storeErrors: 0, storeSkips: 0 };
  private readonly observers: ((counter: CacheCounter) => void)[] = [];

  constructor(
    readonly cache: string,
    private readonly sink: CacheMetricsSink = { count: () => undefined },
  ) {}

  add(counter: CacheCounter): void {
    this.counts[counter] += 1;
    this.sink.count(`${metricNames[counter]}_${this.cache}`);
    for (const observer of this.observers) observer(counter);
  }

  /** Told of every count (a capability's own stats, or a reaction to store failures). */
  observe(observer: (counter: CacheCounter) => void): void {
    this.observers.push(observer);
  }

  snapshot(): CacheMetricsSnapshot {
    const { hits, misses, staleServes, bypasses } = this.counts;
    const reads = hits + misses + staleServes + bypasses;
    return { cache: this.cache, reads, ...this.counts, hitRate: reads === 0 ? 0 : hits / reads };
  }
}
