import { CircuitBreaker } from "../resilience/circuit-breaker";
import { errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import { breakerStateOf, isBreakerOpen } from "../resilience/breaker";
import type { BreakerState } from "../resilience/breaker";
import type { FastCopyDisplaced, FastCopySnapshot, FastCopyStore, FastCopyWrite } from "./ports";

export interface ResilientFastCopyOptions {
  /** Longest a Redis call may take before the request goes on without it. */
  readonly timeoutMs: number;
  /** How long to skip Redis once it failed repeatedly, before one trial call. */
  readonly resetTimeoutMs?: number;
  readonly volumeThreshold?: number;
  /** Least time between two recovery attempts (draining the refreshes owed). */
  readonly recoveryIntervalMs?: number;
}

/**
 * Redis for the settings fast copy, made optional: every call bounded and counted by a breaker
 * (reads while it is open go to Postgres). Two things make Redis untrusted for reads although it
 * answers: a user whose refresh failed in this container (pending until a refill or drain lands),
 * and the whole copy after an outage ended (refreshes owed by any container may still be in the
 * outbox) until a drain of the settings topic finds nothing left.
 */
export class ResilientFastCopy {
  private readonly breaker: CircuitBreaker;
  private readonly pending = new Set<string>();
  private suspect = false;
  private recovering: Promise<void> | null = null;
  private lastRecoveryAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly inner: FastCopyStore,
    private readonly options: ResilientFastCopyOptions,
    private readonly log: LogPort,
    private readonly monotonicNow: () => number = () => performance.now(),
  ) {
    this.breaker = new CircuitBreaker({
      timeoutMs: options.timeoutMs,
      errorThresholdPercentage: 50,
      volumeThreshold: options.volumeThreshold ?? 5,
      resetTimeoutMs: options.resetTimeoutMs ?? 5_000,
      onOpen: () => {
        this.suspect = true;
        this.log.error("settings fast copy unavailable: reading Postgres");
      },
      onClose: () => this.log.info("settings fast copy reachable again; trusted once the owed refreshes are delivered"),
    });
  }

  /** Whether a read of this user may be answered from Redis now. */
  trusted(userId: string): boolean {
    return !this.breaker.opened && !this.suspect && !this.pending.has(userId);
  }

  /** The user's copy, or null when Redis failed or is skipped (the caller reads Postgres). */
  async read(base: string): Promise<FastCopySnapshot | null> {
    try {
      return await this.breaker.fire(() => this.inner.read(base));
    } catch (error) {
      if (!isBreakerOpen(error)) this.log.warn("settings fast copy read failed", { reason: errorMessage(error) });
      return null;
    }
  }

  /** Throws when Redis failed or is skipped: the outbox row stays for a later delivery. */
  async write(base: string, state: FastCopyWrite): Promise<FastCopyDisplaced | null> {
    return (await this.breaker.fire(() => this.inner.write(base, state))) as FastCopyDisplaced | null;
  }

  /** A refresh of this user's copy is owed and could not be delivered here. */
  markPending(userId: string): void {
    this.pending.add(userId);
  }

  /** This user's copy was written from Postgres (all its types), so it is current again. */
  clearPending(userId: string): void {
    this.pending.delete(userId);
  }

  isPending(userId: string): boolean {
    return this.pending.has(userId);
  }

  /**
   * After an outage: runs `drain` (delivers the owed refreshes; true when none is left) at most once
   * at a time and once per interval; the copy is trusted again when it succeeds.
   */
  async recover(drain: () => Promise<boolean>): Promise<void> {
    if (!this.suspect || this.breaker.opened || this.recovering) return;
    if (this.monotonicNow() - this.lastRecoveryAt < (this.options.recoveryIntervalMs ?? 1_000)) return;
    this.lastRecoveryAt = this.monotonicNow();
    this.recovering = (async () => {
      try {
        if (await drain()) this.suspect = false;
      } catch (error) {
        this.log.warn("settings fast copy recovery failed", { reason: errorMessage(error) });
      } finally {
        this.recovering = null;
      }
    })();
    await this.recovering;
  }

  breakerState(): BreakerState {
    return breakerStateOf(this.breaker);
  }

  /** Nothing to stop (the breaker keeps no timer); kept for callers that clean up. */
  shutdown(): void {}
}
