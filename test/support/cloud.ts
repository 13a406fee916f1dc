import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { databaseUrl } from "../../local/cloud";
import type { LocalCloudEnv } from "../../local/cloud";
import { migrateDatabase } from "../../local/database";
import { backing } from "./backing";

declare module "vitest" {
  export interface ProvidedContext {
    cloud: Record<string, string>;
    queueUrls: Record<string, string>;
    /** Names this run's databases and key prefixes, so the global teardown removes exactly those. */
    runId: string;
  }
}

/** `t_<run>_<random>`: a database of this test run. */
export function testDatabaseName(): string {
  return `t_${inject("runId")}_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

/** `t:<run>:<random>:`: a Redis key prefix of this test run. */
export function testKeyPrefix(): string {
  return `t:${inject("runId")}:${randomBytes(6).toString("hex")}:`;
}

export function cloudEnv(): LocalCloudEnv {
  return inject("cloud") as unknown as LocalCloudEnv;
}

export function queueUrl(name: string): string {
  const url = inject("queueUrls")[name];
  if (!url) throw new Error(`queue ${name} is not created by the test setup`);
  return url;
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A fresh database with every migration applied; one per test file. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = testDatabaseName();
  const admin = new pg.Client({ connectionString: backing().databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(backing().databaseUrl, name);
  if (options.migrate ?? true) await migrateDatabase(cloudEnv(), url);
  return {
    name,
    url,
    drop: async () => {
      const client = new pg.Client({ connectionString: backing().databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789";
/** The exchange-credentials key of test runs (32 bytes, base64); files that test rotation pass their own. */
export const TEST_ENCRYPTION_KEY = Buffer.from("botstate-test-encryption-key-32b").toString("base64");

/** The Telegram webhook's settings, so every declared function can run; files that talk to a fake Bot API override them. */
export const TEST_TELEGRAM_ENV = {
  TELEGRAM_BOT_TOKEN: "1000000001:test-token-of-no-bot-0123456789abcdef",
  TELEGRAM_WEBHOOK_SECRET: "test-telegram-webhook-secret-0123456789",
  // Nothing listens there: a test that forgot its fake Bot API fails fast instead of calling Telegram.
  TELEGRAM_API_ROOT: "http://127.0.0.1:9",
} as const;

export interface AppEnv {
  readonly database: TestDatabase;
  readonly keyPrefix: string;
  readonly env: Record<string, string>;
}

/**
 * Points this test file's process (and so every handler it imports) at the local cloud, with its
 * own database and Redis key prefix. Call before importing handlers: config is read once.
 */
export async function useAppEnv(extra: Record<string, string> = {}): Promise<AppEnv> {
  const database = await createTestDatabase();
  const keyPrefix = testKeyPrefix();
  const env: Record<string, string> = {
    ...cloudEnv(),
    PROVISIONING_QUEUE_URL: queueUrl("ProvisioningQueue"),
    DATABASE_URL: database.url,
    REDIS_KEY_PREFIX: keyPrefix,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    ...TEST_TELEGRAM_ENV,
    LOG_LEVEL: "SILENT",
    ...extra,
  };
  Object.assign(process.env, env);
  return { database, keyPrefix, env };
}
