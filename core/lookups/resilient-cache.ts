import { breakerStateOf, isBreakerOpen } from "../resilience/breaker";
import type { BreakerState } from "../resilience/breaker";
import { errorMessage } from "../errors";
import { CircuitBreaker } from "../resilience/circuit-breaker";
import type { LogPort } from "../observability/log-port";
import type { Identifier } from "./identifier";
import type { CacheRead, CacheWrite, LookupCache, RequestCache, RequestScopedCache } from "./ports";
import type { LookupStats } from "./stats";

export interface ResilientCacheOptions {
  /** Longest a cache call may take before the lookup goes on without it. */
  readonly timeoutMs: number;
  /** How long to skip Redis entirely once it has failed repeatedly. */
  readonly resetTimeoutMs?: number;
  readonly volumeThreshold?: number;
  /**
   * Failures in a row (timeouts or errors, no success between them) that open the breaker at once,
   * whatever the success rate of the last seconds: a Redis that has just died or hung is skipped
   * after this many failed calls, not after half of the rolling window has failed.
   */
  readonly openAfterFailures?: number;
  /** Told of every failed call (this container's cache may have missed an invalidation since). */
  readonly onFailure?: () => void;
  /** The breaker's clock (injected in tests). */
  readonly nowMs?: () => number;
}

interface RequestScope {
  failed: boolean;
}

/**
 * Makes Redis optional for lookups: each call is bounded by a timeout, failures are counted and
 * logged, and after repeated failures a breaker skips Redis until a trial call succeeds. Reads then
 * miss, writes are dropped, and the database answers; a lookup never fails because of the cache.
 */
export class ResilientLookupCache implements LookupCache, RequestScopedCache {
  private readonly breaker: CircuitBreaker;

  constructor(
    private readonly inner: LookupCache,
    private readonly options: ResilientCacheOptions,
    private readonly stats: LookupStats,
    private readonly log: LogPort,
  ) {
    this.breaker = new CircuitBreaker(
      {
        timeoutMs: options.timeoutMs,
        errorThresholdPercentage: 50,
        volumeThreshold: options.volumeThreshold ?? 5,
        resetTimeoutMs: options.resetTimeoutMs ?? 2_000,
        openAfterConsecutiveFailures: options.openAfterFailures ?? 3,
        onOpen: () => this.log.error("lookup cache unavailable: serving from the database"),
        onClose: () => this.log.info("lookup cache recovered"),
      },
      options.nowMs,
    );
  }

  /** The call's result; throws when it failed or was skipped (open breaker, or this request already paid a failure). */
  private async attempt<T>(operation: string, work: () => Promise<T>, scope?: RequestScope): Promise<T> {
    if (scope?.failed) throw new CacheSkippedError("this request already waited for the cache once");
    try {
      return await this.breaker.fire(work);
    } catch (error) {
      this.stats.cacheError();
      if (isBreakerOpen(error)) throw error;
      if (scope) scope.failed = true;
      this.options.onFailure?.();
      this.log.warn("lookup cache degraded", { operation, reason: errorMessage(error) });
      throw error;
    }
  }

  private async guarded<T>(operation: string, work: () => Promise<T>, fallback: T, scope?: RequestScope): Promise<T> {
    try {
      return await this.attempt(operation, work, scope);
    } catch {
      return fallback;
    }
  }

  /**
   * The same cache for one request (a lookup or a batch): once one of its calls failed (a timeout),
   * its further calls (the fill's write-back, a poll) are skipped, so a request pays at most one
   * cache timeout even before the breaker opens.
   */
  forRequest(): RequestCache {
    const scope: RequestScope = { failed: false };
    return {
      invalidateOrThrow: (identifiers) => this.attempt("invalidate", () => this.inner.invalidate(identifiers), scope),
      getMany: (identifiers) => this.readMany(identifiers, scope),
      setMany: (entries, releaseFillOf) => this.guarded("set", () => this.inner.setMany(entries, releaseFillOf), undefined, scope),
      invalidate: (identifiers) => this.invalidateLogged(identifiers, scope),
      getOrLockFill: (identifier, ttlMs) => this.readOrLock(identifier, ttlMs, scope),
      releaseFill: (identifier) => this.guarded("unlock", () => this.inner.releaseFill(identifier), undefined, scope),
    };
  }

  private readMany(identifiers: readonly Identifier[], scope?: RequestScope): Promise<CacheRead[]> {
    return this.guarded("get", () => this.inner.getMany(identifiers), identifiers.map(() => ({ entry: null, slot: null })), scope);
  }

  /** When Redis cannot say, act as the lock holder: a duplicate query beats a stalled lookup. */
  private readOrLock(identifier: Identifier, ttlMs: number, scope?: RequestScope): Promise<CacheRead & { locked: boolean }> {
    return this.guarded("get", () => this.inner.getOrLockFill(identifier, ttlMs), { entry: null, slot: null, locked: true }, scope);
  }

  private async invalidateLogged(identifiers: readonly Identifier[], scope?: RequestScope): Promise<void> {
    const deleted = await this.guarded("invalidate", async () => (await this.inner.invalidate(identifiers), true), false, scope);
    if (!deleted) {
      // The positive TTL bounds how long the stale answer can live.
      this.log.error("lookup cache invalidation failed", { entries: identifiers.length });
      this.log.debug("lookup cache invalidation failed for", { identifiers: identifiers.map((id) => `${id.kind}:${id.value}`) });
    }
  }

  getMany(identifiers: readonly Identifier[]): Promise<CacheRead[]> {
    return this.readMany(identifiers);
  }

  setMany(entries: readonly CacheWrite[], releaseFillOf?: Identifier): Promise<void> {
    return this.guarded("set", () => this.inner.setMany(entries, releaseFillOf), undefined);
  }

  /** Best effort (the positive TTL bounds a missed one); owed invalidations use invalidateOrThrow. */
  invalidate(identifiers: readonly Identifier[]): Promise<void> {
    return this.invalidateLogged(identifiers);
  }

  /** For the outbox handler: resolves only when Redis took the tombstones (so the row may go). */
  async invalidateOrThrow(identifiers: readonly Identifier[]): Promise<void> {
    await this.attempt("invalidate", () => this.inner.invalidate(identifiers));
  }

  getOrLockFill(identifier: Identifier, ttlMs: number): Promise<CacheRead & { locked: boolean }> {
    return this.readOrLock(identifier, ttlMs);
  }

  releaseFill(identifier: Identifier): Promise<void> {
    return this.guarded("unlock", () => this.inner.releaseFill(identifier), undefined);
  }


  breakerState(): BreakerState {
    return breakerStateOf(this.breaker);
  }

  /** Nothing to stop (the breaker keeps no timer); kept for callers that clean up. */
  shutdown(): void {}
}

/** A call this request did not make: it already waited for the cache once. */
export class CacheSkippedError extends Error {}
