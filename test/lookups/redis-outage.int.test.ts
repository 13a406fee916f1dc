import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redisConfigSchema } from "../../core/config";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import { HttpLegacyLookup } from "../../core/lookups/adapters/http-legacy-lookup";
import { LOOKUP_INVALIDATION_TOPIC } from "../../core/lookups/invalidation";
import { deactivateMapping, patchMapping, putMapping } from "../../core/lookups/mapping-admin";
import type { LookupContext } from "../../core/lookups/lookup-service";
import type { LookupResult } from "../../core/lookups/model";
import { PostgresOutbox } from "../../core/outbox/adapters/postgres-outbox";
import { drainOutbox } from "../../core/outbox/drain";
import { silentLog } from "../../core/observability/log-port";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { configFor } from "../../runtime/config";
import { buildLookups } from "../../runtime/lookups";
import type { LookupModule } from "../../runtime/lookups";
import { outboxHandlers } from "../../runtime/outbox";
import { backing } from "../support/backing";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { startStoppableRedis } from "../support/stoppable-redis";
import type { StoppableRedis } from "../support/stoppable-redis";
import { okxUid, telegramId } from "./support/http";

const CACHE_TIMEOUT_MS = 100;
const RESET_MS = 1_000;
const ample: LookupContext = { remainingTimeMs: () => 10_000 };

let app: AppEnv;
let redis: StoppableRedis;
let outbox: PostgresOutbox;
const built: LookupModule[] = [];

beforeAll(async () => {
  app = await useAppEnv({ LOOKUP_CACHE_TIMEOUT_MS: String(CACHE_TIMEOUT_MS), LOOKUP_CACHE_RESET_MS: String(RESET_MS) });
  redis = await startStoppableRedis(app.env.UPSTASH_REDIS_REST_TOKEN ?? "");
  const env = app.env;
  outbox = new PostgresOutbox(new Database(createSql({ databaseUrl: env.DATABASE_URL ?? "", fetchEndpoint: env.NEON_FETCH_ENDPOINT, wsProxy: env.NEON_WS_PROXY })));
});

afterEach(() => {
  for (const module of built.splice(0)) module.fleet.stop();
});

afterAll(async () => {
  await redis?.stop();
  await app?.database.drop();
});

/** A container of the lookup functions, talking to the stoppable Redis. */
function container(): LookupModule {
  const client = createUpstashRedis({ url: redis.url, token: redis.token, retries: configFor(redisConfigSchema).REDIS_RETRIES });
  const module = buildLookups({ redis: client, legacy: new HttpLegacyLookup({ baseUrl: undefined }) });
  built.push(module);
  return module;
}

/** What Redis itself holds for an identifier (bypassing every container). */
async function rawEntry(kind: string, value: string): Promise<unknown> {
  const client = createUpstashRedis({ url: redis.url, token: redis.token, retries: 0 });
  return client.get(new RedisKeys(app.keyPrefix).lookup(kind, value));
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const started = performance.now();
  const value = await work();
  return { value, elapsedMs: performance.now() - started };
}

const resolve = (module: LookupModule, identifier: string): Promise<LookupResult | "not found"> =>
  module.service.resolve(identifier, ample).catch((error: unknown) => {
    if ((error as { code?: string }).code === "not_found") return "not found";
    throw error;
  });

/**
 * Looks up until the answer comes from the cache again, a try every 25 ms (each a real lookup, so
 * a stall would show in `slowestMs`).
 */
async function untilCached(module: LookupModule, identifier: string, deadlineMs: number): Promise<{ elapsedMs: number; slowestMs: number }> {
  const started = performance.now();
  let slowestMs = 0;
  for (;;) {
    const attempt = await timed(() => resolve(module, identifier));
    slowestMs = Math.max(slowestMs, attempt.elapsedMs);
    if (typeof attempt.value === "object" && attempt.value.source === "cache") return { elapsedMs: performance.now() - started, slowestMs };
    if (performance.now() - started > deadlineMs) throw new Error(`not answered from the cache within ${deadlineMs} ms`);
    await new Promise((pace) => setTimeout(pace, 25));
  }
}

/** People cached by every identifier in one reading container. */
async function cachedPeople(writer: LookupModule, reader: LookupModule) {
  const person = () => ({ userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid(), isActive: true });
  const [moved, leaving, unchanged] = [person(), person(), person()];
  for (const one of [moved, leaving, unchanged]) {
    await putMapping(writer.admin, one);
    for (const identifier of [one.okxUid, one.telegramId, one.userId]) await resolve(reader, identifier);
    expect(await resolve(reader, one.okxUid)).toMatchObject({ telegramId: one.telegramId, source: "cache" });
  }
  return { moved, leaving, unchanged };
}

