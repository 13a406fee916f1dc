import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from "aws-lambda";
import { invokeFunction } from "./lambda-runtime";
import type { SubscriptionDecl } from "./sst-manifest";

export interface QueuePollerOptions {
  readonly sqs: SQSClient;
  readonly region: string;
  readonly subscription: SubscriptionDecl;
  readonly queueUrl: string;
  readonly queueArn: string;
  /** Long-poll wait per receive; short in tests so stop() returns quickly. */
  readonly waitSeconds?: number;
  readonly log?: (line: string) => void;
}

export interface QueuePoller {
  /** Resolves after the current batch (if any) has been handled. */
  stop(): Promise<void>;
}

function toRecord(message: Message, options: QueuePollerOptions): SQSRecord {
  const attributes = message.Attributes ?? {};
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? "String",
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString("base64") } : {}),
    };
  }
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: options.queueArn,
    awsRegion: options.region,
  };
}

/**
 * Lambda's SQS event source, locally: receive a batch, invoke the subscriber with real SQS records,
 * delete what succeeded. A thrown error leaves the whole batch to reappear after the visibility
 * timeout; with partial responses only the ids in `batchItemFailures` stay.
 */
export function startQueuePoller(options: QueuePollerOptions): QueuePoller {
  const abort = new AbortController();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      const messages = await receiveBatch(options, abort.signal);
      if (messages === null || messages.length === 0) continue;
      const failed = await invokeSubscriber(options, messages);
      if (failed === null) continue;
      const done = messages.filter((message) => !failed.has(message.MessageId ?? ""));
      await deleteDone(options, done, abort.signal);
      options.log?.(`[queue ${options.subscription.queue}] ${messages.length} received, ${done.length} done, ${failed.size} failed`);
    }
  })();
  return {
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}

/** One long poll; null after a failed receive (logged, retried after a pause) or an abort. */
async function receiveBatch(options: QueuePollerOptions, signal: AbortSignal): Promise<Message[] | null> {
  try {
    const received = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: Math.min(options.subscription.batchSize, 10),
        WaitTimeSeconds: options.waitSeconds ?? 5,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
      { abortSignal: signal },
    );
    return received.Messages ?? [];
  } catch (error) {
    if (signal.aborted) return null;
    options.log?.(`[queue ${options.subscription.queue}] receive failed: ${(error as Error).message}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return null;
  }
}

/** The ids the subscriber reported failed; null when it threw (the whole batch comes back). */
async function invokeSubscriber(options: QueuePollerOptions, messages: readonly Message[]): Promise<Set<string> | null> {
  const { subscription } = options;
  const event: SQSEvent = { Records: messages.map((message) => toRecord(message, options)) };
  try {
    const result = (await invokeFunction(subscription.function, event)) as SQSBatchResponse | undefined;
    return new Set(subscription.partialResponses ? (result?.batchItemFailures ?? []).map((item) => item.itemIdentifier) : []);
  } catch (error) {
    options.log?.(`[queue ${subscription.queue}] handler failed, batch will be retried: ${(error as Error).message}`);
    return null;
  }
}

async function deleteDone(options: QueuePollerOptions, done: readonly Message[], signal: AbortSignal): Promise<void> {
  if (done.length === 0) return;
  try {
    await options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? "" })),
      }),
    );
  } catch (error) {
    // As in Lambda: undeleted messages come back after their visibility timeout; the poller goes on.
    if (signal.aborted) return;
    options.log?.(`[queue ${options.subscription.queue}] delete failed, ${done.length} message(s) will be redelivered: ${(error as Error).message}`);
  }
}
