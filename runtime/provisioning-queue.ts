import { provisioningConfigSchema } from "../core/config";
import { ConfigError } from "../core/errors";
import { SqsDeadLetterQueue } from "../core/provisioning/adapters/sqs-dead-letter-queue";
import { SqsProvisioningQueue } from "../core/provisioning/adapters/sqs-provisioning-queue";
import type { RedriveDeps } from "../core/provisioning/redrive";
import { ResilientProvisioningQueue } from "../core/provisioning/resilient-queue";
import type { SubmitUserDeps } from "../core/provisioning/submit-user";
import { sqsClient, sqsConfig } from "./clients/sqs";
import { configFor, once } from "./config";
import { recordHealth } from "./health-events";
import { platform } from "./platform";
import { createUserDeps, provisioningStore, systemMode } from "./provisioning";

function requiredQueueUrl(name: "PROVISIONING_QUEUE_URL" | "PROVISIONING_DLQ_URL"): string {
  const url = sqsConfig()[name];
  if (!url) throw new ConfigError(`Invalid configuration: ${name} is missing`);
  return url;
}

/**
 * POST /v1/users: everything createUser needs plus the mode and the queue. Kept apart from
 * runtime/provisioning.ts so that only functions that send to SQS carry the SQS client.
 */
export function submitUserDeps(): SubmitUserDeps {
  return once(submitUserDeps, () => {
    const config = configFor(provisioningConfigSchema);
    const queueUrl = requiredQueueUrl("PROVISIONING_QUEUE_URL");
    const queue = new ResilientProvisioningQueue(
      new SqsProvisioningQueue(sqsClient(), queueUrl, config.PROVISIONING_SEND_TIMEOUT_MS),
      recordHealth(),
      { timeoutMs: config.PROVISIONING_SEND_TIMEOUT_MS + 100 },
    );
    return {
      ...createUserDeps(),
      mode: systemMode(),
      queue,
      log: platform().logger,
      options: { keyTtlHours: config.IDEMPOTENCY_TTL_HOURS, leaseSeconds: config.IDEMPOTENCY_LEASE_SECONDS },
    };
  });
}

/** The DLQ and the queue its messages go back to, for `ops redrive-dlq` and `provisioning-status`. */
export function redriveDeps(): RedriveDeps & { readonly dlq: SqsDeadLetterQueue } {
  return once(redriveDeps, () => ({
    dlq: new SqsDeadLetterQueue(sqsClient(), requiredQueueUrl("PROVISIONING_DLQ_URL"), requiredQueueUrl("PROVISIONING_QUEUE_URL")),
    store: provisioningStore(),
  }));
}
