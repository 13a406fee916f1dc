import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from "@aws-sdk/client-sqs";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DeadLetter, DeadLetterQueue } from "../redrive";
import type { QueueDepth, QueueGauges } from "../status";

async function depthOf(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
  );
  return { visible: Number(Attributes?.ApproximateNumberOfMessages ?? 0), inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

/** How long a redrive holds the messages it received before they would reappear in the DLQ. */
const HOLD_SECONDS = 120;

/**
 * The DLQ through plain SQS calls (receive, send to the source queue, delete), which work on every
 * SQS implementation; StartMessageMoveTask would not let us reopen the records as we go.
 */
export class SqsDeadLetterQueue implements DeadLetterQueue, QueueGauges {
  constructor(
    private readonly sqs: SQSClient,
    private readonly dlqUrl: string,
    private readonly queueUrl: string,
  ) {}

  async depth(): Promise<number> {
    const { visible, inFlight } = await depthOf(this.sqs, this.dlqUrl);
    return visible + inFlight;
  }

  async depths(): Promise<{ queue: QueueDepth; dlq: QueueDepth }> {
    const [queue, dlq] = await Promise.all([depthOf(this.sqs, this.queueUrl), depthOf(this.sqs, this.dlqUrl)]);
    return { queue, dlq };
  }

  async receive(max: number): Promise<DeadLetter[]> {
    const { Messages = [] } = await this.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: this.dlqUrl, MaxNumberOfMessages: Math.min(10, max), WaitTimeSeconds: 0, VisibilityTimeout: HOLD_SECONDS }),
    );
    return Messages.map((message) => ({ messageId: message.MessageId ?? "", receipt: message.ReceiptHandle ?? "", body: message.Body ?? "" }));
  }

  async sendBack(letters: readonly DeadLetter[]): Promise<string[]> {
    if (letters.length === 0) return [];
    const { Successful = [] } = await this.sqs.send(
      new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: letters.map((letter, index) => ({ Id: String(index), MessageBody: letter.body })) }),
    );
    return Successful.map((entry) => letters[Number(entry.Id)]?.receipt ?? "").filter((receipt) => receipt !== "");
  }

  async remove(receipts: readonly string[]): Promise<void> {
    if (receipts.length === 0) return;
    await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.dlqUrl, Entries: receipts.map((receipt, index) => ({ Id: String(index), ReceiptHandle: receipt })) }));
  }

  async release(receipts: readonly string[]): Promise<void> {
    for (let start = 0; start < receipts.length; start += 10) {
      const chunk = receipts.slice(start, start + 10);
      await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.dlqUrl,
          Entries: chunk.map((receipt, index) => ({ Id: String(index), ReceiptHandle: receipt, VisibilityTimeout: 0 })),
        }),
      );
    }
  }
}
