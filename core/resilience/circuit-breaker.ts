export interface CircuitBreakerOptions {
  /** Longest a call may take; past it the call fails (its work is not cancelled). false: no bound. */
  readonly timeoutMs: number | false;
  /** Failed share of the calls in the rolling window (percent) above which the breaker opens... */
  readonly errorThresholdPercentage: number;
  /** ...once the window holds at least this many calls. */
  readonly volumeThreshold: number;
  /** How long an open breaker refuses calls before it lets one trial call through (half-open). */
  readonly resetTimeoutMs: number;
  /**
   * Failures in a row that open the breaker whatever the window says: a dependency that has just
   * died is skipped after this many calls, not once it has failed for half of the window.
   */
  readonly openAfterConsecutiveFailures?: number;
  /** Length of the rolling window (default 10 s, in 10 buckets). */
  readonly rollingWindowMs?: number;
  readonly onOpen?: () => void;
  readonly onClose?: () => void;
}

/** The breaker is open: the call was not made. `code` as opossum's, which core/resilience/breaker.ts reads. */
export class BreakerOpenError extends Error {
  readonly code = "EOPENBREAKER";
}

/** The call took longer than the breaker's timeout. */
export class BreakerTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
}

interface Bucket {
  readonly startMs: number;
  calls: number;
  failures: number;
}

const BUCKETS = 10;

/**
 * A circuit breaker with opossum's semantics (rolling failure rate over a volume threshold, reset
 * timeout, one trial call when half-open) in a few hundred bytes, on an injected clock: open and
 * half-open are computed from the time, with no timer of its own (tests move the clock; nothing to
 * shut down). opossum weighed 13 KB in every lookups bundle, which their 400 KB budget could not spare.
 */
export class CircuitBreaker {
  private openedAtMs: number | null = null;
  private trialRunning = false;
  private consecutiveFailures = 0;
  private buckets: Bucket[] = [];

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Open and refusing calls (not yet half-open). */
  get opened(): boolean {
    return this.openedAtMs !== null && !this.halfOpen;
  }

  /** Open, but the reset timeout has passed: the next call is a trial. */
  get halfOpen(): boolean {
    return this.openedAtMs !== null && this.nowMs() - this.openedAtMs >= this.options.resetTimeoutMs;
  }

  async fire<T>(work: () => Promise<T>): Promise<T> {
    if (this.openedAtMs === null) return this.closedCall(work);
    if (!this.halfOpen || this.trialRunning) throw new BreakerOpenError("breaker is open");
    this.trialRunning = true;
    try {
      const result = await this.bounded(work);
      this.close();
      return result;
    } catch (error) {
      this.open();
      throw error;
    } finally {
      this.trialRunning = false;
    }
  }

  open(): void {
    const wasClosed = this.openedAtMs === null;
    this.openedAtMs = this.nowMs();
    if (wasClosed) this.options.onOpen?.();
  }

  close(): void {
    if (this.openedAtMs === null) return;
    this.openedAtMs = null;
    this.consecutiveFailures = 0;
    this.buckets = [];
    this.options.onClose?.();
  }

  private async closedCall<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await this.bounded(work);
      this.record(false);
      return result;
    } catch (error) {
      this.record(true);
      throw error;
    }
  }

  private async bounded<T>(work: () => Promise<T>): Promise<T> {
    const { timeoutMs } = this.options;
    if (timeoutMs === false) return work();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BreakerTimeoutError(`timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([work(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Counts the outcome in the current bucket and opens when a threshold is crossed. */
  private record(failed: boolean): void {
    const now = this.nowMs();
    const windowMs = this.options.rollingWindowMs ?? 10_000;
    const bucketMs = windowMs / BUCKETS;
    this.buckets = this.buckets.filter((bucket) => now - bucket.startMs < windowMs);
    let current = this.buckets.at(-1);
    if (!current || now - current.startMs >= bucketMs) {
      current = { startMs: now - (now % bucketMs), calls: 0, failures: 0 };
      this.buckets.push(current);
    }
    current.calls += 1;
    if (!failed) {
      this.consecutiveFailures = 0;
      return;
    }
    current.failures += 1;
    this.consecutiveFailures += 1;
    if (this.openedAtMs === null && this.shouldOpen()) this.open();
  }

  private shouldOpen(): boolean {
    const { openAfterConsecutiveFailures, volumeThreshold, errorThresholdPercentage } = this.options;
    if (openAfterConsecutiveFailures !== undefined && this.consecutiveFailures >= openAfterConsecutiveFailures) return true;
    const calls = this.buckets.reduce((sum, bucket) => sum + bucket.calls, 0);
    const failures = this.buckets.reduce((sum, bucket) => sum + bucket.failures, 0);
    return calls >= volumeThreshold && (failures / calls) * 100 > errorThresholdPercentage;
  }
}
