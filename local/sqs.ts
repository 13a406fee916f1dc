import type { AddressInfo } from "node:net";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
} from "@aws-sdk/client-sqs";
import { buildApp } from "fauxqs";
import { createSqsClient } from "../core/queue/sqs";

export interface QueueDeclaration {
  name: string;
  visibilityTimeoutSeconds?: number;
  dlq?: { name: string; maxReceiveCount: number };
  messageRetentionSeconds?: number;
}

export interface LocalSqs {
  /** Pass as `endpoint` to SQSClient; the SDK then sends every call here, whatever host the QueueUrl names. */
  readonly endpoint: string;
  readonly region: string;
  queueUrl(name: string): string;
  /** name -> queue URL. DLQs are created first so the RedrivePolicy can point at their ARN. */
  createQueues(decls: readonly QueueDeclaration[]): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export interface StartLocalSqsOptions {
  host?: string;
  port?: number;
  region?: string;
  queues?: readonly QueueDeclaration[];
}

// fauxqs stores queues under an AWS-shaped URL, `http://sqs.<region>.<host>:<port>/<account>/<name>`, and
// looks them up by exact string. The host part is only a label: `sqs.<region>.localhost` does not resolve
// through getaddrinfo here, so clients must be built with `endpoint` (the SDK's queueUrl middleware only
// re-targets requests to the QueueUrl host when no endpoint is configured).
const QUEUE_URL_HOST = "localhost";
const ACCOUNT_ID = "000000000000";

export async function startLocalSqs(options: StartLocalSqsOptions = {}): Promise<LocalSqs> {
  const host = options.host ?? "127.0.0.1";
  const region = options.region ?? "us-east-1";
  // startFauxqs() always listens on 0.0.0.0; building the app ourselves is the only way to keep the
  // emulator off the network.
  const app = buildApp({ logger: false, host: QUEUE_URL_HOST, defaultRegion: region });
  await app.listen({ port: options.port ?? 0, host });
  const { port } = app.server.address() as AddressInfo;
  const endpoint = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const client = createSqsClient({ endpoint, region });
  const queueUrl = (name: string): string => `http://sqs.${region}.${QUEUE_URL_HOST}:${port}/${ACCOUNT_ID}/${name}`;
  const createQueues = (decls: readonly QueueDeclaration[]) => new QueueDeclarations(client, decls).createAll();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      client.destroy();
      await app.close();
    })();
    return closing;
  };

  try {
    if (options.queues && options.queues.length > 0) await createQueues(options.queues);
  } catch (error) {
    await close();
    throw error;
  }

  return { endpoint, region, queueUrl, createQueues, close };
}

/** Creates declared queues, each DLQ before the queue that redrives into it (its ARN goes in the policy). */
class QueueDeclarations {
  private readonly byName: Map<string, QueueDeclaration>;
  private readonly urls: Record<string, string> = {};
  private readonly arns = new Map<string, string>();

  constructor(
    private readonly client: ReturnType<typeof createSqsClient>,
    private readonly decls: readonly QueueDeclaration[],
  ) {
    this.byName = new Map(decls.map((decl) => [decl.name, decl]));
  }

  async createAll(): Promise<Record<string, string>> {
    for (const decl of this.decls) await this.create(decl, []);
    return this.urls;
  }

  private async create(decl: QueueDeclaration, path: readonly string[]): Promise<void> {
    if (this.urls[decl.name] !== undefined) return;
    if (path.includes(decl.name)) throw new Error(`DLQ cycle: ${[...path, decl.name].join(" -> ")}`);
    const attributes: Record<string, string> = {};
    if (decl.visibilityTimeoutSeconds !== undefined) attributes.VisibilityTimeout = String(decl.visibilityTimeoutSeconds);
    if (decl.messageRetentionSeconds !== undefined) attributes.MessageRetentionPeriod = String(decl.messageRetentionSeconds);
    if (decl.dlq) {
      // A DLQ may also be declared on its own (retention, its own DLQ); that declaration wins.
      await this.create(this.byName.get(decl.dlq.name) ?? { name: decl.dlq.name }, [...path, decl.name]);
      attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: this.arns.get(decl.dlq.name), maxReceiveCount: String(decl.dlq.maxReceiveCount) });
    }
    const url = await this.ensureQueue(decl.name, attributes);
    const got = await this.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
    const arn = got.Attributes?.QueueArn;
    if (arn === undefined) throw new Error(`GetQueueAttributes ${decl.name} returned no QueueArn`);
    this.urls[decl.name] = url;
    this.arns.set(decl.name, arn);
  }

  private async ensureQueue(name: string, attributes: Record<string, string>): Promise<string> {
    try {
      const created = await this.client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      if (!created.QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
      return created.QueueUrl;
    } catch (error) {
      // Re-declaring with changed attributes (e.g. after editing a declaration in dev) should converge
      // rather than fail, as an IaC deploy would.
      if (!(error instanceof Error) || error.name !== "QueueNameExists") throw error;
      const existing = await this.client.send(new GetQueueUrlCommand({ QueueName: name }));
      if (!existing.QueueUrl) throw error;
      if (Object.keys(attributes).length > 0) {
        await this.client.send(new SetQueueAttributesCommand({ QueueUrl: existing.QueueUrl, Attributes: attributes }));
      }
      return existing.QueueUrl;
    }
  }
}
