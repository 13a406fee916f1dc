import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { authConfigSchema, httpConfigSchema, parseConfig, platformConfigSchema, postgresConfigSchema, redisConfigSchema, sqsConfigSchema } from "../../core/config";
import { ConfigError } from "../../core/errors";

const valid = {
  UPSTASH_REDIS_REST_URL: "https://example.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "token",
  DATABASE_URL: "postgres://user:pw@example.neon.tech/db",
  JWT_SECRET: "x".repeat(32),
};

const schema = z.object({
  ...platformConfigSchema().shape,
  ...redisConfigSchema().shape,
  ...postgresConfigSchema().shape,
  ...sqsConfigSchema().shape,
  ...authConfigSchema().shape,
  ...httpConfigSchema().shape,
});
const parse = (source: Record<string, string | undefined>) => parseConfig(schema, source);

describe("parseConfig", () => {
  it("accepts a complete environment and applies defaults", () => {
    const config = parse(valid);
    expect(config.STAGE).toBe("local");
    expect(config.REDIS_KEY_PREFIX).toBe("");
    expect(config.HTTP_MAX_BODY_BYTES).toBe(256 * 1024);
    expect(config.NEON_FETCH_ENDPOINT).toBeUndefined();
  });

  it("names every missing value at once", () => {
    const { JWT_SECRET: _secret, DATABASE_URL: _db, ...rest } = valid;
    expect(() => parse(rest)).toThrow(ConfigError);
    expect(() => parse(rest)).toThrow(/DATABASE_URL is missing.*JWT_SECRET is missing/);
  });

  it("names a malformed value without echoing it", () => {
    const attempt = () => parse({ ...valid, JWT_SECRET: "short-secret", DATABASE_URL: "mysql://x" });
    expect(attempt).toThrow(/JWT_SECRET must be at least 32 characters/);
    expect(attempt).toThrow(/DATABASE_URL must be a postgres:\/\/ connection string/);
    expect(attempt).not.toThrow(/short-secret/);
  });

  it("treats empty optional overrides as unset", () => {
    expect(parse({ ...valid, SQS_ENDPOINT: "" }).SQS_ENDPOINT).toBeUndefined();
    expect(() => parse({ ...valid, SQS_ENDPOINT: "not a url" })).toThrow(/SQS_ENDPOINT/);
  });
});
