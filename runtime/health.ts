import { GetQueueAttributesCommand, ListQueuesCommand } from "@aws-sdk/client-sqs";
import type { HealthProbe } from "../core/health/health";
import { sqlClient } from "./clients/postgres";
import { redisClient } from "./clients/redis";
import { sqsClient, sqsConfig } from "./clients/sqs";
import { once } from "./config";

/** The probes behind GET /health: a Redis round trip, a Postgres query, the queue's attributes. */
export function healthProbes(): readonly HealthProbe[] {
  return once(healthProbes, () => [
    { name: "redis", check: async () => void (await redisClient().ping()) },
    { name: "postgres", check: async () => void (await sqlClient()`SELECT 1`) },
    { name: "queue", check: () => checkQueue(sqsConfig().PROVISIONING_QUEUE_URL) },
  ]);
}

async function checkQueue(queueUrl: string | undefined): Promise<void> {
  if (queueUrl) {
    await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }));
  } else {
    await sqsClient().send(new ListQueuesCommand({ MaxResults: 1 }));
  }
}
