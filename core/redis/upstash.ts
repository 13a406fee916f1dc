import { Redis } from "@upstash/redis";

export interface UpstashOptions {
  readonly url: string;
  readonly token: string;
  /** Retries of a failed HTTP call; bounded so a dead Redis costs little. */
  readonly retries: number;
  /** false: replies as Redis sent them (strings stay strings; the positions hashes need that). Default true. */
  readonly automaticDeserialization?: boolean;
}

/** One @upstash/redis client per container; telemetry off, bounded retries with short backoff. */
export function createUpstashRedis(options: UpstashOptions): Redis {
  return new Redis({
    url: options.url,
    token: options.token,
    enableTelemetry: false,
    automaticDeserialization: options.automaticDeserialization ?? true,
    retry: {
      retries: options.retries,
      backoff: (attempt) => Math.min(25 * 2 ** attempt, 200),
    },
  });
}
