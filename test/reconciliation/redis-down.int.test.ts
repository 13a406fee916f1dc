import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../core/auth/tokens";
import { UpstashCacheStore } from "../../core/cache/adapters/upstash-cache-store";
import { CACHE_BUMP_TOPIC, cacheOutboxHandlers } from "../../core/cache/outbox";
import { PostgresPendingTagBumps } from "../../core/cache/adapters/postgres-pending-tag-bumps";
import { PendingInvalidationGate } from "../../core/cache/pending-gate";
import { ReadThroughCache, defaultReadThroughOptions } from "../../core/cache/read-through-cache";
import type { EntryTrust } from "../../core/cache/read-through-cache";
import { TagInvalidator } from "../../core/cache/tag-invalidator";
import { systemClock, randomIds } from "../../core/clock";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import { PostgresUserDirectory } from "../../core/identity/adapters/postgres-user-directory";
import { silentLog } from "../../core/observability/log-port";
import { PostgresOutbox } from "../../core/outbox/adapters/postgres-outbox";
import { PostgresReconciliationLog } from "../../core/reconciliation/adapters/postgres-reconciliation-log";
import { getReconciliationSummary } from "../../core/reconciliation/get-summary";
import type { ReconciliationHistoryWire } from "../../core/reconciliation/presenters";
import { recordReconciliationEvent } from "../../core/reconciliation/record-event";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { insertUser } from "../credentials/support";

let app: AppEnv;
let admin: pg.Client;

beforeAll(async () => {
  app = await useAppEnv();
  admin = new pg.Client({ connectionString: app.database.url });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await app?.database.drop();
});

/** Deps over the real Postgres and a Redis that refuses every connection (nothing listens on port 9). */
function wiring(redisUrl: string, trust?: EntryTrust) {
  const db = new Database(createSql({ databaseUrl: app.database.url, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY }));
  const store = new UpstashCacheStore(createUpstashRedis({ url: redisUrl, token: app.env.UPSTASH_REDIS_REST_TOKEN ?? "", retries: 0 }), new RedisKeys(app.keyPrefix));
  const invalidator = new TagInvalidator(store, 500);
  const outbox = new PostgresOutbox(db);
  const log = new PostgresReconciliationLog(db, (messages) => outbox.enqueue(messages));
  const cache = new ReadThroughCache<ReconciliationHistoryWire>(
    { store, invalidator, clock: systemClock, ids: randomIds, log: silentLog, sleep: async () => undefined, ...(trust ? { trust } : {}) },
    { ...defaultReadThroughOptions, name: "reconciliation", storeTimeoutMs: 500 },
  );
  const directory = new PostgresUserDirectory(db);
  const openPositions = { count: async () => 0 };
  return { db, outbox, write: { directory, log, outbox: { store: outbox, log: silentLog }, outboxHandlers: cacheOutboxHandlers(invalidator), clock: systemClock, ids: randomIds }, read: { directory, log, openPositions, cache }, invalidator };
}

const service: Principal = { role: "service", subject: "bot" };

describe("a reconciliation event while Redis is down", () => {
  it("is stored and acknowledged, reads answer from Postgres, and the owed bump waits in the outbox", async () => {
    const user = await insertUser(admin);
    const down = wiring("http://127.0.0.1:9");
    const event = await recordReconciliationEvent(down.write, { principal: service, ref: { kind: "user_id", value: user.id }, body: { kind: "sync", exchange: "okx" } });
    const { rows } = await admin.query("SELECT topic, payload FROM outbox WHERE topic = $1 AND payload->'tags' ? $2", [CACHE_BUMP_TOPIC, `user/${user.id}`]);
    expect(rows).toHaveLength(1);
    const read = await getReconciliationSummary(down.read, { principal: service, ref: { kind: "user_id", value: user.id } });
    expect(read.cache).toBe("bypass");
    expect(read.summary).toMatchObject({ totalSyncs: 1, lastSyncAt: event.createdAt.toISOString() });

    // Redis is back: the drain's delivery bumps the tag, so a view cached before the event is invalid.
    const up = wiring(app.env.UPSTASH_REDIS_REST_URL ?? "");
    const handler = up.write.outboxHandlers[CACHE_BUMP_TOPIC];
    await handler?.({ id: "drained", topic: CACHE_BUMP_TOPIC, key: `user/${user.id}`, payload: rows[0]?.payload as Record<string, unknown> });
    const redis = createUpstashRedis({ url: app.env.UPSTASH_REDIS_REST_URL ?? "", token: app.env.UPSTASH_REDIS_REST_TOKEN ?? "", retries: 0 });
    expect(await redis.get(new RedisKeys(app.keyPrefix).cacheTag(`user/${user.id}`))).toBe(1);
  });

  it("makes another container stop serving the view it cached before, once its gate rechecks the owed bumps", async () => {
    const user = await insertUser(admin);
    const ref = { kind: "user_id", value: user.id } as const;
    const refreshMs = 5_000;
    let skewMs = 0;
    const pending = new PostgresPendingTagBumps(new PostgresOutbox(wiring(app.env.UPSTASH_REDIS_REST_URL ?? "").db));
    const gate = new PendingInvalidationGate(pending, () => Date.now() + skewMs, silentLog, { refreshMs, checkTimeoutMs: 2_000, limit: 500 });
    const reader = wiring(app.env.UPSTASH_REDIS_REST_URL ?? "", gate);
    expect((await getReconciliationSummary(reader.read, { principal: service, ref })).cache).toBe("miss");
    expect((await getReconciliationSummary(reader.read, { principal: service, ref })).cache).toBe("hit");

    await recordReconciliationEvent(wiring("http://127.0.0.1:9").write, { principal: service, ref, body: { kind: "sync", exchange: "okx" } });
    // Within refreshMs of its last check the reader may still serve its entry (the documented bound)...
    skewMs = refreshMs;
    const after = await getReconciliationSummary(reader.read, { principal: service, ref });
    // ...and past it, it has read the owed bump: the entry is not trusted, Postgres answers.
    expect(after.cache).toBe("miss");
    expect(after.summary.totalSyncs).toBe(1);
    expect((await getReconciliationSummary(reader.read, { principal: service, ref })).summary.totalSyncs).toBe(1);
  });
});
