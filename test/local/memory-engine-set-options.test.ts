import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryRedisBackend } from "../../local/redis-memory-backend";
import type { RedisBackend } from "../../local/redis-backend";

/** Replies as text (the engine keeps bulk strings as bytes, like the real server). */
const text = async (reply: Promise<unknown>) => {
  const value = await reply;
  return value === null ? null : String(value);
};

let engine: RedisBackend;

beforeAll(() => {
  engine = createMemoryRedisBackend();
});
afterAll(() => engine?.close());

describe("the in-process Redis engine reads SET's options as Redis does", () => {
  it("in lower case (as @upstash/redis sends them): nx refuses a second set, px and ex set a TTL", async () => {
    expect(await text(engine.call("SET", ["lock", "a", "nx", "px", "5000"]))).toBe("OK");
    expect(await text(engine.call("SET", ["lock", "b", "nx", "px", "5000"]))).toBeNull();
    expect(await text(engine.call("GET", ["lock"]))).toBe("a");
    const pttl = Number(await engine.call("PTTL", ["lock"]));
    expect(pttl).toBeGreaterThan(4_000);
    expect(await text(engine.call("SET", ["mark", "done", "ex", "120"]))).toBe("OK");
    expect(Number(await engine.call("TTL", ["mark"]))).toBeGreaterThan(100);
  });

  it("leaves the value's case alone", async () => {
    await engine.call("SET", ["word", "MiXeD", "ex", "60"]);
    expect(await text(engine.call("GET", ["word"]))).toBe("MiXeD");
  });
});
