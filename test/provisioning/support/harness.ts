import { randomInt, randomUUID } from "node:crypto";
import type { SQSClient } from "@aws-sdk/client-sqs";
import pg from "pg";
import { createSqsClient } from "../../../core/queue/sqs";
import { startDevServer } from "../../../local/dev-server";
import type { DevServer } from "../../../local/dev-server";
import { startQueuePoller } from "../../../local/queue-poller";
import type { QueuePoller } from "../../../local/queue-poller";
import { loadSstManifest } from "../../../local/sst-manifest";
import type { SstManifest } from "../../../local/sst-manifest";
import { backgroundTasks } from "../../../runtime/background";
import { useAppEnv } from "../../support/cloud";
import type { AppEnv } from "../../support/cloud";
import { token } from "../../lookups/support/http";
import { createQueuePair } from "./queues";
import type { QueuePair } from "./queues";

export interface HarnessOptions {
  /** Extra environment (read once by the handlers this file imports). */
  readonly env?: Record<string, string>;
  readonly visibilityTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
  /** Leave SQS_ENDPOINT as given in env (e.g. a dead port) and create no queue. */
  readonly noQueue?: boolean;
}

export interface Harness {
  readonly app: AppEnv;
  readonly manifest: SstManifest;
  readonly server: DevServer;
  readonly sqs: SQSClient;
  readonly queues: QueuePair | undefined;
  readonly db: pg.Client;
  readonly admin: string;
  readonly service: string;
  /** Starts Lambda's event source for the consumer on this file's queue. */
  startConsumer(): QueuePoller;
  close(): Promise<void>;
}

export interface HttpAnswer<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/** A dev server over every declared route, pointed at this file's database, key prefix and queue. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const probe = await useAppEnv({ LOG_LEVEL: "SILENT" });
  const sqs = createSqsClient({ region: probe.env.AWS_REGION ?? "us-east-1", endpoint: options.env?.SQS_ENDPOINT ?? probe.env.SQS_ENDPOINT });
  const queues = options.noQueue
    ? undefined
    : await createQueuePair(sqs, { visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 1, maxReceiveCount: options.maxReceiveCount ?? 5 });
  const env = {
    SYSTEM_MODE_CHECK_INTERVAL_MS: "50",
    PROVISIONING_MAX_RECEIVE_COUNT: String(options.maxReceiveCount ?? 5),
    ...(queues ? { PROVISIONING_QUEUE_URL: queues.queueUrl, PROVISIONING_DLQ_URL: queues.dlqUrl } : {}),
    ...options.env,
  };
  Object.assign(process.env, env);
  const app: AppEnv = { ...probe, env: { ...probe.env, ...env } };
  const manifest = await loadSstManifest();
  const server = await startDevServer({ routes: manifest.routes });
  const db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
  const pollers: QueuePoller[] = [];
  const startConsumer = (): QueuePoller => {
    const subscription = manifest.subscriptions.find((entry) => entry.queue === "ProvisioningQueue");
    if (!subscription || !queues) throw new Error("no provisioning subscription or queue");
    const poller = startQueuePoller({ sqs, region: "us-east-1", subscription, queueUrl: queues.queueUrl, queueArn: queues.queueArn, waitSeconds: 1 });
    pollers.push(poller);
    return poller;
  };
  return {
    app,
    manifest,
    server,
    sqs,
    queues,
    db,
    admin: await token("admin"),
    service: await token("service", "sales-tool"),
    startConsumer,
    close: async () => {
      await Promise.all(pollers.map((poller) => poller.stop()));
      // Alert deliveries started by requests finish before their database goes away.
      await backgroundTasks().settled();
      await db.end();
      await server.close();
      sqs.destroy();
      await app.database.drop();
    },
  };
}

/** One HTTP call to the dev server. */
export async function call<T = unknown>(
  harness: Harness,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpAnswer<T>> {
  const response = await fetch(harness.server.url + path, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === "" ? undefined : JSON.parse(text)) as T, headers: response.headers };
}

export interface UserBody {
  readonly id: string;
  readonly email: string;
  readonly telegramId: string;
  readonly okxUid: string | null;
  readonly plan: string | null;
  readonly displayName: string | null;
  readonly isActive: boolean;
  readonly createdAt: string;
}

export interface AcceptedBody {
  readonly provisioningId: string;
  readonly status: "pending";
}

export interface ProvisioningBody {
  readonly id: string;
  readonly status: "pending" | "done" | "failed";
  readonly userId?: string;
  readonly error?: string;
}

/** A person the sales tool might send: unique identifiers every call. */
export function newPerson(overrides: Partial<{ email: string; telegramId: string; okxUid: string | null; plan: string; displayName: string }> = {}) {
  const tag = randomUUID().slice(0, 8);
  return {
    email: `Buyer.${tag}@Example.com`,
    telegramId: String(7_000_000_000 + randomInt(1, 999_999_999)),
    okxUid: `5187965580${randomInt(10_000_000, 100_000_000)}`,
    plan: "pro",
    displayName: `Buyer ${tag}`,
    ...overrides,
  };
}

export const createUser = (harness: Harness, key: string, body: unknown, bearer = harness.service) =>
  call<UserBody & AcceptedBody>(harness, "POST", "/v1/users", { token: bearer, body, headers: { "idempotency-key": key } });

export async function setMode(harness: Harness, mode: "async_queue" | "sync_direct"): Promise<void> {
  const answer = await call(harness, "PUT", "/v1/admin/system-mode", { token: harness.admin, body: { mode, reason: "test" } });
  if (answer.status !== 200) throw new Error(`mode switch failed: ${answer.status} ${JSON.stringify(answer.body)}`);
}

export async function countUsers(harness: Harness, where = "true", params: unknown[] = []): Promise<number> {
  const { rows } = await harness.db.query<{ n: string }>(`SELECT count(*) AS n FROM app_users WHERE ${where}`, params);
  return Number(rows[0]?.n ?? 0);
}
