import { randomBytes } from "node:crypto";
import type { SQSClient } from "@aws-sdk/client-sqs";
import pg from "pg";
import { issueAccessToken } from "../../core/auth/tokens";
import { createSqsClient } from "../../core/queue/sqs";
import { startLocalCloud } from "../../local/cloud";
import type { LocalCloud } from "../../local/cloud";
import { migrateDatabase } from "../../local/database";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { startFakeTelegramApi } from "../../local/fake-telegram-api";
import type { FakeTelegramApi } from "../../local/fake-telegram-api";
import { startQueuePoller } from "../../local/queue-poller";
import type { QueuePoller } from "../../local/queue-poller";
import { loadSstManifest } from "../../local/sst-manifest";
import { RedisKeys } from "../../core/redis/keys";
import { installFlakyInserts } from "./flaky";

export interface ProofWorld {
  readonly run: string;
  readonly cloud: LocalCloud;
  readonly server: DevServer;
  readonly telegram: FakeTelegramApi;
  readonly db: pg.Client;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly admin: string;
  readonly service: string;
  /** The environment the functions run with (the mode-flip containers get the same). */
  readonly env: Record<string, string>;
  stopConsumers(): Promise<void>;
  close(): Promise<void>;
}

/** Consumers polling at once, as Lambda runs several batches of one queue concurrently. */
const CONSUMERS = 3;
/**
 * The proof's own queue: as declared, but a 12 s visibility timeout (just above the consumer's 10 s
 * timeout, as SQS requires for Lambda; the declared 60 s is 6x) so redeliveries come within the run.
 */
const VISIBILITY_SECONDS = 12;
const MAX_RECEIVES = 5;

/** The local cloud, a fresh database, the fake Bot API, every route, and the queue's consumers. */
export async function startProofWorld(log: (line: string) => void): Promise<ProofWorld> {
  const run = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  const manifest = await loadSstManifest();
  const cloud = await startLocalCloud({ queues: manifest.queues, log });
  const databaseUrl = await cloud.ensureDatabase(`botstate_proof_${run}`);
  await migrateDatabase(cloud.env, databaseUrl);
  const queues = await cloud.sqs.createQueues([
    { name: `Proof${run}Dlq` },
    { name: `Proof${run}`, visibilityTimeoutSeconds: VISIBILITY_SECONDS, dlq: { name: `Proof${run}Dlq`, maxReceiveCount: MAX_RECEIVES } },
  ]);
  const telegram = await startFakeTelegramApi();
  const jwtSecret = randomBytes(32).toString("base64url");
  const env: Record<string, string> = {
    ...cloud.env,
    DATABASE_URL: databaseUrl,
    JWT_SECRET: jwtSecret,
    LOG_LEVEL: process.env.PROOF_LOG_LEVEL ?? "SILENT",
    STAGE: "proof",
    REDIS_KEY_PREFIX: `proof:${run}:`,
    PROVISIONING_QUEUE_URL: queues[`Proof${run}`] ?? "",
    PROVISIONING_DLQ_URL: queues[`Proof${run}Dlq`] ?? "",
    PROVISIONING_MAX_RECEIVE_COUNT: String(MAX_RECEIVES),
    TELEGRAM_API_ROOT: telegram.root,
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_ADMIN_CHAT_ID: "-1001000000001",
    POWERTOOLS_METRICS_DISABLED: "true",
  };
  Object.assign(process.env, env);
  const server = await startDevServer({ routes: manifest.routes });
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await installFlakyInserts(db);
  const sqs = createSqsClient({ region: cloud.env.AWS_REGION, endpoint: cloud.env.SQS_ENDPOINT });
  const subscription = manifest.subscriptions.find((entry) => entry.queue === "ProvisioningQueue");
  if (!subscription) throw new Error("sst.config.ts subscribes nothing to ProvisioningQueue");
  const queueUrl = env.PROVISIONING_QUEUE_URL ?? "";
  const pollers: QueuePoller[] = Array.from({ length: CONSUMERS }, () =>
    startQueuePoller({ sqs, region: cloud.env.AWS_REGION, subscription, queueUrl, queueArn: `arn:aws:sqs:us-east-1:000000000000:Proof${run}`, waitSeconds: 1 }),
  );
  const token = (role: "admin" | "service") => issueAccessToken({ secret: jwtSecret, issuer: "botstate" }, { role, subject: `proof-${role}`, ttlSeconds: 3_600 }, new Date());
  const stopConsumers = async () => void (await Promise.all(pollers.splice(0).map((poller) => poller.stop())));
  return {
    run,
    cloud,
    server,
    telegram,
    db,
    sqs,
    queueUrl,
    dlqUrl: env.PROVISIONING_DLQ_URL ?? "",
    admin: await token("admin"),
    service: await token("service"),
    env,
    stopConsumers,
    close: async () => {
      await stopConsumers();
      await server.close();
      await db.end();
      sqs.destroy();
      await telegram.close();
      await removeProofData(cloud, `botstate_proof_${run}`, env.REDIS_KEY_PREFIX ?? "");
      await cloud.stop();
    },
  };
}

/** The proof leaves the shared servers as it found them: its database and its Redis keys go. */
async function removeProofData(cloud: LocalCloud, database: string, keyPrefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: cloud.backing.databaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  let cursor = "0";
  do {
    const reply = await cloud.redisBackend.call("SCAN", [cursor, "MATCH", new RedisKeys(keyPrefix).everythingPattern(), "COUNT", "1000"]);
    if (!Array.isArray(reply)) break;
    const [next, keys] = reply;
    cursor = String(next);
    if (Array.isArray(keys) && keys.length > 0) await cloud.redisBackend.call("DEL", keys.map((key) => String(key)));
  } while (cursor !== "0");
}
