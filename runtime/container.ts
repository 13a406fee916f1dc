import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Redis } from "@upstash/redis";
import { randomIds, systemClock } from "../core/clock";
import type { Clock, IdGenerator } from "../core/clock";
import type { Config } from "../core/config";
import { createSql } from "../core/db/neon";
import type { Sql } from "../core/db/neon";
import { createLogger } from "../core/observability/logger";
import type { Logger } from "../core/observability/logger";
import { createSqsClient } from "../core/queue/sqs";
import { RedisKeys } from "../core/redis/keys";
import { createUpstashRedis } from "../core/redis/upstash";
import { loadConfig } from "./config";

/** The clients and services of one Lambda container, built on first use and then reused. */
export interface Container {
  readonly config: Config;
  readonly logger: Logger;
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly sql: Sql;
  readonly sqs: SQSClient;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

let current: Container | undefined;

export function container(): Container {
  current ??= buildContainer(loadConfig());
  return current;
}

function buildContainer(config: Config): Container {
  return {
    config,
    logger: createLogger({ serviceName: config.SERVICE_NAME, level: config.LOG_LEVEL }),
    redis: createUpstashRedis({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      retries: config.REDIS_RETRIES,
    }),
    keys: new RedisKeys(config.REDIS_KEY_PREFIX),
    sql: createSql({
      databaseUrl: config.DATABASE_URL,
      fetchEndpoint: config.NEON_FETCH_ENDPOINT,
      wsProxy: config.NEON_WS_PROXY,
    }),
    sqs: createSqsClient({ region: config.AWS_REGION, endpoint: config.SQS_ENDPOINT }),
    clock: systemClock,
    ids: randomIds,
  };
}
