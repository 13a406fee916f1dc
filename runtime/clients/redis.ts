import type { Redis } from "@upstash/redis";
import { redisConfigSchema } from "../../core/config";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { configFor, once } from "../config";

/** The container's @upstash/redis client, built on first use. */
export function redisClient(): Redis {
  return once(createUpstashRedis, () => {
    const config = configFor(redisConfigSchema);
    return createUpstashRedis({ url: config.UPSTASH_REDIS_REST_URL, token: config.UPSTASH_REDIS_REST_TOKEN, retries: config.REDIS_RETRIES });
  });
}

/** A second client whose replies are not JSON-parsed: strings stored in hashes come back as written. */
export function rawRedisClient(): Redis {
  return once(rawRedisClient, () => {
    const config = configFor(redisConfigSchema);
    return createUpstashRedis({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      retries: config.REDIS_RETRIES,
      automaticDeserialization: false,
    });
  });
}

/** The key builder with this stage's prefix. */
export function redisKeys(): RedisKeys {
  return once(RedisKeys, () => new RedisKeys(configFor(redisConfigSchema).REDIS_KEY_PREFIX));
}
