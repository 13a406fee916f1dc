import type { Redis } from "@upstash/redis";
import { UnavailableError } from "../../errors";
import type { PositionKeys } from "../../redis/keys";
import { withTimeout } from "../../resilience/timeout";
import type { OpenPositionCount } from "../ports";

/**
 * Counts a user's open positions from the positions index (owned by core/positions): the
 * exchanges set, then one SCARD per exchange index in a pipeline. Bounded; a failure is a 503
 * (open positions live only in Redis, so there is nothing else to answer from).
 */
export class UpstashOpenPositionCount implements OpenPositionCount {
  constructor(
    private readonly redis: Redis,
    private readonly keys: PositionKeys,
    private readonly timeoutMs = 1_000,
  ) {}

  async count(userId: string): Promise<number> {
    try {
      return await withTimeout(this.read(userId), this.timeoutMs, "open positions count");
    } catch (error) {
      throw error instanceof UnavailableError ? error : new UnavailableError("open positions: Redis failed", { cause: error });
    }
  }

  private async read(userId: string): Promise<number> {
    const exchanges = await this.redis.smembers<string[]>(this.keys.positionExchanges(userId));
    if (exchanges.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const exchange of exchanges) pipeline.scard(this.keys.positionIndex(userId, String(exchange)));
    const counts = await pipeline.exec<number[]>();
    return counts.reduce((sum, n) => sum + Number(n), 0);
  }
}
