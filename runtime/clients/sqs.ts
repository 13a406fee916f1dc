import type { SQSClient } from "@aws-sdk/client-sqs";
import { sqsConfigSchema } from "../../core/config";
import type { SqsConfig } from "../../core/config";
import { createSqsClient } from "../../core/queue/sqs";
import { configFor, once } from "../config";

/** Only functions that talk to SQS import this module, so only their bundles carry the SDK. */
export function sqsClient(): SQSClient {
  return once(createSqsClient, () => createSqsClient({ region: sqsConfig().AWS_REGION, endpoint: sqsConfig().SQS_ENDPOINT }));
}

export function sqsConfig(): SqsConfig {
  return configFor(sqsConfigSchema);
}
