import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import type { Redis } from "@upstash/redis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { NotFoundError, UnavailableError } from "../../core/errors";
import { HttpLegacyLookup } from "../../core/lookups/adapters/http-legacy-lookup";
import type { LookupContext } from "../../core/lookups/lookup-service";
import type { LegacyLookup } from "../../core/lookups/ports";
import { putMapping } from "../../core/lookups/mapping-admin";
import type { MappingAdminDeps } from "../../core/lookups/mapping-admin";
import { createUpstashRedis } from "../../core/redis/upstash";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { redisConfigSchema } from "../../core/config";
import { redisClient } from "../../runtime/clients/redis";
import { configFor } from "../../runtime/config";
import { buildLookups } from "../../runtime/lookups";
import { startFakeLegacyService } from "../fixtures/legacy-service";
import type { FakeLegacyService } from "../fixtures/legacy-service";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { apiClient, okxUid, telegramId, token } from "./support/http";
import type { LookupBody, StatsBody } from "./support/http";

/** HttpLegacyLookup's default volume threshold, which runtime/lookups.ts keeps. */
const LEGACY_VOLUME_THRESHOLD = 3;
const CACHE_TIMEOUT_MS = 100;
const LEGACY_FAIL_DELAY_MS = 300;

let legacy: FakeLegacyService;
let app: AppEnv;
let server: DevServer;
let admin: string;
let service: string;
const api = apiClient(() => server.url);
const ample: LookupContext = { remainingTimeMs: () => 10_000 };
const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(async () => {
  legacy = await startFakeLegacyService();
  app = await useAppEnv({ LEGACY_LOOKUP_URL: legacy.url, LOOKUP_CACHE_TIMEOUT_MS: String(CACHE_TIMEOUT_MS) });
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
  admin = await token("admin");
  service = await token("service", "notifier");
});

afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await server?.close();
  await legacy?.close();
  await app?.database.drop();
});

/** A LookupService wired as in Lambda, with the Redis client and legacy tier given. */
function buildLookupsWith(redis: Redis, legacyLookup: LegacyLookup) {
  return buildLookups({ redis, legacy: legacyLookup });
}

function workingRedis(): Redis {
  return redisClient();
}

function redisAt(url: string): Redis {
  const config = configFor(redisConfigSchema);
  return createUpstashRedis({ url, token: config.UPSTASH_REDIS_REST_TOKEN, retries: config.REDIS_RETRIES });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return (server.address() as AddressInfo).port;
}

