import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import { LOOKUP_INVALIDATION_TOPIC } from "../../core/lookups/invalidation";
import { deactivateMapping, patchMapping, putMapping } from "../../core/lookups/mapping-admin";
import { PostgresOutbox } from "../../core/outbox/adapters/postgres-outbox";
import { drainOutbox } from "../../core/outbox/drain";
import { silentLog } from "../../core/observability/log-port";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import type { LookupModule } from "../../runtime/lookups";
import { outboxHandlers } from "../../runtime/outbox";
import { backing } from "../support/backing";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { startStoppableRedis } from "../support/stoppable-redis";
import type { StoppableRedis } from "../support/stoppable-redis";
import { okxUid, telegramId } from "./support/http";
import { lookUp, lookupContainers, outagesOf, timed } from "./support/outage";
import type { IdentifierKind } from "../../core/lookups/identifier";
import { LookupRedisCache } from "./support/redis-cache";

// Generous, so that a loaded machine does not read as a slow Redis: this file checks what is answered, not how fast.
const CACHE_TIMEOUT_MS = 400;

let app: AppEnv;
let redis: StoppableRedis;
let outbox: PostgresOutbox;

beforeAll(async () => {
  app = await useAppEnv({ LOOKUP_CACHE_TIMEOUT_MS: String(CACHE_TIMEOUT_MS) });
  redis = await startStoppableRedis(app.env.UPSTASH_REDIS_REST_TOKEN ?? "");
  const env = app.env;
  outbox = new PostgresOutbox(new Database(createSql({ databaseUrl: env.DATABASE_URL ?? "", fetchEndpoint: env.NEON_FETCH_ENDPOINT, wsProxy: env.NEON_WS_PROXY })));
});

afterAll(async () => {
  await redis?.stop();
  await app?.database.drop();
});

const container = lookupContainers(() => redis);

/** What Redis itself holds for an identifier (bypassing every container). */
async function rawEntry(kind: IdentifierKind, value: string): Promise<unknown> {
  const client = createUpstashRedis({ url: redis.url, token: redis.token, retries: 0 });
  const [entry] = await new LookupRedisCache(client, new RedisKeys(app.keyPrefix)).getMany([{ kind, value }]);
  return entry;
}

/** People cached by every identifier in one reading container. */
async function cachedPeople(writer: LookupModule, reader: LookupModule) {
  const person = () => ({ userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid(), isActive: true });
  const [moved, leaving, unchanged] = [person(), person(), person()];
  for (const one of [moved, leaving, unchanged]) {
    await putMapping(writer.admin, one);
    for (const identifier of [one.okxUid, one.telegramId, one.userId]) await lookUp(reader, identifier);
    expect(await lookUp(reader, one.okxUid)).toMatchObject({ telegramId: one.telegramId, source: "cache" });
  }
  return { moved, leaving, unchanged };
}

/** Delivers the owed invalidations as the drain function does (due now: the cron ran later). */
async function drainNow(): Promise<number> {
  for (const row of await outbox.listPending(LOOKUP_INVALIDATION_TOPIC, 100)) await outbox.retryLater(row.id, 0, "drained by the test");
  const report = await drainOutbox({ store: outbox, log: silentLog }, { handlers: await outboxHandlers(), limit: 100 });
  return report.delivered;
}

describe.each(outagesOf(() => redis))("a change acknowledged while Redis $how", ({ hangs, down, up }) => {
  it("is never answered in its old state once Redis is back, by any container", { timeout: 60_000 }, async () => {
    const [writer, reader] = [container(), container()];
    const { moved, leaving, unchanged } = await cachedPeople(writer, reader);
    const newTelegramId = telegramId();

    await down();
    const repoint = await timed(() => patchMapping(writer.admin, moved.userId, { telegramId: newTelegramId }));
    expect(repoint.value.telegramId).toBe(newTelegramId);
    expect((await deactivateMapping(writer.admin, leaving.userId)).isActive).toBe(false);
    // Acknowledged after at most the cache timeout (plus Postgres), the invalidations owed in the outbox.
    expect(repoint.elapsedMs).toBeLessThan(CACHE_TIMEOUT_MS + 1_000);
    for (const person of [moved, leaving]) expect(await outbox.pendingFor(LOOKUP_INVALIDATION_TOPIC, person.userId)).toHaveLength(1);
    // Meanwhile the reader answers the new state from Postgres.
    expect(await lookUp(reader, moved.okxUid)).toMatchObject({ telegramId: newTelegramId, source: "database" });

    await up();
    // Refused, the invalidations never reached Redis, whose server kept the old answers (a killed
    // in-process engine takes them along; a resumed Redis may still run the ones it had queued).
    const survived = !hangs && backing().redisUrl !== null;
    if (survived) {
      expect(await rawEntry("okx_uid", moved.okxUid)).toMatchObject({ telegramId: moved.telegramId });
      expect(await rawEntry("user_id", leaving.userId)).toMatchObject({ telegramId: leaving.telegramId });
    }
    // No container serves an old answer: not the writer, not the reader, not a cold one, although
    // they read Redis again (the unchanged person comes from the cache).
    for (const module of [writer, reader, container()]) {
      expect(module.cache.breakerState()).toBe("closed");
      if (survived || hangs) expect(await lookUp(module, unchanged.okxUid)).toMatchObject({ source: "cache" });
      expect(await lookUp(module, moved.okxUid)).toMatchObject({ telegramId: newTelegramId, userId: moved.userId });
      expect(await lookUp(module, moved.userId)).toMatchObject({ telegramId: newTelegramId });
      expect(await lookUp(module, moved.telegramId)).toMatchObject({ userId: null, source: "direct" });
      for (const identifier of [leaving.okxUid, leaving.userId, leaving.telegramId]) expect(await lookUp(module, identifier)).toBe("not found");
    }

    // The drain delivers what is owed, and the cache serves again (the new state).
    expect(await drainNow()).toBeGreaterThanOrEqual(2);
    const fresh = container();
    await lookUp(fresh, moved.okxUid);
    expect(await lookUp(fresh, moved.okxUid)).toMatchObject({ telegramId: newTelegramId, source: "cache" });
  });
});
