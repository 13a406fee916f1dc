import { randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RedisBackend } from "../../local/redis-backend";
import { createMemoryRedisBackend } from "../../local/redis-memory-backend";
import { connectRedisBackend } from "../../local/redis-server-backend";
import { startUpstashEndpoint } from "../../local/upstash-endpoint";
import type { UpstashEndpoint } from "../../local/upstash-endpoint";
import { backing } from "../support/backing";

/**
 * Options @upstash/redis sends in lower case, and EXPIRE's conditions (Redis 7), which the
 * in-process engine's mock misread: the same answers from both engines, found by the
 * @upstash/redis repository's tests (npm run yardstick:upstash with BOTSTATE_EMBEDDED=memory).
 */
const engines: readonly (readonly [name: string, make: () => Promise<RedisBackend>])[] = [
  ...(backing().redisUrl === null ? [] : ([["a Redis server", () => connectRedisBackend(backing().redisUrl!)]] as const)),
  ["the in-process engine", async () => createMemoryRedisBackend()],
];

for (const [engine, makeBackend] of engines) {
  describe(`options as @upstash/redis sends them, over ${engine}`, () => {
    let backend: RedisBackend;
    let endpoint: UpstashEndpoint;
    let redis: Redis;
    const prefix = `test:memory-engine-options:${randomUUID()}:`;

    beforeAll(async () => {
      backend = await makeBackend();
      endpoint = await startUpstashEndpoint({ backend, token: randomUUID() });
      redis = new Redis({ url: endpoint.url, token: endpoint.token, enableTelemetry: false, enableAutoPipelining: false });
    });
    afterAll(async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await endpoint?.close();
      await backend?.close();
    });

    it("ZADD nx / xx / ch / incr", async () => {
      const key = `${prefix}z`;
      expect(await redis.zadd(key, { score: 1, member: "a" })).toBe(1);
      expect(await redis.zadd(key, { nx: true }, { score: 5, member: "a" })).toBe(0);
      expect(await redis.zadd(key, { xx: true }, { score: 5, member: "b" })).toBe(0);
      expect(await redis.zadd(key, { xx: true, ch: true }, { score: 2, member: "a" })).toBe(1);
      expect(await redis.zadd(key, { incr: true }, { score: 3, member: "a" })).toBe(5);
      expect(await redis.zrange(key, 0, -1, { withScores: true })).toEqual(["a", 5]);
    });

    it("ZADD gt / lt update a member only in their direction, and always add a new one", async () => {
      const key = `${prefix}zgt`;
      await redis.zadd(key, { score: 5, member: "a" });
      expect(await redis.zadd(key, { gt: true }, { score: 3, member: "a" }, { score: 1, member: "new" })).toBe(1);
      expect(await redis.zscore(key, "a")).toBe(5);
      expect(await redis.zadd(key, { gt: true, ch: true }, { score: 7, member: "a" })).toBe(1);
      expect(await redis.zadd(key, { lt: true }, { score: 9, member: "a" })).toBe(0);
      expect(await redis.zadd(key, { lt: true }, { score: 2, member: "a" })).toBe(0);
      expect(await redis.zrange(key, 0, -1, { withScores: true })).toEqual(["new", 1, "a", 2]);
      expect(await redis.zadd(key, { gt: true, incr: true }, { score: -1, member: "a" })).toBeNull();
      expect(await redis.zadd(key, { gt: true, incr: true }, { score: 1, member: "a" })).toBe(3);
    });

    it("LMOVE left / right, and GETRANGE of a missing key", async () => {
      const from = `${prefix}from`;
      const to = `${prefix}to`;
      await redis.rpush(from, "a", "b");
      expect(await redis.lmove(from, to, "left", "right")).toBe("a");
      expect(await redis.lmove(from, to, "right", "left")).toBe("b");
      expect(await redis.lrange(to, 0, -1)).toEqual(["b", "a"]);
      expect(await redis.getrange(`${prefix}missing`, 0, 5)).toBe("");
    });

    it("LINSERT before / after", async () => {
      const key = `${prefix}list`;
      await redis.rpush(key, "b");
      expect(await redis.linsert(key, "before", "b", "a")).toBe(2);
      expect(await redis.linsert(key, "after", "b", "c")).toBe(3);
      expect(await redis.lrange(key, 0, -1)).toEqual(["a", "b", "c"]);
    });

    it("SCAN with a type, the pattern keeping its case", async () => {
      await redis.set(`${prefix}Str`, "v");
      await redis.rpush(`${prefix}List`, "v");
      const found: string[] = [];
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, { match: `${prefix}*`, type: "string", count: 100 });
        cursor = String(next);
        found.push(...keys);
      } while (cursor !== "0");
      expect(found).toEqual([`${prefix}Str`]);
    });

    it("TOUCH counts the keys that exist", async () => {
      await redis.set(`${prefix}t1`, "v");
      expect(await redis.touch(`${prefix}t1`, `${prefix}missing`)).toBe(1);
    });

    it("EXPIRE nx / xx / gt / lt decide against the current expiry, none counting as infinite", async () => {
      const key = `${prefix}ttl`;
      await redis.set(key, "v");
      expect(await redis.expire(key, 100, "xx")).toBe(0);
      expect(await redis.expire(key, 100, "gt")).toBe(0);
      expect(await redis.expire(key, 100, "nx")).toBe(1);
      expect(await redis.expire(key, 200, "nx")).toBe(0);
      expect(await redis.expire(key, 50, "gt")).toBe(0);
      expect(await redis.expire(key, 200, "gt")).toBe(1);
      expect(await redis.pexpire(key, 300_000, "lt")).toBe(0);
      expect(await redis.pexpire(key, 150_000, "lt")).toBe(1);
      expect(await redis.ttl(key)).toBeGreaterThan(140);
      expect(await redis.ttl(key)).toBeLessThanOrEqual(150);
      expect(await redis.expire(`${prefix}missing`, 10, "lt")).toBe(0);
    });
  });
}
