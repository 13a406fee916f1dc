import { createHash, randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RedisBackend } from "../../local/redis-backend";
import { createMemoryRedisBackend } from "../../local/redis-memory-backend";
import { connectRedisBackend } from "../../local/redis-server-backend";
import { startUpstashEndpoint } from "../../local/upstash-endpoint";
import type { UpstashEndpoint } from "../../local/upstash-endpoint";
import { backing } from "../support/backing";

/**
 * Lua scripting and SCAN as Redis does them, which the in-process engine's mock did not (its Lua
 * bridge lost nested tables and status replies, it had no SCRIPT LOAD, and its SCAN cursor skipped
 * keys when others were deleted during a walk): the same answers from a Redis server and from the
 * engine, through the Upstash endpoint and @upstash/redis as the product uses them.
 */
const engines: readonly (readonly [name: string, make: () => Promise<RedisBackend>])[] = [
  ...(backing().redisUrl === null ? [] : ([["a Redis server", () => connectRedisBackend(backing().redisUrl!)]] as const)),
  ["the in-process engine", async () => createMemoryRedisBackend()],
];

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

for (const [engine, makeBackend] of engines) {
  describe(`scripts and SCAN over ${engine}`, () => {
    let backend: RedisBackend;
    let endpoint: UpstashEndpoint;
    let redis: Redis;
    const prefix = `test:memory-engine-scripts:${randomUUID()}:`;

    beforeAll(async () => {
      backend = await makeBackend();
      endpoint = await startUpstashEndpoint({ backend, token: randomUUID() });
      redis = new Redis({ url: endpoint.url, token: endpoint.token, enableTelemetry: false, enableAutoPipelining: false, automaticDeserialization: false });
    });
    afterAll(async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await endpoint?.close();
      await backend?.close();
    });

    it("converts replies both ways as Redis does: nested tables, nil as false, status replies, numbers truncated", async () => {
      await redis.hset(`${prefix}h`, { a: "1", b: "2" });
      const script = `local out = {1, "two", {3, false, "x"}, redis.call("HGETALL", KEYS[1]), redis.call("TYPE", KEYS[1])["ok"]}
out[#out + 1] = redis.call("GET", KEYS[2]) == false and "nil is false" or "nil is not false"
out[#out + 1] = redis.sha1hex("abc")
out[#out + 1] = 3.9
out[#out + 1] = true
out[#out + 1] = redis.call("SET", KEYS[2], "v")["ok"]
return out`;
      expect(await redis.eval(script, [`${prefix}h`, `${prefix}s`], [])).toEqual([1, "two", [3, null, "x"], ["a", "1", "b", "2"], "hash", "nil is false", sha1("abc"), 3, 1, "OK"]);
      expect(await redis.eval(`return {1, nil, 3}`, [], [])).toEqual([1]);
      // Filled by index in any order, as the product's scripts build their replies.
      expect(await redis.eval(`local out = {} out[2] = {"b", redis.call("HGETALL", KEYS[1])} out[1] = "a" return out`, [`${prefix}h`], [])).toEqual(["a", ["b", ["a", "1", "b", "2"]]]);
      expect(await redis.eval(`return redis.status_reply("FINE")`, [], [])).toBe("FINE");
      await expect(redis.eval(`return redis.error_reply("MY bad")`, [], [])).rejects.toThrow(/MY bad/);
    });

    it("prints numbers as Redis' Lua does, large integers included", async () => {
      const script = `local n = redis.call("INCRBY", KEYS[1], 5000000000)
return tostring(n) .. " " .. (n + 1) .. " " .. tostring(10 / 2) .. " " .. tostring(3.5) .. " " .. ARGV[1] + 1`;
      expect(await redis.eval(script, [`${prefix}n`], ["41"])).toBe("5000000000 5000000001 5 3.5 42");
      expect(await redis.eval(`return redis.call("INCRBY", KEYS[1], ARGV[1])`, [`${prefix}n`], ["7"])).toBe(5000000007);
    });

    it("redis.call raises a command's error and redis.pcall returns it; Lua errors name the script", async () => {
      await redis.set(`${prefix}str`, "x");
      const call = `return redis.call("HGET", KEYS[1], "a")`;
      await expect(redis.eval(call, [`${prefix}str`], [])).rejects.toThrow(`WRONGTYPE Operation against a key holding the wrong kind of value script: ${sha1(call)}`);
      await expect(redis.eval(`return redis.pcall("HGET", KEYS[1], "a")`, [`${prefix}str`], [])).rejects.toThrow(/WRONGTYPE Operation against a key holding the wrong kind of value, command was/);
      const pcall = `local r = redis.pcall("HGET", KEYS[1], "a") return r["err"]`;
      expect(await redis.eval(pcall, [`${prefix}str`], [])).toBe("WRONGTYPE Operation against a key holding the wrong kind of value");
      await expect(redis.eval(`return foo`, [], [])).rejects.toThrow("ERR user_script:1: Script attempted to access nonexistent global variable 'foo'");
      await expect(redis.eval(`x = 1`, [], [])).rejects.toThrow("ERR user_script:1: Attempt to modify a readonly table");
      await expect(redis.eval(`return {1,2`, [], [])).rejects.toThrow("ERR Error compiling script (new function): user_script:1: '}' expected near");
      await expect(redis.eval(`return redis.call("EVAL", "return 1", "0")`, [], [])).rejects.toThrow("This Redis command is not allowed from script");
      await expect(redis.eval(`return redis.call("BLPOP", KEYS[1], "1")`, [`${prefix}list`], [])).rejects.toThrow("This Redis command is not allowed from script");
    });

    it("SCRIPT LOAD and EXISTS, EVALSHA of loaded and unknown scripts, EVAL caching its script", async () => {
      const script = `return {KEYS[1], ARGV[1], unpack(ARGV, 2)}`;
      expect(await redis.scriptLoad(script)).toBe(sha1(script));
      expect(await redis.evalsha(sha1(script), [`${prefix}k`], ["a", "b", "c"])).toEqual([`${prefix}k`, "a", "b", "c"]);
      expect(await redis.evalsha(sha1(script).toUpperCase(), [`${prefix}k`], ["a"])).toEqual([`${prefix}k`, "a"]);
      const unknown = sha1(`return "${randomUUID()}"`);
      expect(await redis.scriptExists(sha1(script), unknown)).toEqual([1, 0]);
      await expect(redis.evalsha(unknown, [], [])).rejects.toThrow("NOSCRIPT No matching script. Please use EVAL.");
      const evaluated = `return "${randomUUID()}"`;
      await redis.eval(evaluated, [], []);
      expect(await redis.scriptExists(sha1(evaluated))).toEqual([1]);
      await expect(backend.call("EVAL", ["return 1", "2", "k"])).resolves.toMatchObject({ message: "ERR Number of keys can't be greater than number of args" });
      await expect(backend.call("EVAL", ["return 1", "-1"])).resolves.toMatchObject({ message: "ERR Number of keys can't be negative" });
    });

    it("read-only scripts (EVAL_RO, EVALSHA_RO, #!lua flags=no-writes) read and may not write", async () => {
      await redis.set(`${prefix}ro`, "before");
      const read = `return redis.call("GET", KEYS[1])`;
      expect(await redis.evalRo(read, [`${prefix}ro`], [])).toBe("before");
      await expect(redis.evalRo(`return redis.call("SET", KEYS[1], "x")`, [`${prefix}ro`], [])).rejects.toThrow("ERR Write commands are not allowed from read-only scripts.");
      await expect(redis.evalshaRo(await redis.scriptLoad(`return redis.call("DEL", KEYS[1])`), [`${prefix}ro`], [])).rejects.toThrow(/Write commands are not allowed/);
      await expect(redis.eval(`#!lua flags=no-writes\nreturn redis.call("SET", KEYS[1], "x")`, [`${prefix}ro`], [])).rejects.toThrow(/Write commands are not allowed/);
      expect(await redis.get(`${prefix}ro`)).toBe("before");
      await expect(redis.eval(`#!lua flags=no-such-flag\nreturn 1`, [], [])).rejects.toThrow("Unexpected flag in script shebang: no-such-flag");
    });

    it("SCAN returns every key present for the whole walk, once, while the walker deletes what it read", async () => {
      const keys = Array.from({ length: 60 }, (_, i) => `${prefix}walk:${i}`);
      for (const key of keys) await redis.set(key, "v");
      const seen: string[] = [];
      let cursor = "0";
      do {
        const [next, found] = await redis.scan(cursor, { match: `${prefix}walk:*`, count: 100 });
        cursor = String(next);
        seen.push(...found);
        // Like a migration moving what it read: deleted keys behind the cursor must not shift it.
        if (found.length > 0) await redis.del(...found);
      } while (cursor !== "0");
      expect([...seen].sort()).toEqual([...keys].sort());
    });

    it("SCAN takes its options in any order and case, filters by TYPE, and refuses bad cursors and counts", async () => {
      await redis.set(`${prefix}typed:s`, "v");
      await redis.hset(`${prefix}typed:h`, { f: "v" });
      const walk = async (...options: string[]) => {
        const found: string[] = [];
        let cursor = "0";
        do {
          const reply = (await backend.call("SCAN", [cursor, ...options])) as [Buffer | string, (Buffer | string)[]];
          cursor = String(reply[0]);
          found.push(...reply[1].map(String));
        } while (cursor !== "0");
        return found.sort();
      };
      expect(await walk("count", "1000", "match", `${prefix}typed:*`)).toEqual([`${prefix}typed:h`, `${prefix}typed:s`]);
      expect(await walk("TYPE", "hash", "MATCH", `${prefix}typed:*`, "COUNT", "1000")).toEqual([`${prefix}typed:h`]);
      expect(await walk("MATCH", `${prefix}typed:[sx]`, "COUNT", "1000")).toEqual([`${prefix}typed:s`]);
      await expect(backend.call("SCAN", ["abc"])).resolves.toMatchObject({ message: "ERR invalid cursor" });
      await expect(backend.call("SCAN", ["0", "COUNT", "0"])).resolves.toMatchObject({ message: "ERR syntax error" });
      await expect(backend.call("SCAN", ["0", "FOO", "bar"])).resolves.toMatchObject({ message: "ERR syntax error" });
    });
  });
}

describe("SCRIPT FLUSH on the in-process engine (a shared Redis server's scripts belong to other tests)", () => {
  it("forgets every script, EVAL'd or loaded", async () => {
    const backend = createMemoryRedisBackend();
    try {
      const sha = await backend.call("SCRIPT", ["LOAD", "return 1"]);
      expect(await backend.call("EVALSHA", [String(sha), "0"])).toBe(1);
      expect(await backend.call("SCRIPT", ["FLUSH"])).toBe("OK");
      expect(await backend.call("SCRIPT", ["EXISTS", String(sha)])).toEqual([0]);
      expect(await backend.call("EVALSHA", [String(sha), "0"])).toMatchObject({ message: "NOSCRIPT No matching script. Please use EVAL." });
      expect(await backend.call("EVAL", ["return 2", "0"])).toBe(2);
    } finally {
      await backend.close();
    }
  });
});
