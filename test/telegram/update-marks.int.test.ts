import { randomUUID } from "node:crypto";
import type { Redis } from "@upstash/redis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { PostgresUpdateMarks } from "../../core/telegram/adapters/postgres-update-marks";
import { UpstashUpdateMarks } from "../../core/telegram/adapters/upstash-update-marks";
import type { UpdateMarks } from "../../core/telegram/ports";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";

let app: AppEnv;
let redis: Redis;
let keys: RedisKeys;
let db: pg.Client;
let postgresMarks: PostgresUpdateMarks;
let redisMarks: UpstashUpdateMarks;
let nextId = 1_000;

beforeAll(async () => {
  app = await useAppEnv();
  redis = createUpstashRedis({ url: app.env.UPSTASH_REDIS_REST_URL ?? "", token: app.env.UPSTASH_REDIS_REST_TOKEN ?? "", retries: 0 });
  keys = new RedisKeys(app.keyPrefix);
  redisMarks = new UpstashUpdateMarks(redis, keys);
  postgresMarks = new PostgresUpdateMarks(new Database(createSql({ databaseUrl: app.database.url, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY })));
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await app?.database.drop();
});

describe.each(["Upstash", "Postgres"])("%s update marks", (store) => {
  // The stores are built in beforeAll, after this table is read.
  const marks = (): UpdateMarks => (store === "Upstash" ? redisMarks : postgresMarks);

  it("one claim wins, the others see busy, then done once completed", async () => {
    const id = ++nextId;
    const results = await Promise.all(Array.from({ length: 5 }, () => marks().claim(id, randomUUID(), 30_000)));
    const winners = results.filter((result) => result.kind === "claimed");
    expect(winners).toHaveLength(1);
    expect(results.filter((result) => result.kind === "busy")).toHaveLength(4);
    const winner = winners[0];
    if (winner?.kind !== "claimed") throw new Error("no winner");
    await marks().complete(winner.claim, 3_600);
    expect(await marks().claim(id, randomUUID(), 30_000)).toEqual({ kind: "done" });
  });

  it("release frees the update for its holder only", async () => {
    const id = ++nextId;
    const first = await marks().claim(id, randomUUID(), 30_000);
    if (first.kind !== "claimed") throw new Error("not claimed");
    await marks().release({ ...first.claim, token: randomUUID() });
    expect((await marks().claim(id, randomUUID(), 30_000)).kind).toBe("busy");
    await marks().release(first.claim);
    expect((await marks().claim(id, randomUUID(), 30_000)).kind).toBe("claimed");
  });

  it("a lease that ran out can be taken over", async () => {
    const id = ++nextId;
    expect((await marks().claim(id, randomUUID(), 50)).kind).toBe("claimed");
    const deadline = Date.now() + 3_000;
    let result = await marks().claim(id, randomUUID(), 30_000);
    while (result.kind !== "claimed" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      result = await marks().claim(id, randomUUID(), 30_000);
    }
    expect(result.kind).toBe("claimed");
  });
});

describe("Postgres marks specifics", () => {
  it("peek reports done and live holds without taking anything", async () => {
    const done = ++nextId;
    const held = ++nextId;
    const claim = await postgresMarks.claim(done, randomUUID(), 30_000);
    if (claim.kind !== "claimed") throw new Error("not claimed");
    await postgresMarks.complete(claim.claim, 3_600);
    await postgresMarks.claim(held, randomUUID(), 30_000);
    expect(await postgresMarks.peek(done)).toBe("done");
    expect(await postgresMarks.peek(held)).toBe("busy");
    expect(await postgresMarks.peek(++nextId)).toBeNull();
  });

  it("marks past their TTL are purged as new ones are written, and may be taken again", async () => {
    const old = ++nextId;
    await db.query("INSERT INTO telegram_updates (update_id, state, expires_at) VALUES ($1, 'done', now() - interval '1 second')", [old]);
    expect(await postgresMarks.peek(old)).toBeNull();
    const fresh = ++nextId;
    const claim = await postgresMarks.claim(fresh, randomUUID(), 30_000);
    if (claim.kind !== "claimed") throw new Error("not claimed");
    await postgresMarks.complete(claim.claim, 3_600);
    expect((await db.query("SELECT 1 FROM telegram_updates WHERE update_id = $1", [old])).rowCount).toBe(0);
    const again = ++nextId;
    await db.query("INSERT INTO telegram_updates (update_id, state, expires_at) VALUES ($1, 'done', now() - interval '1 second')", [again]);
    expect((await postgresMarks.claim(again, randomUUID(), 30_000)).kind).toBe("claimed");
  });

});

describe("Upstash marks specifics", () => {
  it("keeps a done mark for the TTL", async () => {
    const id = ++nextId;
    const claim = await redisMarks.claim(id, randomUUID(), 30_000);
    if (claim.kind !== "claimed") throw new Error("not claimed");
    await redisMarks.complete(claim.claim, 120);
    expect(await redis.get(keys.telegramUpdate(id))).toBe("done");
    expect(await redis.ttl(keys.telegramUpdate(id))).toBeGreaterThan(100);
  });
});
