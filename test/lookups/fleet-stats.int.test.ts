import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { putMapping } from "../../core/lookups/mapping-admin";
import type { LegacyLookup } from "../../core/lookups/ports";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { redisClient } from "../../runtime/clients/redis";
import { buildLookups } from "../../runtime/lookups";
import type { LookupModule } from "../../runtime/lookups";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { apiClient, okxUid, telegramId, token } from "./support/http";
import type { StatsBody } from "./support/http";

let app: AppEnv;
let server: DevServer;
let admin: string;
const api = apiClient(() => server.url);
const ample = { remainingTimeMs: () => 10_000 };
const built: LookupModule[] = [];

beforeAll(async () => {
  // A long interval: only the explicit flushes below (and the stats route) write, so the test is deterministic.
  app = await useAppEnv({ LOOKUP_STATS_FLUSH_INTERVAL_MS: "600000" });
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
  admin = await token("admin");
});

afterEach(() => {
  for (const module of built.splice(0)) {
    module.fleet.stop();
  }
});

afterAll(async () => {
  await server?.close();
  await app?.database.drop();
});

/** A legacy tier that is off, reporting the given breaker state. */
function legacyReporting(state: "disabled" | "open"): LegacyLookup {
  return { enabled: false, lookup: () => Promise.resolve(null), breakerState: () => state };
}

/** A lookup module wired as in Lambda: one "container". */
function container(state: "disabled" | "open" = "disabled"): LookupModule {
  const module = buildLookups({ redis: redisClient(), legacy: legacyReporting(state) });
  built.push(module);
  return module;
}

const stats = async (minutes?: number) =>
  (await api<StatsBody>("GET", `/v1/admin/stats${minutes ? `?minutes=${minutes}` : ""}`, { token: admin })).body;

describe("fleet-wide lookup figures", () => {
  it("two containers both count; the stats function (a third container) reads the sum", async () => {
    const [a, b] = [container(), container()];
    const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid(), isActive: true };
    // As the admin API writes (its cache invalidation delivered): an undelivered one would keep the cache from being trusted.
    await putMapping(a.admin, person);
    const before = await stats();

    await a.service.resolve(person.okxUid, ample); // database
    await a.service.resolve(person.okxUid, ample); // cache
    await b.service.resolve(person.okxUid, ample); // cache (the entry a filled)
    await b.service.resolve(telegramId(), ample); // direct
    await expect(b.service.resolve(okxUid(), ample)).rejects.toThrow(); // not found
    await Promise.all([a.fleet.flush(), b.fleet.flush()]);

    const after = await stats();
    const delta = (pick: (body: StatsBody) => number) => pick(after) - pick(before);
    expect(delta((s) => s.lookups.lookups)).toBe(5);
    expect(delta((s) => s.lookups.byTier.database)).toBe(1);
    expect(delta((s) => s.lookups.byTier.cache)).toBe(2);
    expect(delta((s) => s.lookups.byTier.direct)).toBe(1);
    expect(delta((s) => s.lookups.notFound)).toBe(1);
    expect(after.containers).toBe(2); // the first test of the file: only a and b have reported
    expect(after.breakers).toEqual({ legacy: "disabled", cache: "closed" });
  });

  it("a flush repeated or arriving late never counts twice", async () => {
    const a = container();
    const before = await stats();
    await a.service.resolve(telegramId(), ample);
    await a.fleet.flush();
    await a.fleet.flush();
    await a.service.resolve(telegramId(), ample);
    await a.fleet.flush();
    await a.fleet.flush();
    const after = await stats();
    expect(after.lookups.byTier.direct - before.lookups.byTier.direct).toBe(2);
  });

  it("shows the worst breaker state any container reports, and how many report each", async () => {
    const [healthy, failing] = [container(), container("open")];
    await healthy.service.resolve(telegramId(), ample);
    await failing.service.resolve(telegramId(), ample);
    await Promise.all([healthy.fleet.flush(), failing.fleet.flush()]);
    const body = await stats(1);
    expect(body.breakers.legacy).toBe("open");
    expect(body.breakerContainers.legacy.open).toBe(1);
    expect(body.breakerContainers.legacy.disabled).toBeGreaterThanOrEqual(1);
    expect(body.window.minutes).toBe(1);
  });

  it("refuses a window it does not keep", async () => {
    const response = await api<{ error: { fields: { field: string }[] } }>("GET", "/v1/admin/stats?minutes=100000", { token: admin });
    expect(response.status).toBe(400);
    expect(response.body.error.fields[0]?.field).toBe("query.minutes");
  });
});
