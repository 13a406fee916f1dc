import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import type { Clock } from "../../clock";
import { errorMessage } from "../../errors";
import type { LogPort } from "../../observability/log-port";
import type { RedisKeys } from "../../redis/keys";
import type { ChatRateLimiter, RateDecision } from "../ports";

export interface ChatRateLimitOptions {
  /** Commands a chat may send per window. */
  readonly limit: number;
  readonly windowSeconds: number;
  /** Longest a check waits on Redis; past it (or when Redis fails) the command is let through. */
  readonly timeoutMs: number;
}

/**
 * Commands per chat with @upstash/ratelimit (sliding window). Over the limit, the first refusal of
 * a window says so (a notice key set NX until the window resets) and the rest are silent. A rate
 * limiter must not take the bot down with Redis: when it cannot decide, it lets the command through.
 */
export class UpstashChatRateLimiter implements ChatRateLimiter {
  private readonly ratelimit: Ratelimit;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
    private readonly log: LogPort,
    options: ChatRateLimitOptions,
  ) {
    this.ratelimit = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(options.limit, `${options.windowSeconds} s`),
      prefix: keys.telegramRateLimitPrefix(),
      analytics: false,
      // Every container must see the same count: no in-memory shortcut.
      ephemeralCache: false,
      timeout: options.timeoutMs,
    });
  }

  async check(chatId: string): Promise<RateDecision> {
    try {
      const { success, reset } = await this.ratelimit.limit(chatId);
      if (success) return { allowed: true };
      const waitMs = Math.max(1_000, reset - this.clock.now().getTime());
      const first = await this.redis.set(this.keys.telegramRateNotice(chatId), "1", { nx: true, px: waitMs });
      return { allowed: false, notify: first === "OK", retryAfterSeconds: Math.ceil(waitMs / 1000) };
    } catch (error) {
      this.log.warn("telegram rate limit unavailable, letting the command through", { chatId, reason: errorMessage(error) });
      return { allowed: true };
    }
  }
}
