import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqsClient } from "../../core/queue/sqs";
import { startLocalSqs } from "../../local/sqs.js";
import type { LocalSqs } from "../../local/sqs.js";

const MAIN = "orders";
const DLQ = "orders-dlq";

let sqs: LocalSqs;
let client: SQSClient;
let urls: Record<string, string>;

beforeAll(async () => {
  sqs = await startLocalSqs({ port: 0 });
  client = createSqsClient({ endpoint: sqs.endpoint, region: sqs.region });
  // Declared out of order on purpose: the DLQ must still be created before the queue that points at it.
  urls = await sqs.createQueues([
    { name: MAIN, visibilityTimeoutSeconds: 1, dlq: { name: DLQ, maxReceiveCount: 2 } },
    { name: DLQ, messageRetentionSeconds: 3600 },
  ]);
});

afterAll(async () => {
  client?.destroy();
  await sqs?.close();
});

function url(name: string): string {
  const u = urls[name];
  if (u === undefined) throw new Error(`no queue ${name}`);
  return u;
}

async function receive(queue: string, max = 10): Promise<Message[]> {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: url(queue),
      MaxNumberOfMessages: max,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ["ApproximateReceiveCount"],
    }),
  );
  return out.Messages ?? [];
}

async function receiveOne(queue: string): Promise<Message> {
  const messages = await receive(queue, 1);
  expect(messages).toHaveLength(1);
  const [m] = messages;
  if (!m) throw new Error("unreachable");
  return m;
}

async function setVisibility(queue: string, m: Message, seconds: number): Promise<void> {
  await client.send(
    new ChangeMessageVisibilityCommand({ QueueUrl: url(queue), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: seconds }),
  );
}

async function drain(queue: string): Promise<void> {
  for (const m of await receive(queue)) {
    await client.send(new DeleteMessageCommand({ QueueUrl: url(queue), ReceiptHandle: m.ReceiptHandle }));
  }
}

describe("local SQS (fauxqs)", () => {
  it("binds to loopback and hands out URLs that match what the server reports", () => {
    expect(sqs.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sqs.region).toBe("us-east-1");
    expect(url(MAIN)).toBe(sqs.queueUrl(MAIN));
    expect(url(DLQ)).toBe(sqs.queueUrl(DLQ));
  });

  it("exposes the RedrivePolicy and the declared attributes", async () => {
    const main = await client.send(new GetQueueAttributesCommand({ QueueUrl: url(MAIN), AttributeNames: ["All"] }));
    const dlq = await client.send(new GetQueueAttributesCommand({ QueueUrl: url(DLQ), AttributeNames: ["All"] }));
    expect(main.Attributes?.VisibilityTimeout).toBe("1");
    expect(dlq.Attributes?.MessageRetentionPeriod).toBe("3600");
    const policy: unknown = JSON.parse(main.Attributes?.RedrivePolicy ?? "null");
    expect(policy).toEqual({ deadLetterTargetArn: dlq.Attributes?.QueueArn, maxReceiveCount: "2" });
  });

  it("sends, receives with ApproximateReceiveCount and deletes", async () => {
    await client.send(new SendMessageCommand({ QueueUrl: url(MAIN), MessageBody: "single" }));
    const batch = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url(MAIN),
        Entries: [
          { Id: "a", MessageBody: "batch-a" },
          { Id: "b", MessageBody: "batch-b" },
        ],
      }),
    );
    expect(batch.Successful?.map((s) => s.Id).sort()).toEqual(["a", "b"]);
    expect(batch.Failed ?? []).toEqual([]);

    const messages = await receive(MAIN);
    expect(messages.map((m) => m.Body).sort()).toEqual(["batch-a", "batch-b", "single"]);
    for (const m of messages) {
      expect(m.Attributes?.ApproximateReceiveCount).toBe("1");
      await client.send(new DeleteMessageCommand({ QueueUrl: url(MAIN), ReceiptHandle: m.ReceiptHandle }));
    }
    expect(await receive(MAIN)).toEqual([]);
  });

  it("hides a message while its visibility timeout runs and shows it again at 0", async () => {
    await client.send(new SendMessageCommand({ QueueUrl: url(MAIN), MessageBody: "peekaboo" }));
    const first = await receiveOne(MAIN);
    await setVisibility(MAIN, first, 600);
    expect(await receive(MAIN)).toEqual([]);

    await setVisibility(MAIN, first, 0);
    const again = await receiveOne(MAIN);
    expect(again.Body).toBe("peekaboo");
    expect(again.MessageId).toBe(first.MessageId);
    expect(again.Attributes?.ApproximateReceiveCount).toBe("2");
    await drain(MAIN);
  });

  it("moves a message to the DLQ once it was received maxReceiveCount times", async () => {
    await client.send(new SendMessageCommand({ QueueUrl: url(MAIN), MessageBody: "poison" }));
    for (const expected of ["1", "2"]) {
      const m = await receiveOne(MAIN);
      expect(m.Body).toBe("poison");
      expect(m.Attributes?.ApproximateReceiveCount).toBe(expected);
      await setVisibility(MAIN, m, 0);
    }

    // The receive after the limit is the one that redrives, as on AWS.
    expect(await receive(MAIN)).toEqual([]);
    const dead = await receiveOne(DLQ);
    expect(dead.Body).toBe("poison");
    await client.send(new DeleteMessageCommand({ QueueUrl: url(DLQ), ReceiptHandle: dead.ReceiptHandle }));
    expect(await receive(MAIN)).toEqual([]);
    expect(await receive(DLQ)).toEqual([]);
  });

  it("re-declaring queues is idempotent", async () => {
    const again = await sqs.createQueues([{ name: MAIN, visibilityTimeoutSeconds: 1, dlq: { name: DLQ, maxReceiveCount: 2 } }]);
    expect(again).toEqual({ [DLQ]: url(DLQ), [MAIN]: url(MAIN) });
  });
});
