import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { ProvisioningMessage } from "../model";
import type { ProvisioningQueue } from "../ports";

/** SendMessage to the provisioning queue, abandoned (and so retried by nobody) after `timeoutMs`. */
export class SqsProvisioningQueue implements ProvisioningQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async send(message: ProvisioningMessage): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message) }), {
      abortSignal: AbortSignal.timeout(this.timeoutMs),
    });
  }
}
