// The Resource alone: the package index also loads its realtime and vector modules (and node:util).
import { Resource } from "sst/resource";
import type * as z from "zod/mini";
import { parseConfig } from "../core/config";
import type { ConfigSource } from "../core/config";
import type { Lazy } from "../core/validation/lazy";

/**
 * Config names fed by SST links in a deployed stage (see infra/). Locally the same names come
 * from the environment, which `npm start`, the ops CLI and the tests fill from the local cloud.
 * A function sees only the resources its infra declaration links.
 */
const linkedSecrets: Readonly<Record<string, string>> = {
  JWT_SECRET: "JwtSecret",
  ENCRYPTION_KEY: "EncryptionKey",
  ENCRYPTION_PREVIOUS_KEYS: "EncryptionPreviousKeys",
  UPSTASH_REDIS_REST_URL: "UpstashRedisRestUrl",
  UPSTASH_REDIS_REST_TOKEN: "UpstashRedisRestToken",
  DATABASE_URL: "DatabaseUrl",
  TELEGRAM_BOT_TOKEN: "TelegramBotToken",
  TELEGRAM_WEBHOOK_SECRET: "TelegramWebhookSecret",
  TELEGRAM_ADMIN_CHAT_ID: "TelegramAdminChatId",
};

const linkedQueueUrls: Readonly<Record<string, string>> = {
  PROVISIONING_QUEUE_URL: "ProvisioningQueue",
  PROVISIONING_DLQ_URL: "ProvisioningDlq",
};

type LinkedResources = Record<string, { value?: string; url?: string } | undefined>;

function fromLinks(): ConfigSource {
  const resources = Resource as unknown as LinkedResources;
  const source: Record<string, string | undefined> = {};
  for (const [name, resource] of Object.entries(linkedSecrets)) {
    if (resource in resources) source[name] = resources[resource]?.value;
  }
  for (const [name, resource] of Object.entries(linkedQueueUrls)) {
    if (resource in resources) source[name] = resources[resource]?.url;
  }
  return source;
}

let source: ConfigSource | undefined;
const memos = new Map<unknown, unknown>();

/**
 * Builds a value once per container (cold start) and keeps it: configs, clients, wired
 * capabilities. Everything in runtime/ that must exist once goes through here, so that one call
 * (useConfigSource) can start over from other settings.
 */
export function once<T>(key: unknown, build: () => T): T {
  if (!memos.has(key)) memos.set(key, build());
  return memos.get(key) as T;
}

/**
 * The validated values of one config schema, read from SST links and the environment once per
 * container; a missing or malformed value throws a ConfigError naming it. Each client asks only
 * for its part. The schema is built here, on its first use, not when core/config.ts loads.
 */
export function configFor<Schema extends z.core.$ZodType>(schema: Lazy<Schema>): z.output<Schema> {
  return once(schema, () => {
    source ??= { ...fromLinks(), ...process.env };
    return parseConfig(schema(), source);
  });
}

/** Where the ops CLI points the runtime (environment plus env file); forgets every built value. */
export function useConfigSource(values: ConfigSource): void {
  source = values;
  memos.clear();
}
