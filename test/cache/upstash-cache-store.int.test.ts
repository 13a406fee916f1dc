import { describe, expect, it } from "vitest";
import { UpstashCacheStore } from "../../core/cache/adapters/upstash-cache-store";
import { ReadThroughCache, defaultReadThroughOptions } from "../../core/cache/read-through-cache";
import { TagInvalidator } from "../../core/cache/tag-invalidator";
import { UnavailableError } from "../../core/errors";
import { silentLog } from "../../core/observability/log-port";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { cloudEnv, testKeyPrefix } from "../support/cloud";

const env = cloudEnv();
const redis = createUpstashRedis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, retries: 0 });
const keys = new RedisKeys(testKeyPrefix());
const store = new UpstashCacheStore(redis, keys);
const entry = (n: number, freshUntilMs: number) => ({ payload: `v${JSON.stringify({ n, text: "a|b" })}`, freshUntilMs });

describe("UpstashCacheStore with the real client", () => {
  it("probes, takes the fill lock only when there is no fresh entry, and writes while the tags are unchanged", async () => {
    const empty = await store.probe("views", "k1", ["user/1"], 1_000, { token: "t1", ms: 5_000 });
    expect(empty).toEqual({ fresh: null, stale: null, stamp: "@0.", locked: true });
    expect((await store.probe("views", "k1", ["user/1"], 1_000, { token: "t2", ms: 5_000 })).locked).toBe(false);
    expect(await store.write("views", "k1", ["user/1"], empty.stamp, entry(1, 2_000), 10_000, "t1")).toBe(true);
    expect(await redis.exists(keys.cacheFillLock("views", "k1"))).toBe(0);
    expect(await store.probe("views", "k1", ["user/1"], 1_500, { token: "t3", ms: 5_000 })).toEqual({ fresh: entry(1, 2_000), stale: null, stamp: "@0.", locked: false });
    const expired = await store.probe("views", "k1", ["user/1"], 2_000);
    expect(expired).toEqual({ fresh: null, stale: entry(1, 2_000), stamp: "@0.", locked: false });
    const ttl = await redis.pttl(keys.cacheEntry("views", "k1"));
    expect(ttl).toBeGreaterThan(9_000);
    expect(ttl).toBeLessThanOrEqual(10_000);
  });

  it("a bump makes every entry of the tag invalid, with no SCAN, and refuses a fill that read before it", async () => {
    const before = await store.probe("views", "k2", ["user/2", "global"], 1_000);
    await store.write("views", "k2", ["user/2", "global"], before.stamp, entry(1, 9_000), 10_000);
    const racing = await store.probe("views", "k3", ["user/2"], 1_000);
    await store.bumpTags(["user/2"]);
    expect(await redis.get(keys.cacheTag("user/2"))).toBe(1);
    expect(await redis.pttl(keys.cacheTag("user/2"))).toBeGreaterThan(6 * 24 * 3600 * 1000);
    expect(await store.probe("views", "k2", ["user/2", "global"], 1_000)).toEqual({ fresh: null, stale: null, stamp: "@1.0.", locked: false });
    expect(await store.write("views", "k3", ["user/2"], racing.stamp, entry(0, 9_000), 10_000)).toBe(false);
    expect(await redis.exists(keys.cacheEntry("views", "k3"))).toBe(0);
  });

  it("release frees only its own lock", async () => {
    await store.probe("views", "k4", [], 1_000, { token: "mine", ms: 5_000 });
    await redis.set(keys.cacheFillLock("views", "k4"), "theirs", { px: 5_000 });
    await store.release("views", "k4", "mine");
    expect(await redis.get(keys.cacheFillLock("views", "k4"))).toBe("theirs");
    await store.release("views", "k4", "theirs");
    expect(await redis.exists(keys.cacheFillLock("views", "k4"))).toBe(0);
  });

  it("runs the read-through cache end to end: miss, hit, invalidation, stale-if-error", async () => {
    let now = Date.now();
    const cache = new ReadThroughCache<{ n: number }>(
      { store, invalidator: new TagInvalidator(store), clock: { now: () => new Date(now) }, ids: { uuid: () => crypto.randomUUID() }, log: silentLog, sleep: async () => undefined },
      { ...defaultReadThroughOptions, name: "e2e" },
    );
    let n = 1;
    const read = () => cache.get({ key: "user-9", tags: ["user/9"], fill: async () => ({ n }) });
    expect(await read()).toEqual({ value: { n: 1 }, outcome: "miss" });
    expect(await read()).toEqual({ value: { n: 1 }, outcome: "hit" });
    n = 2;
    await cache.invalidate(["user/9"]);
    expect(await read()).toEqual({ value: { n: 2 }, outcome: "miss" });
    now += defaultReadThroughOptions.ttlMs + 1_000;
    const down = await cache.get({ key: "user-9", tags: ["user/9"], fill: async () => Promise.reject(new UnavailableError("down")) });
    expect(down).toEqual({ value: { n: 2 }, outcome: "stale", staleForMs: 1_000 });
  });
});
