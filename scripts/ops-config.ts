import { z } from "zod";
import { configSchema } from "../core/config";
import { ConfigError } from "../core/errors";
import { readEnvFile } from "../local/env-file";

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

export const databaseSettingsSchema = configSchema.pick({ DATABASE_URL: true, NEON_FETCH_ENDPOINT: true, NEON_WS_PROXY: true });
export const redisSettingsSchema = configSchema.pick({
  UPSTASH_REDIS_REST_URL: true,
  UPSTASH_REDIS_REST_TOKEN: true,
  REDIS_KEY_PREFIX: true,
  REDIS_RETRIES: true,
});
export const tokenSettingsSchema = configSchema.pick({ JWT_SECRET: true, JWT_ISSUER: true });

/** What is wrong with the names a schema reads, each problem naming its variable; values never echoed. */
export function settingsProblems(schema: z.ZodType, source: Env): string[] {
  const result = schema.safeParse(source);
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(root)";
    return isSet(source[name]) ? `${name} ${issue.message}` : `${name} is missing`;
  });
}

/** Throws one ConfigError naming every problem of every schema a command needs. */
export function checkSettings(schemas: readonly z.ZodType[], source: Env): void {
  const problems = schemas.flatMap((schema) => settingsProblems(schema, source));
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
}

/** The validated names one schema reads. */
export function parseSettings<Schema extends z.ZodType>(schema: Schema, source: Env): z.output<Schema> {
  checkSettings([schema], source);
  return schema.parse(source);
}