/** Delivers the owed invalidations as the drain function does (due now: the cron ran later). */
async function drainNow(): Promise<number> {
  for (const row of await outbox.listPending(LOOKUP_INVALIDATION_TOPIC, 100)) await outbox.retryLater(row.id, 0, "drained by the test");
  const report = await drainOutbox({ store: outbox, log: silentLog }, { handlers: await outboxHandlers(), limit: 100 });
  return report.delivered;
}

const outages = [
  { how: "hangs (SIGSTOP)", down: () => redis.hang(), up: () => Promise.resolve(redis.resume()) },
  { how: "refuses (SIGKILL)", down: () => redis.kill(), up: () => redis.restart() },
] as const;

describe.each(outages)("a change acknowledged while Redis $how", ({ how, down, up }) => {
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
    expect(await resolve(reader, moved.okxUid)).toMatchObject({ telegramId: newTelegramId, source: "database" });

    await up();
    const survived = how.startsWith("refuses") && backing().redisUrl !== null;
    if (survived) {
      // Refused, the invalidations never reached Redis: the old answers are still there...
      expect(await rawEntry("okx_uid", moved.okxUid)).toMatchObject({ kind: "hit", telegramId: moved.telegramId });
      expect(await rawEntry("user_id", leaving.userId)).toMatchObject({ kind: "hit", telegramId: leaving.telegramId });
    }
    // ...and no container serves them: not the writer, not the reader, not a cold one, although
    // they read Redis again (the unchanged person comes from the cache).
    for (const module of [writer, reader, container()]) {
      expect(module.cache.breakerState()).toBe("closed");
      if (survived || how.startsWith("hangs")) expect(await resolve(module, unchanged.okxUid)).toMatchObject({ source: "cache" });
      expect(await resolve(module, moved.okxUid)).toMatchObject({ telegramId: newTelegramId, userId: moved.userId });
      expect(await resolve(module, moved.userId)).toMatchObject({ telegramId: newTelegramId });
      expect(await resolve(module, moved.telegramId)).toMatchObject({ userId: null, source: "direct" });
      for (const identifier of [leaving.okxUid, leaving.userId, leaving.telegramId]) expect(await resolve(module, identifier)).toBe("not found");
    }

    // The drain delivers what is owed, and the cache serves again (the new state).
    expect(await drainNow()).toBeGreaterThanOrEqual(2);
    const fresh = container();
    await resolve(fresh, moved.okxUid);
    expect(await resolve(fresh, moved.okxUid)).toMatchObject({ telegramId: newTelegramId, source: "cache" });
  });
});

describe.each(outages)("Redis down costs one bounded timeout, once: Redis $how", ({ down, up }) => {
  it("opens the cache breaker within a second, answers from Postgres meanwhile, and reads from the cache again a few seconds after Redis is back, without a stall", { timeout: 60_000 }, async () => {
    const module = container();
    const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid(), isActive: true };
    await putMapping(module.admin, person);
    await resolve(module, person.okxUid);
    expect(await resolve(module, person.okxUid)).toMatchObject({ source: "cache" });

    await down();
    const outageStarted = performance.now();
    while (module.cache.breakerState() !== "open") {
      const lookup = await timed(() => resolve(module, person.okxUid));
      expect(lookup.value).toMatchObject({ telegramId: person.telegramId, source: "database" });
      // One cache timeout (not the read's and then the fill's), plus Postgres.
      expect(lookup.elapsedMs).toBeLessThan(2 * CACHE_TIMEOUT_MS + 150);
      expect(performance.now() - outageStarted).toBeLessThan(1_000);
    }
    const openedAfterMs = performance.now() - outageStarted;
    expect(openedAfterMs).toBeLessThan(1_000);
    const whileOpen = await timed(() => resolve(module, person.userId));
    expect(whileOpen.value).toMatchObject({ telegramId: person.telegramId, source: "database" });
    expect(whileOpen.elapsedMs).toBeLessThan(CACHE_TIMEOUT_MS + 100);

    await up();
    const recovery = await untilCached(module, person.okxUid, RESET_MS + 3_000);
    expect(recovery.elapsedMs).toBeLessThan(RESET_MS + 3_000);
    expect(recovery.slowestMs).toBeLessThan(2 * CACHE_TIMEOUT_MS + 150);
    expect(module.cache.breakerState()).toBe("closed");
  });
});
