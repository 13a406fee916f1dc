import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putMapping } from "../../core/lookups/mapping-admin";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { startStoppableRedis } from "../support/stoppable-redis";
import type { StoppableRedis } from "../support/stoppable-redis";
import { okxUid, telegramId } from "./support/http";
import { lookUp, lookupContainers, outagesOf, timed, untilCached } from "./support/outage";

const CACHE_TIMEOUT_MS = 100;
const RESET_MS = 1_000;

let app: AppEnv;
let redis: StoppableRedis;

beforeAll(async () => {
  app = await useAppEnv({ LOOKUP_CACHE_TIMEOUT_MS: String(CACHE_TIMEOUT_MS), LOOKUP_CACHE_RESET_MS: String(RESET_MS) });
  redis = await startStoppableRedis(app.env.UPSTASH_REDIS_REST_TOKEN ?? "");
});

afterAll(async () => {
  await redis?.stop();
  await app?.database.drop();
});

const container = lookupContainers(() => redis);

describe.each(outagesOf(() => redis))("Redis down costs one bounded timeout, once: Redis $how", ({ down, up }) => {
  it("opens the cache breaker within a second, answers from Postgres meanwhile, and reads from the cache again a few seconds after Redis is back, without a stall", { timeout: 60_000 }, async () => {
    const module = container();
    const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid(), isActive: true };
    await putMapping(module.admin, person);
    await untilCached(module, person.okxUid, 5_000);

    await down();
    const outageStarted = performance.now();
    const failedBefore = module.stats.snapshot().cacheErrors;
    let lookups = 0;
    while (module.cache.breakerState() !== "open" && lookups < 10) {
      const errors = module.stats.snapshot().cacheErrors;
      const lookup = await timed(() => lookUp(module, person.okxUid));
      lookups += 1;
      expect(lookup.value).toMatchObject({ telegramId: person.telegramId, source: "database" });
      // One failed cache call per lookup: not the read's and then the fill's (so one timeout at most).
      expect(module.stats.snapshot().cacheErrors - errors).toBe(1);
      expect(lookup.elapsedMs).toBeLessThan(CACHE_TIMEOUT_MS + 1_000);
    }
    // Open after three failed lookups in a row: about a second even one lookup at a time.
    expect(lookups).toBe(3);
    expect(module.stats.snapshot().cacheErrors - failedBefore).toBe(3);
    expect(performance.now() - outageStarted).toBeLessThan(1_500);
    // Open: Postgres answers without a cache call (a refused call is counted, not made).
    expect(module.cache.breakerState()).toBe("open");
    expect(await lookUp(module, person.userId)).toMatchObject({ telegramId: person.telegramId, source: "database" });

    await up();
    const recovery = await untilCached(module, person.okxUid, RESET_MS + 3_000);
    expect(recovery.elapsedMs).toBeLessThan(RESET_MS + 3_000);
    // No stall: while it recovers, no lookup waits for more than one cache timeout.
    expect(recovery.slowestMs).toBeLessThan(CACHE_TIMEOUT_MS + 1_000);
    expect(module.cache.breakerState()).toBe("closed");
  });
});
