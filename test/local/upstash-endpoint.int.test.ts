import { createHash, randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMemoryRedisBackend } from "../../local/redis-memory-backend";
import { connectRedisBackend } from "../../local/redis-server-backend";
import type { RedisBackend } from "../../local/redis-backend";
import { startUpstashEndpoint } from "../../local/upstash-endpoint";
import type { UpstashEndpoint } from "../../local/upstash-endpoint";
import { backing } from "../support/backing";

interface Harness {
  readonly backend: RedisBackend;
  readonly endpoint: UpstashEndpoint;
  readonly redis: Redis;
  /** Unique per harness, so parallel runs against the same Redis never see each other's keys. */
  readonly prefix: string;
}

async function startHarness(backend: RedisBackend): Promise<Harness> {
  const endpoint = await startUpstashEndpoint({ backend, token: randomUUID() });
  const redis = new Redis({ url: endpoint.url, token: endpoint.token, enableTelemetry: false });
  return { backend, endpoint, redis, prefix: `test:upstash-endpoint:${randomUUID()}:` };
}

async function stopHarness(harness: Harness | undefined): Promise<void> {
  if (!harness) return;
  const { backend, endpoint, prefix } = harness;
  let cursor = "0";
  do {
    const reply = await backend.call("SCAN", [cursor, "MATCH", `${prefix}*`, "COUNT", "500"]);
    if (!Array.isArray(reply) || !Array.isArray(reply[1])) break;
    cursor = String(reply[0]);
    const keys = reply[1].map(String);
    if (keys.length > 0) await backend.call("UNLINK", keys);
  } while (cursor !== "0");
  await endpoint.close();
  await backend.close();
}

