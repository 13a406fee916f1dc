import { Resource } from "sst";
import { parseConfig } from "../core/config";
import type { Config, ConfigSource } from "../core/config";

/**
 * Config names fed by SST links in a deployed stage (see sst.config.ts). Locally the same names
 * come from the environment, which `npm start` and the tests fill from the local cloud.
 */
const linkedSecrets = {
  JWT_SECRET: "JwtSecret",
  ENCRYPTION_KEY: "EncryptionKey",
  UPSTASH_REDIS_REST_URL: "UpstashRedisRestUrl",
  UPSTASH_REDIS_REST_TOKEN: "UpstashRedisRestToken",
  DATABASE_URL: "DatabaseUrl",
} as const;

const linkedQueueUrls = {
  PROVISIONING_QUEUE_URL: "ProvisioningQueue",
} as const;

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

let cached: Config | undefined;

/** Read once per cold start; a missing or malformed value throws a ConfigError naming it. */
export function loadConfig(): Config {
  cached ??= parseConfig({ ...fromLinks(), ...process.env });
  return cached;
}
