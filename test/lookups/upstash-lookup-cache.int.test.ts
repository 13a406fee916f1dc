import { describe, expect, it } from "vitest";
import type { Identifier } from "../../core/lookups/identifier";
import { UpstashLookupCache } from "../../core/lookups/adapters/upstash-lookup-cache";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { cloudEnv, testKeyPrefix } from "../support/cloud";

const env = cloudEnv();
const redis = createUpstashRedis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, retries: 0 });
const keys = new RedisKeys(testKeyPrefix());
const cache = new UpstashLookupCache(redis, keys);
const okx = (value: string): Identifier => ({ kind: "okx_uid", value });

describe("UpstashLookupCache with the real client", () => {
  it("reads many entries in one MGET, positive, negative and absent", async () => {
    const hit = okx("518796558012178692");
    const miss = okx("518796558012178693");
    await cache.setMany([
      { identifier: hit, value: { kind: "hit", telegramId: "7012345678", userId: null, okxUid: hit.value, origin: "database" }, ttlSeconds: 60 },
      { identifier: miss, value: { kind: "miss" }, ttlSeconds: 5 },
    ]);
    expect(await cache.getMany([hit, miss, okx("518796558012178694")])).toEqual([
      { entry: { kind: "hit", telegramId: "7012345678", userId: null, okxUid: hit.value, origin: "database" }, slot: null },
      { entry: { kind: "miss" }, slot: null },
      { entry: null, slot: null },
    ]);
    const ttl = await redis.ttl(keys.lookup(miss.kind, miss.value));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5);
    await cache.invalidate([hit, miss]);
    expect((await cache.getMany([hit, miss])).map((read) => read.entry)).toEqual([null, null]);
  });

  it("returns an existing entry without touching the fill lock", async () => {
    const id = okx("518796558012178699");
    const value = { kind: "hit", telegramId: "7012345679", userId: null, okxUid: id.value, origin: "database" } as const;
    await cache.setMany([{ identifier: id, value, ttlSeconds: 60 }]);
    expect(await cache.getOrLockFill(id, 5_000)).toEqual({ entry: value, slot: null, locked: false });
    expect(await redis.exists(keys.lookupFillLock(id.kind, id.value))).toBe(0);
  });

  it("takes the fill lock with the read of an absent entry, for one holder at a time", async () => {
    const id = okx("518796558012178700");
    const other = new UpstashLookupCache(redis, keys);
    expect(await cache.getOrLockFill(id, 5_000)).toEqual({ entry: null, slot: null, locked: true });
    expect(await other.getOrLockFill(id, 5_000)).toEqual({ entry: null, slot: null, locked: false });
    await cache.releaseFill(id);
    expect(await other.getOrLockFill(id, 5_000)).toEqual({ entry: null, slot: null, locked: true });
    await other.releaseFill(id);
    expect(await redis.exists(keys.lookupFillLock(id.kind, id.value))).toBe(0);
  });

  it("does not release a lock that expired and was taken by another filler", async () => {
    const id = okx("518796558012178701");
    const lockKey = keys.lookupFillLock(id.kind, id.value);
    expect((await cache.getOrLockFill(id, 5_000)).locked).toBe(true);
    // As if our lock had expired and another container had taken it since.
    await redis.set(lockKey, "someone-else", { px: 5_000 });
    await cache.releaseFill(id);
    expect(await redis.get(lockKey)).toBe("someone-else");
    await redis.del(lockKey);
  });
});

describe("invalidation", () => {
  it("reads as absent, names the invalidation, and lets the next reader take the fill lock", async () => {
    const id = okx("518796558012178710");
    await cache.setMany([{ identifier: id, value: { kind: "miss" }, ttlSeconds: 60 }]);
    await cache.invalidate([id]);
    const [read] = await cache.getMany([id]);
    expect(read?.entry).toBeNull();
    expect(read?.slot).toMatch(/^[0-9a-f-]{36}$/);
    expect(await cache.getOrLockFill(id, 5_000)).toEqual({ entry: null, slot: read?.slot, locked: true });
    await cache.releaseFill(id);
  });

  it("keeps a fill that read before an invalidation from writing its answer back", async () => {
    const id = okx("518796558012178711");
    const stale = { kind: "hit", telegramId: "7012345670", userId: null, okxUid: id.value, origin: "database" } as const;
    const [before] = await cache.getMany([id]);
    // The fill read the empty slot and the old row; then an admin change invalidated; then the fill writes.
    await cache.invalidate([id]);
    await cache.setMany([{ identifier: id, value: stale, ttlSeconds: 3600, expectedSlot: before?.slot ?? null }]);
    expect((await cache.getMany([id]))[0]?.entry).toBeNull();
  });

  it("lets a fill that read after the invalidation cache its answer at once", async () => {
    const id = okx("518796558012178713");
    await cache.invalidate([id]);
    const [after] = await cache.getMany([id]);
    const fresh = { kind: "hit", telegramId: "7012345672", userId: null, okxUid: id.value, origin: "database" } as const;
    await cache.setMany([{ identifier: id, value: fresh, ttlSeconds: 60, expectedSlot: after?.slot ?? null }]);
    expect((await cache.getMany([id]))[0]?.entry).toEqual(fresh);
  });

  it("never overwrites an entry another filler wrote first", async () => {
    const id = okx("518796558012178712");
    const first = { kind: "hit", telegramId: "7012345671", userId: null, okxUid: id.value, origin: "database" } as const;
    await cache.setMany([{ identifier: id, value: first, ttlSeconds: 60 }]);
    await cache.setMany([{ identifier: id, value: { kind: "miss" }, ttlSeconds: 60 }]);
    expect((await cache.getMany([id]))[0]?.entry).toEqual(first);
  });
});

describe("fill lock released with the cache write", () => {
  it("writes the entry and releases its own lock in one pipeline", async () => {
    const id = okx("518796558012178702");
    const lockKey = keys.lookupFillLock(id.kind, id.value);
    expect((await cache.getOrLockFill(id, 5_000)).locked).toBe(true);
    await cache.setMany([{ identifier: id, value: { kind: "miss" }, ttlSeconds: 5 }], id);
    expect(await redis.exists(lockKey)).toBe(0);
    expect(await cache.getOrLockFill(id, 5_000)).toEqual({ entry: { kind: "miss" }, slot: null, locked: false });
  });
});
