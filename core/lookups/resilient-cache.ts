import { breakerStateOf, isBreakerOpen } from "../resilience/breaker";
import type { BreakerState } from "../resilience/breaker";
import { errorMessage } from "../errors";
import CircuitBreaker from "opossum";
import type { LogPort } from "../observability/log-port";
import type { Identifier } from "./identifier";
import type { CacheRead, CacheWrite, LookupCache } from "./ports";
import type { LookupStats } from "./stats";

export interface ResilientCacheOptions {
  /** Longest a cache call may take before the lookup goes on without it. */
  readonly timeoutMs: number;
  /** How long to skip Redis entirely once it has failed repeatedly. */
  readonly resetTimeoutMs?: number;
  readonly volumeThreshold?: number;
}

/**
 * Makes Redis optional for lookups: each call is bounded by a timeout, failures are counted and
 * logged, and after repeated failures a breaker skips Redis until a trial call succeeds. Reads then
 * miss, writes are dropped, and the database answers; a lookup never fails because of the cache.
 */
export class ResilientLookupCache implements LookupCache {
  private readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;

  constructor(
    private readonly inner: LookupCache,
    options: ResilientCacheOptions,
    private readonly stats: LookupStats,
    private readonly log: LogPort,
  ) {
    this.breaker = new CircuitBreaker(async (operation: () => Promise<unknown>) => operation(), {
      timeout: options.timeoutMs,
      errorThresholdPercentage: 50,
      volumeThreshold: options.volumeThreshold ?? 5,
      resetTimeout: options.resetTimeoutMs ?? 5_000,
    });
    this.breaker.on("open", () => this.log.error("lookup cache unavailable: serving from the database"));
    this.breaker.on("close", () => this.log.info("lookup cache recovered"));
  }

  private async guarded<T>(operation: string, work: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return (await this.breaker.fire(work)) as T;
    } catch (error) {
      this.stats.cacheError();
      if (!isBreakerOpen(error)) {
        this.log.warn("lookup cache degraded", { operation, reason: errorMessage(error) });
      }
      return fallback;
    }
  }

  getMany(identifiers: readonly Identifier[]): Promise<CacheRead[]> {
    return this.guarded("get", () => this.inner.getMany(identifiers), identifiers.map(() => ({ entry: null, slot: null })));
  }

  setMany(entries: readonly CacheWrite[], releaseFillOf?: Identifier): Promise<void> {
    return this.guarded("set", () => this.inner.setMany(entries, releaseFillOf), undefined);
  }

  async invalidate(identifiers: readonly Identifier[]): Promise<void> {
    const deleted = await this.guarded("invalidate", async () => (await this.inner.invalidate(identifiers), true), false);
    if (!deleted) {
      // The positive TTL bounds how long the stale answer can live.
      this.log.error("lookup cache invalidation failed", { entries: identifiers.length });
      this.log.debug("lookup cache invalidation failed for", { identifiers: identifiers.map((id) => `${id.kind}:${id.value}`) });
    }
  }

  /** When Redis cannot say, act as the lock holder: a duplicate query beats a stalled lookup. */
  getOrLockFill(identifier: Identifier, ttlMs: number): Promise<CacheRead & { locked: boolean }> {
    return this.guarded("get", () => this.inner.getOrLockFill(identifier, ttlMs), { entry: null, slot: null, locked: true });
  }

  releaseFill(identifier: Identifier): Promise<void> {
    return this.guarded("unlock", () => this.inner.releaseFill(identifier), undefined);
  }

  breakerState(): BreakerState {
    return breakerStateOf(this.breaker);
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}
