import { CircuitBreaker } from "../resilience/circuit-breaker";
import { UnavailableError, errorMessage } from "../errors";
import type { HealthRecorder } from "../health-events/record-health-event";
import { isBreakerOpen } from "../resilience/breaker";
import type { ProvisioningMessage } from "./model";
import type { ProvisioningQueue } from "./ports";

export interface ResilientQueueOptions {
  /** Longest a send may take before the request falls back. */
  readonly timeoutMs: number;
  /** How long sends are skipped after a failure before one is tried again. */
  readonly resetTimeoutMs?: number;
}

export const QUEUE_OUTAGE_MESSAGE = "Provisioning queue unreachable: user creation falls back to sync_direct";
export const QUEUE_RECOVERED_MESSAGE = "Provisioning queue reachable again: user creation is queued again";

/**
 * SQS sends bounded by a timeout, behind a breaker that opens on the first failure: while it is
 * open, requests fall back at once instead of each waiting for SQS. The outage is recorded once, as
 * a CRITICAL event (which alerts the admin chat) when it starts, and INFO when a trial send works.
 */
export class ResilientProvisioningQueue implements ProvisioningQueue {
  private readonly breaker: CircuitBreaker;
  private outage = false;

  constructor(
    private readonly inner: ProvisioningQueue,
    private readonly health: HealthRecorder,
    options: ResilientQueueOptions,
  ) {
    this.breaker = new CircuitBreaker({
      timeoutMs: options.timeoutMs,
      errorThresholdPercentage: 1,
      volumeThreshold: 1,
      resetTimeoutMs: options.resetTimeoutMs ?? 10_000,
    });
  }

  async send(message: ProvisioningMessage): Promise<void> {
    try {
      await this.breaker.fire(() => this.inner.send(message));
    } catch (error) {
      await this.noteFailure(error);
      throw new UnavailableError("provisioning queue unavailable", { cause: error });
    }
    if (this.outage) {
      this.outage = false;
      await this.health({ level: "INFO", message: QUEUE_RECOVERED_MESSAGE });
    }
  }

  private async noteFailure(error: unknown): Promise<void> {
    if (this.outage) return;
    // Set before awaiting, so concurrent failures of one outage record one event.
    this.outage = true;
    const reason = isBreakerOpen(error) ? "circuit open" : errorMessage(error);
    await this.health({ level: "CRITICAL", message: QUEUE_OUTAGE_MESSAGE, metadata: { reason } });
  }
}