/** Raw HTTP, for what the client hides: status codes, error bodies and the wire encoding. */
async function post(harness: Harness, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${harness.endpoint.url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${harness.endpoint.token}`, "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

describe("Upstash REST endpoint", () => {
  let h: Harness;
  const wrongType = expect.stringMatching(/^WRONGTYPE /);

  beforeAll(async () => {
    const { redisUrl } = backing();
    h = await startHarness(redisUrl === null ? createMemoryRedisBackend() : await connectRedisBackend(redisUrl));
  });

  afterAll(async () => {
    await stopHarness(h);
  });

  it("round-trips strings: unicode, the literal OK, and JSON values", async () => {
    const unicode = "héllo wörld — 日本語 🚀";
    await h.redis.set(`${h.prefix}unicode`, unicode);
    expect(await h.redis.get(`${h.prefix}unicode`)).toBe(unicode);

    expect(await h.redis.set(`${h.prefix}ok`, "OK")).toBe("OK");
    expect(await h.redis.get(`${h.prefix}ok`)).toBe("OK");

    const value = { id: 7, name: "Zoë", tags: ["a", "b"], nested: { on: true, nothing: null } };
    await h.redis.set(`${h.prefix}json`, value);
    expect(await h.redis.get(`${h.prefix}json`)).toEqual(value);

    expect(await h.redis.get(`${h.prefix}missing`)).toBeNull();
  });

  it("sends status OK bare and every other string base64, as Upstash does", async () => {
    const key = `${h.prefix}wire`;
    const base64 = { "Upstash-Encoding": "base64" };
    expect(await post(h, "/", ["SET", key, "OK"], base64)).toEqual({ status: 200, body: { result: "OK" } });
    expect(await post(h, "/", ["SET", key, "💾"], base64)).toEqual({ status: 200, body: { result: "OK" } });
    expect(await post(h, "/", ["GET", key], base64)).toEqual({ status: 200, body: { result: Buffer.from("💾").toString("base64") } });
    expect(await post(h, "/", ["PING"], base64)).toEqual({ status: 200, body: { result: Buffer.from("PONG").toString("base64") } });
    expect(await post(h, "/", ["GET", key])).toEqual({ status: 200, body: { result: "💾" } });
    expect(await post(h, "/", ["EXISTS", key, `${key}:missing`], base64)).toEqual({ status: 200, body: { result: 1 } });
  });

  it("answers command errors with 400 and {error}", async () => {
    const key = `${h.prefix}text`;
    await h.redis.set(key, "a string");
    expect(await post(h, "/", ["LPUSH", key, "x"])).toEqual({ status: 400, body: { error: wrongType } });
    await expect(h.redis.lpush(key, "x")).rejects.toThrow(/Command failed/);
    expect(await h.redis.get(key)).toBe("a string");
  });

  it("handles hashes", async () => {
    const key = `${h.prefix}hash`;
    expect(await h.redis.hset(key, { name: "ada", count: 3, profile: { lang: "en" } })).toBe(3);
    expect(await h.redis.hget(key, "name")).toBe("ada");
    expect(await h.redis.hgetall(key)).toEqual({ name: "ada", count: 3, profile: { lang: "en" } });
    expect(await h.redis.hincrby(key, "count", 2)).toBe(5);
    expect(await h.redis.hgetall(`${h.prefix}no-hash`)).toBeNull();
  });

  it("handles sets", async () => {
    const key = `${h.prefix}set`;
    expect(await h.redis.sadd(key, "red", "green", "blue")).toBe(3);
    expect(((await h.redis.smembers(key)) as string[]).sort()).toEqual(["blue", "green", "red"]);
    expect(await h.redis.sismember(key, "green")).toBe(1);
    expect(await h.redis.sismember(key, "pink")).toBe(0);
  });

  it("handles sorted sets with scores", async () => {
    const key = `${h.prefix}zset`;
    expect(await h.redis.zadd(key, { score: 2.5, member: "b" }, { score: 1, member: "a" }, { score: -3, member: "c" })).toBe(3);
    expect(await h.redis.zrange(key, 0, -1)).toEqual(["c", "a", "b"]);
    expect(await h.redis.zrange(key, 0, -1, { withScores: true })).toEqual(["c", -3, "a", 1, "b", 2.5]);
    expect(await h.redis.zscore(key, "b")).toBe(2.5);
    expect(await h.redis.zincrby(key, 0.25, "a")).toBe(1.25);
  });

  it("runs a pipeline in order, keeping a failing command's error to itself", async () => {
    const counter = `${h.prefix}pipe:counter`;
    const text = `${h.prefix}pipe:text`;
    const pipeline = () => h.redis.pipeline().set(text, "abc").lpush(text, "x").incr(counter).incr(counter).get(text);

    const entries = await pipeline().exec({ keepErrors: true });
    expect(entries.map((entry) => entry.error)).toEqual([undefined, wrongType, undefined, undefined, undefined]);
    expect(entries.map((entry) => entry.result)).toEqual(["OK", undefined, 1, 2, "abc"]);

    // Without keepErrors the client throws for the whole pipeline, but the other commands did run.
    await expect(pipeline().exec()).rejects.toThrow(/Command 2 \[ lpush \] failed/);
    expect(await h.redis.get(counter)).toBe(4);

    const raw = await post(h, "/pipeline", [["LPUSH", text, "x"], ["GET", text]]);
    expect(raw).toEqual({ status: 200, body: [{ error: wrongType }, { result: "abc" }] });
  });

  it("runs multi-exec atomically", async () => {
    const key = `${h.prefix}tx`;
    const results = await h.redis.multi().set(key, 10).incrby(key, 5).get(key).exec();
    expect(results).toEqual(["OK", 15, 15]);

    const text = `${h.prefix}tx:text`;
    const raw = await post(h, "/multi-exec", [["SET", text, "x"], ["LPUSH", text, "y"], ["GET", text]]);
    expect(raw).toEqual({ status: 200, body: [{ result: "OK" }, { error: wrongType }, { result: "x" }] });

    // Rejected while queueing: nothing of the transaction runs.
    const aborted = await post(h, "/multi-exec", [["SET", `${h.prefix}tx:never`, "1"], ["SELECT", "2"]]);
    expect(aborted.status).toBe(400);
    expect(await h.redis.exists(`${h.prefix}tx:never`)).toBe(0);
  });

  it("answers COPY of a key onto itself with 0, as Upstash does (Redis 7 refuses it)", async () => {
    const key = `${h.prefix}copy:self`;
    await h.redis.set(key, "v");
    expect(await h.redis.copy(key, key)).toBe("NOT_COPIED");
    expect(await post(h, "/pipeline", [["COPY", key, key, "REPLACE"], ["GET", key]])).toEqual({
      status: 200,
      body: [{ result: 0 }, { result: "v" }],
    });
    expect(await post(h, "/multi-exec", [["COPY", key, key], ["GET", key]])).toEqual({
      status: 200,
      body: [{ result: 0 }, { result: "v" }],
    });
  });

  it("evaluates Lua with nested array replies", async () => {
    const key = `${h.prefix}lua`;
    await h.redis.set(key, "stored");
    const script = "return {1, 'two', {3, {ARGV[1], redis.call('GET', KEYS[1])}}, 'OK'}";
    expect(await h.redis.eval(script, [key], ["four"])).toEqual([1, "two", [3, ["four", "stored"]], "OK"]);
  });

  it("lets createScript fall back from EVALSHA to EVAL on NOSCRIPT", async () => {
    const source = `-- ${randomUUID()}\nreturn {ARGV[1], tonumber(ARGV[2]) * 2}`;
    const sha = createHash("sha1").update(source).digest("hex");
    expect(await h.redis.scriptExists(sha)).toEqual([0]);

    const script = h.redis.createScript<[string, number]>(source);
    expect(await script.exec([], ["hi", "21"])).toEqual(["hi", 42]);
    expect(await h.redis.scriptExists(sha)).toEqual([1]);
    expect(await script.evalsha([], ["again", "1"])).toEqual(["again", 2]);
  });

  /**
   * A SCAN COUNT that still pages (several pages over the whole keyspace) but walks a keyspace that
   * other test files (or a bench) filled in at most ~50 round trips.
   */
  const scanCount = async (smallest: number) => Math.max(smallest, Math.ceil((await h.redis.dbsize()) / 50));

  it("pages through SCAN with a small count", async () => {
    const keys = Array.from({ length: 57 }, (_, i) => `${h.prefix}scan:${i}`);
    const pipeline = h.redis.pipeline();
    for (const key of keys) pipeline.set(key, "v");
    await pipeline.exec();

    const seen = new Set<string>();
    const count = await scanCount(5);
    let cursor = "0";
    let pages = 0;
    do {
      const [next, page] = await h.redis.scan(cursor, { match: `${h.prefix}scan:*`, count });
      for (const key of page) seen.add(key);
      cursor = next;
      pages++;
    } while (cursor !== "0");
    expect(pages).toBeGreaterThan(1);
    expect([...seen].sort()).toEqual([...keys].sort());
  });

  it("emulates SCAN WITHTYPE", async () => {
    const base = `${h.prefix}typed:`;
    await h.redis.set(`${base}string`, "v");
    await h.redis.hset(`${base}hash`, { f: "v" });
    await h.redis.sadd(`${base}set`, "m");
    await h.redis.zadd(`${base}zset`, { score: 1, member: "m" });
    await h.redis.rpush(`${base}list`, "v");

    const found = new Map<string, string>();
    const count = await scanCount(2);
    let cursor = "0";
    do {
      const [next, page] = await h.redis.scan(cursor, { match: `${base}*`, count, withType: true });
      for (const { key, type } of page) found.set(key, type);
      cursor = next;
    } while (cursor !== "0");
    expect(Object.fromEntries(found)).toEqual({
      [`${base}string`]: "string",
      [`${base}hash`]: "hash",
      [`${base}set`]: "set",
      [`${base}zset`]: "zset",
      [`${base}list`]: "list",
    });
  });

  it("passes SCAN TYPE through", async () => {
    const base = `${h.prefix}filtered:`;
    await h.redis.set(`${base}string`, "v");
    await h.redis.hset(`${base}hash`, { f: "v" });
    const hashes: string[] = [];
    const count = await scanCount(10);
    let cursor = "0";
    do {
      const [next, page] = await h.redis.scan(cursor, { match: `${base}*`, count, type: "hash" });
      hashes.push(...page);
      cursor = next;
    } while (cursor !== "0");
    expect(hashes).toEqual([`${base}hash`]);
  });

  it("rejects a wrong or missing token", async () => {
    const intruder = new Redis({ url: h.endpoint.url, token: "wrong-token", enableTelemetry: false, retry: false });
    await expect(intruder.get(`${h.prefix}any`)).rejects.toThrow(/Unauthorized/);

    const response = await fetch(h.endpoint.url, { method: "POST", body: JSON.stringify(["PING"]) });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: expect.stringMatching(/Unauthorized/) });
  });

  it("refuses commands that would change the shared connection, and subscriptions inside a batch", async () => {
    const refused = [
      ["SELECT", "1"],
      ["CLIENT", "SETNAME", "x"],
      ["UNSUBSCRIBE", "channel"],
      ["MONITOR"],
      ["MULTI"],
      ["WATCH", `${h.prefix}k`],
      ["SHUTDOWN"],
    ];
    for (const command of refused) {
      const reply = await post(h, "/", command);
      expect(reply.status, command.join(" ")).toBe(400);
      expect(reply.body).toEqual({ error: expect.stringMatching(new RegExp(`^ERR ${command[0]} is not allowed`)) });
    }
    const pipelined = await post(h, "/pipeline", [["SELECT", "2"], ["SUBSCRIBE", "c"], ["PING"]]);
    expect(pipelined).toEqual({
      status: 200,
      body: [{ error: expect.stringMatching(/SELECT is not allowed/) }, { error: expect.stringMatching(/SUBSCRIBE is not allowed in a pipeline/) }, { result: "PONG" }],
    });
    expect(await post(h, "/multi-exec", [["PSUBSCRIBE", "c*"]])).toEqual({ status: 400, body: { error: expect.stringMatching(/PSUBSCRIBE is not allowed in a pipeline or transaction/) } });
    await expect(h.redis.exec(["SELECT", "1"])).rejects.toThrow(/SELECT is not allowed/);
  });

  it("rejects malformed and oversized bodies", async () => {
    expect(await post(h, "/", "{not json")).toEqual({ status: 400, body: { error: expect.stringMatching(/not valid JSON/) } });
    expect(await post(h, "/", { command: "PING" })).toEqual({ status: 400, body: { error: expect.any(String) } });
    expect(await post(h, "/pipeline", {})).toEqual({ status: 400, body: { error: expect.any(String) } });
    expect(await post(h, "/", ["SET", `${h.prefix}k`, { nested: true }])).toEqual({ status: 400, body: { error: expect.any(String) } });
    const huge = JSON.stringify(["SET", `${h.prefix}huge`, "x".repeat(11 * 1024 * 1024)]);
    expect(await post(h, "/", huge)).toEqual({ status: 413, body: { error: expect.stringMatching(/exceeds/) } });
  });

  it("serves the /command/arg path form with a header or _token", async () => {
    const key = `${h.prefix}path form/ü`;
    const auth = { Authorization: `Bearer ${h.endpoint.token}` };
    const set = await fetch(`${h.endpoint.url}/set/${encodeURIComponent(key)}/${encodeURIComponent("a b/c")}`, { headers: auth });
    expect(await set.json()).toEqual({ result: "OK" });
    const get = await fetch(`${h.endpoint.url}/get/${encodeURIComponent(key)}?_token=${encodeURIComponent(h.endpoint.token)}`);
    expect(await get.json()).toEqual({ result: "a b/c" });
    const posted = await fetch(`${h.endpoint.url}/set/${encodeURIComponent(key)}`, { method: "POST", headers: auth, body: "from the body" });
    expect(await posted.json()).toEqual({ result: "OK" });
    expect(await h.redis.get(key)).toBe("from the body");
  });

  it("sends a fresh Upstash-Sync-Token with every answer, which the client's read-your-writes mode keeps", async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${h.endpoint.url}/get/${encodeURIComponent(`${h.prefix}sync`)}`, { headers: { Authorization: `Bearer ${h.endpoint.token}` } });
      tokens.add(response.headers.get("upstash-sync-token") ?? "");
    }
    expect(tokens.size).toBe(3);
    expect(tokens.has("")).toBe(false);
  });

  it("auto-pipelines concurrent commands into one request", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `${h.prefix}auto:${i}`);
      const counts = await Promise.all(keys.map((key) => h.redis.incr(key)));
      expect(counts).toEqual(keys.map(() => 1));
      expect(fetchSpy).toHaveBeenCalledTimes(1);
      expect(String(fetchSpy.mock.calls[0]?.[0])).toMatch(/\/pipeline$/);

      fetchSpy.mockClear();
      const values = await Promise.all(keys.map((key) => h.redis.get(key)));
      expect(values).toEqual(keys.map(() => 1));
      expect(fetchSpy).toHaveBeenCalledTimes(1);
    } finally {
      fetchSpy.mockRestore();
    }
  });
});

