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

/** One entry written back under `stamp` at `nowMs`, expecting the slot as the fill's probe saw it. */
async function writeOne(key: string, tags: readonly string[], stamp: string, value: ReturnType<typeof entry>, keepMs: number, options: { releaseToken?: string; expectedSlot?: string | null; nowMs?: number } = {}) {
  const release = options.releaseToken ? { key, token: options.releaseToken } : undefined;
  const [written] = await store.write("views", { tags, stamp, nowMs: options.nowMs ?? 1_000, entries: [{ key, expectedSlot: options.expectedSlot ?? null, entry: value, keepMs }], release });
  return written;
}

describe("UpstashCacheStore with the real client", () => {
  it("probes, takes the fill lock only when there is no fresh entry, and writes while the tags are unchanged", async () => {
    const empty = await store.probe("views", "k1", ["user/1"], 1_000, { token: "t1", ms: 5_000 });
    expect(empty).toEqual({ fresh: null, stale: null, stamp: "@0.", locked: true, slot: null });
    expect((await store.probe("views", "k1", ["user/1"], 1_000, { token: "t2", ms: 5_000 })).locked).toBe(false);
    expect(await writeOne("k1", ["user/1"], empty.stamp, entry(1, 2_000), 10_000, { releaseToken: "t1" })).toBe(true);
    expect(await redis.exists(keys.cacheFillLock("views", "k1"))).toBe(0);
    expect(await store.probe("views", "k1", ["user/1"], 1_500, { token: "t3", ms: 5_000 })).toEqual({ fresh: entry(1, 2_000), stale: null, stamp: "@0.", locked: false, slot: null });
    const expired = await store.probe("views", "k1", ["user/1"], 2_000);
    expect(expired).toEqual({ fresh: null, stale: entry(1, 2_000), stamp: "@0.", locked: false, slot: null });
    const ttl = await redis.pttl(keys.cacheEntry("views", "k1"));
    expect(ttl).toBeGreaterThan(9_000);
    expect(ttl).toBeLessThanOrEqual(10_000);
  });

  it("a bump makes every entry of the tag invalid, with no SCAN, and refuses a fill that read before it", async () => {
    const before = await store.probe("views", "k2", ["user/2", "global"], 1_000);
    await writeOne("k2", ["user/2", "global"], before.stamp, entry(1, 9_000), 10_000);
    const racing = await store.probe("views", "k3", ["user/2"], 1_000);
    await store.bumpTags(["user/2"]);
    expect(await redis.get(keys.cacheTag("user/2"))).toBe(1);
    expect(await redis.pttl(keys.cacheTag("user/2"))).toBeGreaterThan(6 * 24 * 3600 * 1000);
    expect(await store.probe("views", "k2", ["user/2", "global"], 1_000)).toEqual({ fresh: null, stale: null, stamp: "@1.0.", locked: false, slot: null });
    expect(await writeOne("k3", ["user/2"], racing.stamp, entry(0, 9_000), 10_000)).toBe(false);
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

describe("per-key invalidation (tombstones) and batch reads with the real client", () => {
  it("a tombstone reads as no entry that names the invalidation, and takes the fill lock", async () => {
    const before = await store.probe("views", "t1", [], 1_000);
    await writeOne("t1", [], before.stamp, entry(1, 9_000), 10_000);
    await store.tombstone("views", ["t1"], "inv-1", 5_000);
    expect(await store.probe("views", "t1", [], 1_000, { token: "me", ms: 5_000 })).toEqual({ fresh: null, stale: null, stamp: "@", locked: true, slot: "inv-1" });
    const ttl = await redis.pttl(keys.cacheEntry("views", "t1"));
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
    await store.release("views", "t1", "me");
  });

  it("refuses a fill that probed before the tombstone, takes one that probed after it", async () => {
    const early = await store.probe("views", "t2", [], 1_000);
    await store.tombstone("views", ["t2"], "inv-2", 5_000);
    expect(await writeOne("t2", [], early.stamp, entry(1, 9_000), 10_000, { expectedSlot: early.slot })).toBe(false);
    const late = await store.probe("views", "t2", [], 1_000);
    expect(await writeOne("t2", [], late.stamp, entry(2, 9_000), 10_000, { expectedSlot: late.slot })).toBe(true);
    // A second invalidation after the late probe: its write would now be refused too.
    await store.tombstone("views", ["t2"], "inv-3", 5_000);
    expect(await writeOne("t2", [], late.stamp, entry(3, 9_000), 10_000, { expectedSlot: late.slot })).toBe(false);
  });

  it("never overwrites a fresh entry another filler wrote first, but replaces an expired one", async () => {
    const probe = await store.probe("views", "t3", [], 1_000);
    expect(await writeOne("t3", [], probe.stamp, entry(1, 2_000), 10_000)).toBe(true);
    expect(await writeOne("t3", [], probe.stamp, entry(2, 9_000), 10_000, { nowMs: 1_500 })).toBe(false);
    expect(await writeOne("t3", [], probe.stamp, entry(3, 9_000), 10_000, { nowMs: 2_000 })).toBe(true);
    expect((await store.probe("views", "t3", [], 2_000)).fresh).toEqual(entry(3, 9_000));
  });

  it("probes many keys in one call and writes many in one, releasing the lock even with nothing to write", async () => {
    await store.tombstone("views", ["m2"], "inv-m", 5_000);
    const [first] = await store.probeMany("views", ["m1"], 1_000);
    await writeOne("m1", [], "@", entry(1, 2_000), 10_000, { expectedSlot: first?.slot ?? null });
    expect(await store.probeMany("views", ["m1", "m2", "m3"], 1_500)).toEqual([
      { fresh: entry(1, 2_000), stale: null, stamp: "@", locked: false, slot: null },
      { fresh: null, stale: null, stamp: "@", locked: false, slot: "inv-m" },
      { fresh: null, stale: null, stamp: "@", locked: false, slot: null },
    ]);
    const written = await store.write("views", {
      tags: [],
      stamp: "@",
      nowMs: 1_500,
      entries: [
        { key: "m2", expectedSlot: "inv-m", entry: entry(2, 9_000), keepMs: 10_000 },
        { key: "m3", expectedSlot: null, entry: entry(3, 9_000), keepMs: 10_000 },
        { key: "m1", expectedSlot: null, entry: entry(4, 9_000), keepMs: 10_000 },
      ],
    });
    expect(written).toEqual([true, true, false]);
    expect((await store.probe("views", "m4", [], 1_000, { token: "lock-m4", ms: 5_000 })).locked).toBe(true);
    expect(await store.write("views", { tags: [], stamp: "@", nowMs: 1_000, entries: [], release: { key: "m4", token: "lock-m4" } })).toEqual([]);
    expect(await redis.exists(keys.cacheFillLock("views", "m4"))).toBe(0);
  });
});