/** A loopback port nobody listens on any more: connections are refused. */
async function refusedUrl(): Promise<string> {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Accepts connections and never answers: a Redis that hangs. */
async function silentUrl(): Promise<string> {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await listen(silent);
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        silent.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${port}`;
}

/** Written as the admin API writes (the invalidation it owes delivered, or left pending when Redis is down). */
async function seedMapping(admin: MappingAdminDeps) {
  const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid(), isActive: true };
  await putMapping(admin, person);
  return person;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const started = performance.now();
  const value = await work();
  return { value, elapsedMs: performance.now() - started };
}

describe("legacy breaker through the API", () => {
  it("opens after repeated failures; lookups then skip the legacy service and answer fast", async () => {
    legacy.mode = "fail";
    legacy.failDelayMs = LEGACY_FAIL_DELAY_MS;
    const stats = async () => (await api<StatsBody>("GET", "/v1/admin/stats", { token: admin })).body;
    const lookup = (identifier: string) => api<LookupBody>("GET", `/v1/lookups/${identifier}`, { token: service });
    const before = await stats();
    // No container has served a lookup yet, so none has reported its breakers.
    expect(before.breakers.legacy).toBe("none");

    for (let failure = 1; failure <= LEGACY_VOLUME_THRESHOLD; failure++) {
      if (failure > 1) expect((await stats()).breakers.legacy).toBe("closed");
      const response = await lookup(okxUid());
      // The legacy service could not be asked: "retry later", not "not found".
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
      expect(response.elapsedMs).toBeGreaterThanOrEqual(LEGACY_FAIL_DELAY_MS - 5);
    }
    expect(legacy.requests).toHaveLength(LEGACY_VOLUME_THRESHOLD);
    const opened = await stats();
    expect(opened.breakers.legacy).toBe("open");
    expect(opened.lookups.legacyErrors - before.lookups.legacyErrors).toBe(LEGACY_VOLUME_THRESHOLD);

    const unknown = await lookup(okxUid());
    expect(unknown.status).toBe(503);
    const chat = telegramId();
    const direct = await lookup(chat);
    expect(direct.status).toBe(200);
    expect(direct.body).toMatchObject({ telegramId: chat, source: "direct" });

    // Neither reached the legacy service (which would have taken LEGACY_FAIL_DELAY_MS): counted
    // rather than timed, so that a loaded machine cannot fail the test.
    expect(legacy.requests).toHaveLength(LEGACY_VOLUME_THRESHOLD);
    const after = await stats();
    expect(after.breakers.legacy).toBe("open");
    expect(after.lookups.legacyShortCircuits - opened.lookups.legacyShortCircuits).toBe(2);
    expect(after.breakers.cache).toBe("closed");
  });
});

describe("legacy breaker recovery", () => {
  it("lets a trial call through after the reset timeout and closes when it succeeds", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
    const resetTimeoutMs = 30_000;
    const legacyLookup = new HttpLegacyLookup({ baseUrl: legacy.url, volumeThreshold: 2, resetTimeoutMs });
    cleanups.push(() => legacyLookup.shutdown());
    const { service: lookups, stats } = buildLookupsWith(workingRedis(), legacyLookup);
    legacy.mode = "fail";
    legacy.failDelayMs = 0;
    const requestsAtStart = legacy.requests.length;
    const reached = () => legacy.requests.length - requestsAtStart;

    await expect(lookups.resolve(okxUid(), ample)).rejects.toBeInstanceOf(UnavailableError);
    expect(legacyLookup.breakerState()).toBe("closed");
    await expect(lookups.resolve(okxUid(), ample)).rejects.toBeInstanceOf(UnavailableError);
    expect(legacyLookup.breakerState()).toBe("open");
    expect(reached()).toBe(2);

    // The service is healthy again, but the open breaker does not know yet.
    legacy.mode = "answer";
    const known = { okxUid: okxUid(), telegramId: telegramId(), userId: randomUUID() };
    legacy.know(known.okxUid, { telegram_id: known.telegramId, user_id: known.userId, okx_uid: known.okxUid });
    await expect(lookups.resolve(okxUid(), ample)).rejects.toBeInstanceOf(UnavailableError);
    vi.advanceTimersByTime(resetTimeoutMs - 1);
    expect(legacyLookup.breakerState()).toBe("open");
    await expect(lookups.resolve(okxUid(), ample)).rejects.toBeInstanceOf(UnavailableError);
    expect(reached()).toBe(2);
    expect(stats.snapshot().legacyShortCircuits).toBe(2);

    vi.advanceTimersByTime(1);
    expect(legacyLookup.breakerState()).toBe("half-open");
    expect(await lookups.resolve(known.okxUid, ample)).toEqual({ ...known, source: "legacy" });
    expect(reached()).toBe(3);
    expect(legacyLookup.breakerState()).toBe("closed");

    await expect(lookups.resolve(okxUid(), ample)).rejects.toBeInstanceOf(NotFoundError);
    expect(reached()).toBe(4);
  });
});

describe("Redis unavailable", () => {
  const disabledLegacy = () => new HttpLegacyLookup({ baseUrl: undefined });

  it.each([
    ["refuses connections", refusedUrl],
    ["accepts connections but never answers", silentUrl],
  ])("answers from the database when Redis %s, and opens the cache breaker", async (_label, endpoint) => {
    const { service: lookups, stats, cache, admin: adminDeps } = buildLookupsWith(redisAt(await endpoint()), disabledLegacy());
    const person = await seedMapping(adminDeps);
    const expected = { telegramId: person.telegramId, userId: person.userId, okxUid: person.okxUid, source: "database" };

    const first = await timed(() => lookups.resolve(person.okxUid, ample));
    expect(first.value).toEqual(expected);
    expect(first.elapsedMs).toBeLessThan(1_500);
    expect(stats.snapshot().cacheErrors).toBeGreaterThan(0);

    for (const identifier of [person.userId, person.telegramId]) {
      const again = await timed(() => lookups.resolve(identifier, ample));
      expect(again.value).toEqual(expected);
      expect(again.elapsedMs).toBeLessThan(1_500);
    }
    expect(cache.breakerState()).toBe("open");

    const chat = telegramId();
    expect(await lookups.resolve(chat, ample)).toMatchObject({ telegramId: chat, source: "direct" });
    await expect(lookups.resolve(okxUid(), ample)).rejects.toBeInstanceOf(NotFoundError);
    const batch = await timed(() => lookups.resolveMany([person.okxUid, okxUid()], ample));
    expect(batch.value.map((entry) => entry.found)).toEqual([true, false]);
    expect(batch.elapsedMs).toBeLessThan(1_500);

    const snapshot = stats.snapshot();
    expect(snapshot.byTier.cache).toBe(0);
    expect(snapshot.databaseQueries).toBeGreaterThanOrEqual(6);
  });

  it("is not degraded with a working Redis (control)", async () => {
    const { service: lookups, stats, cache, admin: adminDeps } = buildLookupsWith(workingRedis(), disabledLegacy());
    const person = await seedMapping(adminDeps);
    await lookups.resolve(person.okxUid, ample);
    expect((await lookups.resolve(person.okxUid, ample)).source).toBe("cache");
    expect(stats.snapshot().cacheErrors).toBe(0);
    expect(cache.breakerState()).toBe("closed");
  });
});