describe("Upstash REST endpoint over the in-process engine", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(createMemoryRedisBackend());
  });

  afterAll(async () => {
    await stopHarness(h);
  });

  it("serves strings, hashes and sorted sets", async () => {
    expect(h.backend.kind).toBe("memory");
    expect(await h.redis.set(`${h.prefix}s`, "OK")).toBe("OK");
    expect(await h.redis.get(`${h.prefix}s`)).toBe("OK");
    await h.redis.set(`${h.prefix}json`, { n: 1, s: "ü" });
    expect(await h.redis.get(`${h.prefix}json`)).toEqual({ n: 1, s: "ü" });

    expect(await h.redis.hset(`${h.prefix}h`, { a: "x", b: 2 })).toBe(2);
    expect(await h.redis.hgetall(`${h.prefix}h`)).toEqual({ a: "x", b: 2 });

    expect(await h.redis.zadd(`${h.prefix}z`, { score: 1.5, member: "m1" }, { score: 2, member: "m2" })).toBe(2);
    expect(await h.redis.zrange(`${h.prefix}z`, 0, -1, { withScores: true })).toEqual(["m1", 1.5, "m2", 2]);
  });

  it("evaluates Lua and falls back from EVALSHA", async () => {
    expect(await h.redis.eval("return {1, 'a', {2, ARGV[1]}}", [], ["b"])).toEqual([1, "a", [2, "b"]]);
    const script = h.redis.createScript<string>(`-- ${randomUUID()}\nreturn ARGV[1]`);
    expect(await script.exec([], ["hello"])).toBe("hello");
  });

  it("answers WRONGTYPE as Redis does for a command on a key of another type", async () => {
    await h.redis.set(`${h.prefix}str`, "v");
    await h.redis.hset(`${h.prefix}hash`, { f: "v" });
    const wrongType = { error: "WRONGTYPE Operation against a key holding the wrong kind of value" };
    expect(await post(h, "/", ["HGET", `${h.prefix}str`, "telegram_id"])).toEqual({ status: 400, body: wrongType });
    expect(await post(h, "/pipeline", [["GET", `${h.prefix}hash`], ["SADD", `${h.prefix}str`, "m"], ["ZSCORE", `${h.prefix}hash`, "m"], ["HGET", `${h.prefix}hash`, "f"]])).toEqual({
      status: 200,
      body: [wrongType, wrongType, wrongType, { result: "v" }],
    });
    await expect(h.redis.lpush(`${h.prefix}hash`, "x")).rejects.toThrow(/WRONGTYPE/);
    // A missing key has no type to clash with.
    expect(await h.redis.hget(`${h.prefix}absent`, "f")).toBeNull();
  });

  it("keeps hashes flat on the wire and reports unknown commands", async () => {
    await h.redis.hset(`${h.prefix}wire`, { f: "v" });
    expect(await post(h, "/", ["HGETALL", `${h.prefix}wire`])).toEqual({ status: 200, body: { result: ["f", "v"] } });
    expect(await post(h, "/", ["EMIT", "error"])).toEqual({ status: 400, body: { error: expect.stringMatching(/unknown command/) } });
  });
});
