import { provisioningConfigSchema } from "../core/config";
import { ConfigError } from "../core/errors";
import { SqsProvisioningQueue } from "../core/provisioning/adapters/sqs-provisioning-queue";
import { ResilientProvisioningQueue } from "../core/provisioning/resilient-queue";
import type { SubmitUserDeps } from "../core/provisioning/submit-user";
import { sqsClient, sqsConfig } from "./clients/sqs";
import { configFor, once } from "./config";
import { recordHealth } from "./health-events";
import { platform } from "./platform";
import { createUserDeps, systemMode } from "./provisioning";

/**
 * POST /v1/users: everything createUser needs plus the mode and the queue. Kept apart from
 * runtime/provisioning.ts so that only functions that send to SQS carry the SQS client.
 */
export function submitUserDeps(): SubmitUserDeps {
  return once(submitUserDeps, () => {
    const config = configFor(provisioningConfigSchema);
    const queueUrl = sqsConfig().PROVISIONING_QUEUE_URL;
    if (!queueUrl) throw new ConfigError("Invalid configuration: PROVISIONING_QUEUE_URL is missing");
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
