import { GetQueueAttributesCommand, ListQueuesCommand } from "@aws-sdk/client-sqs";
import type { HealthProbe } from "../core/health/health";
import type { Container } from "./container";

/** The probes behind GET /health: a Redis round trip, a Postgres query, the queue's attributes. */
export function healthProbes(deps: Container): HealthProbe[] {
  const queueUrl = deps.config.PROVISIONING_QUEUE_URL;
  return [
    { name: "redis", check: async () => void (await deps.redis.ping()) },
    { name: "postgres", check: async () => void (await deps.sql`SELECT 1`) },
    {
      name: "queue",
      check: async () => {
        if (queueUrl) {
          await deps.sqs.send(
            new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
          );
        } else {
          await deps.sqs.send(new ListQueuesCommand({ MaxResults: 1 }));
        }
      },
    },
  ];
}
