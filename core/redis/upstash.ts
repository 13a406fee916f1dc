import { Redis } from "@upstash/redis";

export interface UpstashSettings {
  readonly url: string;
  readonly token: string;
  /** Retries of a failed HTTP call; bounded so a dead Redis costs little. */
  readonly retries: number;
}

/** One @upstash/redis client per container; telemetry off, bounded retries with short backoff. */
export function createUpstashRedis(settings: UpstashSettings): Redis {
  return new Redis({
    url: settings.url,
    token: settings.token,
    enableTelemetry: false,
    retry: {
      retries: settings.retries,
      backoff: (attempt) => Math.min(25 * 2 ** attempt, 200),
    },
  });
}
