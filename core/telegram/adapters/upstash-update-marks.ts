import type { Redis } from "@upstash/redis";
import type { RedisKeys } from "../../redis/keys";
import type { ClaimResult, UpdateClaim, UpdateMarks } from "../ports";

const DONE = "done";
const held = (token: string) => `p:${token}`;

// Deletes the mark only if this claim still holds it (a lease that expired may have been taken over).
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Update marks in Redis: `SET NX PX` takes an update, `done` with a TTL records it. */
export class UpstashUpdateMarks implements UpdateMarks {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async claim(updateId: number, token: string, leaseMs: number): Promise<ClaimResult> {
    const key = this.keys.telegramUpdate(updateId);
    const taken = await this.redis.set(key, held(token), { nx: true, px: leaseMs });
    if (taken === "OK") return { kind: "claimed", claim: { updateId, token, store: "redis" } };
    // Gone between the two calls (a lease ran out): report busy, Telegram comes back.
    return (await this.redis.get<string>(key)) === DONE ? { kind: "done" } : { kind: "busy" };
  }

  async complete(claim: UpdateClaim, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.keys.telegramUpdate(claim.updateId), DONE, { ex: ttlSeconds });
  }

  async release(claim: UpdateClaim): Promise<void> {
    await this.redis.eval(RELEASE, [this.keys.telegramUpdate(claim.updateId)], [held(claim.token)]);
  }
}
