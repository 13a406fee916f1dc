import type { Platform } from "./platform";

/** User provisioning (system D): retried by SQS, parked in the DLQ after 5 failed receives. */
export function provisioningInfra(_platform: Platform) {
  const dlq = new sst.aws.Queue("ProvisioningDlq", {
    transform: { queue: { messageRetentionSeconds: 14 * 24 * 3600 } },
  });
  const queue = new sst.aws.Queue("ProvisioningQueue", {
    visibilityTimeout: "60 seconds",
    dlq: { queue: dlq.arn, retry: 5 },
  });
  return { queue, dlq };
}
