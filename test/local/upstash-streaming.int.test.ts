import { randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RedisBackend } from "../../local/redis-backend";
import { createMemoryRedisBackend } from "../../local/redis-memory-backend";
import { connectRedisBackend } from "../../local/redis-server-backend";
import { startUpstashEndpoint } from "../../local/upstash-endpoint";
import type { UpstashEndpoint } from "../../local/upstash-endpoint";
import { backing } from "../support/backing";

const engines: readonly (readonly [name: string, make: () => Promise<RedisBackend>])[] = [
  ...(backing().redisUrl === null ? [] : ([["a Redis server", () => connectRedisBackend(backing().redisUrl!)]] as const)),
  ["the in-process engine", async () => createMemoryRedisBackend()],
];

for (const [engine, makeBackend] of engines) {
  describe(`Upstash REST endpoint over ${engine}: what @upstash/redis streams and waits for`, () => {
    let backend: RedisBackend;
    let endpoint: UpstashEndpoint;
    let redis: Redis;
    const prefix = `test:upstash-streaming:${randomUUID()}:`;

    beforeAll(async () => {
      backend = await makeBackend();
      endpoint = await startUpstashEndpoint({ backend, token: randomUUID() });
      redis = new Redis({ url: endpoint.url, token: endpoint.token, enableTelemetry: false, enableAutoPipelining: false });
    });
    afterAll(async () => {
      await endpoint?.close();
      await backend?.close();
    });

    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${endpoint.url}${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${endpoint.token}` },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as unknown };
    };

    it("streams SUBSCRIBE as server-sent events: the confirmation, then every message in order", async () => {
      const channel = `${prefix}chan`;
      const subscriber = redis.subscribe<{ n: number }>([channel]);
      const counts: number[] = [];
      const messages: { n: number }[] = [];
      subscriber.on("subscribe", (count) => counts.push(count));
      subscriber.on("message", ({ message }) => messages.push(message));
      try {
        await vi.waitFor(() => expect(counts).toEqual([1]), { timeout: 5_000 });
        for (const n of [1, 2, 3]) expect(await redis.publish(channel, { n })).toBe(1);
        await vi.waitFor(() => expect(messages).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]), { timeout: 5_000 });
      } finally {
        await subscriber.unsubscribe();
      }
      // Closing the stream ends the subscription on the Redis side.
      await vi.waitFor(async () => expect(await redis.publish(channel, { n: 4 })).toBe(0), { timeout: 5_000 });
    });

    it("streams PSUBSCRIBE with the pattern and the channel of each message", async () => {
      const pattern = `${prefix}news.*`;
      const subscriber = redis.psubscribe<{ text: string }>([pattern]);
      const received: { pattern: string; channel: string; message: { text: string } }[] = [];
      let subscribed = 0;
      subscriber.on("psubscribe", (count) => (subscribed = count));
      subscriber.on("pmessage", (event) => received.push(event));
      try {
        await vi.waitFor(() => expect(subscribed).toBe(1), { timeout: 5_000 });
        await redis.publish(`${prefix}news.sport`, { text: "goal" });
        await redis.publish(`${prefix}weather`, { text: "rain" });
        await vi.waitFor(() => expect(received).toEqual([{ pattern, channel: `${prefix}news.sport`, message: { text: "goal" } }]), { timeout: 5_000 });
      } finally {
        await subscriber.unsubscribe();
      }
    });

    it("BLPOP waits for a push without holding up other commands, and answers nil at its timeout", async () => {
      const list = `${prefix}queue`;
      const waiting = redis.exec<[string, string] | null>(["BLPOP", list, "5"]);
      // Meanwhile the endpoint answers other requests.
      expect(await redis.set(`${prefix}other`, "x")).toBe("OK");
      expect(await redis.rpush(list, "job-1")).toBeGreaterThanOrEqual(1);
      expect(await waiting).toEqual([list, "job-1"]);

      const started = Date.now();
      expect(await redis.exec(["BLPOP", `${prefix}empty`, "0.3"])).toBeNull();
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    });

    it("XREAD BLOCK waits for the next entry", async () => {
      const stream = `${prefix}stream`;
      await redis.xadd(stream, "*", { before: "1" });
      const waiting = redis.xread(stream, "$", { blockMS: 5_000 } as never) as Promise<unknown>;
      await vi.waitFor(async () => {
        await redis.xadd(stream, "*", { after: "two" });
        expect(await Promise.race([waiting, new Promise((resolve) => setTimeout(() => resolve("pending"), 50))])).not.toBe("pending");
      }, { timeout: 5_000 });
      const reply = (await waiting) as [string, [string, string[]][]][];
      expect(reply[0]?.[0]).toBe(stream);
      expect(reply[0]?.[1][0]?.[1]).toEqual(["after", "two"]);
    });

    it("runs a blocking command inside a pipeline in order, and does not wait inside a transaction", async () => {
      const list = `${prefix}pipelined`;
      expect(await post("/pipeline", [["RPUSH", list, "a"], ["BLPOP", list, "1"], ["LLEN", list]])).toEqual({
        status: 200,
        body: [{ result: 1 }, { result: [list, "a"] }, { result: 0 }],
      });
      const started = Date.now();
      expect(await post("/multi-exec", [["BLPOP", `${prefix}nothing`, "5"], ["PING"]])).toEqual({ status: 200, body: [{ result: null }, { result: "PONG" }] });
      expect(Date.now() - started).toBeLessThan(4_000);
    });

    it("answers an empty pipeline or transaction with an empty list", async () => {
      expect(await post("/pipeline", [])).toEqual({ status: 200, body: [] });
      expect(await post("/multi-exec", [])).toEqual({ status: 200, body: [] });
    });

    it("stops waiting when the client goes away", async () => {
      const list = `${prefix}abandoned`;
      const controller = new AbortController();
      const request = fetch(`${endpoint.url}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${endpoint.token}` },
        body: JSON.stringify(["BLPOP", list, "0"]),
        signal: controller.signal,
      }).catch(() => "aborted");
      await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      expect(await request).toBe("aborted");
      // The abandoned BLPOP must not take an element pushed afterwards.
      await vi.waitFor(async () => {
        await redis.del(list);
        await redis.rpush(list, "kept");
        expect(await redis.lrange(list, 0, -1)).toEqual(["kept"]);
      }, { timeout: 5_000 });
    });
  });
}
