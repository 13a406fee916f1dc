import type { Clock } from "../clock";
import type { ProvisioningRecord } from "./model";
import type { ProvisioningCounts, ProvisioningStore } from "./ports";

export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
}

/** Message counts of the provisioning queue and its DLQ (SQS's approximate figures). */
export interface QueueGauges {
  depths(): Promise<{ readonly queue: QueueDepth; readonly dlq: QueueDepth }>;
}

export interface StatusDeps {
  readonly store: Pick<ProvisioningStore, "provisioningCounts" | "listProvisioning">;
  readonly gauges: QueueGauges;
  readonly clock: Clock;
}

export interface ProvisioningStatusReport {
  readonly records: ProvisioningCounts;
  readonly queue: QueueDepth;
  readonly dlq: QueueDepth;
  readonly recentFailures: readonly ProvisioningRecord[];
}

/** `ops provisioning-status`: records by state, what waits in the queue and in the DLQ, the latest failures. */
export async function provisioningStatus(deps: StatusDeps, options: { readonly staleMinutes: number; readonly failuresShown: number }): Promise<ProvisioningStatusReport> {
  const staleBefore = new Date(deps.clock.now().getTime() - options.staleMinutes * 60_000);
  const [records, depths, recentFailures] = await Promise.all([
    deps.store.provisioningCounts(staleBefore),
    deps.gauges.depths(),
    deps.store.listProvisioning("failed", options.failuresShown),
  ]);
  return { records, queue: depths.queue, dlq: depths.dlq, recentFailures };
}
