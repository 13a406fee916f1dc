import { createHash, randomUUID } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import { beforeAll, describe, expect, it } from "vitest";
import { createUpstashRedis } from "../../core/redis/upstash";
import { withoutUpstashFlags } from "../../local/upstash-script-flags";
import { cloudEnv, testKeyPrefix } from "../support/cloud";

let redis: Redis;
let prefix: string;

beforeAll(() => {
  redis = createUpstashRedis({ url: cloudEnv().UPSTASH_REDIS_REST_URL, token: cloudEnv().UPSTASH_REDIS_REST_TOKEN, retries: 0 });
  prefix = testKeyPrefix();
});

describe("the local Upstash endpoint takes Upstash's Lua flags", () => {
  it("drops allow-key-locking and keeps the flags Redis knows", () => {
    expect(withoutUpstashFlags("#!lua flags=allow-key-locking\nreturn 1")).toBe("return 1");
    expect(withoutUpstashFlags("#!lua flags=no-writes,allow-key-locking\nreturn 1")).toBe("#!lua flags=no-writes\nreturn 1");
    expect(withoutUpstashFlags("#!lua flags=no-writes\nreturn 1")).toBe("#!lua flags=no-writes\nreturn 1");
    expect(withoutUpstashFlags("return 1")).toBe("return 1");
  });

  it("runs a flagged script by EVAL, then by the EVALSHA of the script as sent", async () => {
    const source = `#!lua flags=allow-key-locking\n-- ${randomUUID()}\nreturn redis.call('SET', KEYS[1], ARGV[1])`;
    const key = `${prefix}flagged`;
    expect(await redis.eval(source, [key], ["v1"])).toBe("OK");
    const sha = createHash("sha1").update(source).digest("hex");
    expect(await redis.evalsha(sha, [key], ["v2"])).toBe("OK");
    expect(await redis.get(key)).toBe("v2");
  });

  it("lets @upstash/ratelimit (whose scripts carry the flag) limit for real", async () => {
    const limiter = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(2, "60 s"), prefix: `${prefix}rl`, analytics: false, ephemeralCache: false });
    const results = [];
    for (let i = 0; i < 3; i += 1) results.push((await limiter.limit("chat")).success);
    expect(results).toEqual([true, true, false]);
  });
});
