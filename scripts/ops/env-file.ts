import { readEnvFile } from "../../local/env-file";

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Settings that only make sense together. When the environment names the primary (first) one, the
 * others are never filled from the env file: a production DATABASE_URL must not be paired with the
 * local cloud's Neon endpoint, nor a real Upstash URL with the local token or key prefix.
 */
const GROUPS: readonly (readonly string[])[] = [
  ["DATABASE_URL", "NEON_FETCH_ENDPOINT", "NEON_WS_PROXY"],
  ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "REDIS_KEY_PREFIX"],
  ["JWT_SECRET", "JWT_ISSUER"],
  // A production key must open production rows with production's previous keys, never the dev ones.
  ["ENCRYPTION_KEY", "ENCRYPTION_PREVIOUS_KEYS"],
  ["SQS_ENDPOINT", "PROVISIONING_QUEUE_URL", "PROVISIONING_DLQ_URL"],
  // A real bot token must reach api.telegram.org with the real secret, never the local fake's.
  ["TELEGRAM_BOT_TOKEN", "TELEGRAM_API_ROOT", "TELEGRAM_WEBHOOK_SECRET"],
];

export interface ResolvedEnv {
  readonly values: Env;
  /** Names taken from the env file (never values), for the operator's peace of mind. */
  readonly fromFile: readonly string[];
}

const isSet = (value: string | undefined): value is string => value !== undefined && value !== "";

/** The environment, with names it leaves unset filled from the env file (`.env.local` of `npm start`). */
export function resolveEnv(env: Env, envFile: string): ResolvedEnv {
  const file = readEnvFile(envFile);
  const values: Record<string, string | undefined> = { ...env };
  const fromFile: string[] = [];
  const blocked = new Set(GROUPS.filter(([primary]) => primary !== undefined && isSet(env[primary])).flatMap((group) => group.slice(1)));
  for (const [name, value] of Object.entries(file)) {
    if (isSet(env[name]) || blocked.has(name)) continue;
    values[name] = value;
    fromFile.push(name);
  }
  return { values, fromFile: fromFile.sort() };
}
