import type { Redis } from "@upstash/redis";
import { UnavailableError } from "../../errors";
import type { PositionKeys } from "../../redis/keys";
import { withTimeout } from "../../resilience/timeout";
import type { OpenPositionCount } from "../ports";

/**
 * KEYS[1]: the user's exchanges set; ARGV[1]: the prefix of the user's index keys
 * (PositionKeys.positionScriptPrefixes, as core/positions' own scripts use it) to which each
 * exchange is appended. Returns the sum of the index sizes.
 */
const COUNT_OPEN = `local total = 0
for _, exchange in ipairs(redis.call("SMEMBERS", KEYS[1])) do
  total = total + redis.call("SCARD", ARGV[1] .. exchange)
end
return total`;

/**
 * Counts a user's open positions from the positions index (owned by core/positions) in one script
 * call. Bounded; a failure is a 503 (open positions live only in Redis: nothing else could answer).
 */
export class UpstashOpenPositionCount implements OpenPositionCount {
  private readonly script;

  constructor(
    redis: Redis,
    private readonly keys: PositionKeys,
    private readonly timeoutMs = 1_000,
  ) {
    this.script = redis.createScript<number>(COUNT_OPEN);
  }

  async count(userId: string): Promise<number> {
    const run = this.script.exec([this.keys.positionExchanges(userId)], [this.keys.positionScriptPrefixes(userId).index]);
    try {
      return Number(await withTimeout(run, this.timeoutMs, "open positions count"));
    } catch (error) {
      throw error instanceof UnavailableError ? error : new UnavailableError("open positions: Redis failed", { cause: error });
    }
  }
}
