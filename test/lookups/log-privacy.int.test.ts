import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { redisConfigSchema } from "../../core/config";
import { createUpstashRedis } from "../../core/redis/upstash";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { configFor } from "../../runtime/config";
import { buildLookups } from "../../runtime/lookups";
import { deliverInvalidation, lookupInvalidationMessage } from "../../core/lookups/invalidation";
import { startFakeLegacyService } from "../fixtures/legacy-service";
import type { FakeLegacyService } from "../fixtures/legacy-service";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { apiClient, okxUid, telegramId, token } from "./support/http";
import { captureJsonLogLines } from "../support/logs";

let legacy: FakeLegacyService;
let app: AppEnv;
let server: DevServer;
let admin: string;
let service: string;
const api = apiClient(() => server.url);
const lines: string[] = [];

beforeAll(async () => {
  legacy = await startFakeLegacyService();
  app = await useAppEnv({ LEGACY_LOOKUP_URL: legacy.url, LOG_LEVEL: "DEBUG" });
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
  admin = await token("admin");
  service = await token("service", "notifier");
  captureJsonLogLines(lines);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await server?.close();
  await legacy?.close();
  await app?.database.drop();
});

async function refusedRedisUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe("logs", () => {
  it("carry telegram ids and okx uids at debug level only", async () => {
    const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid() };
    const taken = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid() };
    const put = (userId: string, body: unknown) => api("PUT", `/v1/admin/mappings/${userId}`, { token: admin, body });
    expect((await put(person.userId, { telegramId: person.telegramId, okxUid: person.okxUid })).status).toBe(201);
    expect((await put(taken.userId, { telegramId: person.telegramId, okxUid: taken.okxUid })).status).toBe(409);
    const unknown = okxUid();
    expect((await api("GET", `/v1/lookups/${unknown}`, { token: service })).status).toBe(404);
    // The legacy service answers a Telegram id that belongs to someone else: a conflict, logged.
    const conflicting = okxUid();
    legacy.know(conflicting, { telegram_id: person.telegramId, okx_uid: conflicting });
    await api("GET", `/v1/lookups/${conflicting}`, { token: service });
    legacy.mode = "fail";
    const failing = telegramId();
    await api("GET", `/v1/lookups/${failing}`, { token: service });
    legacy.mode = "answer";
    // An invalidation that cannot reach Redis.
    const redisToken = configFor(redisConfigSchema).UPSTASH_REDIS_REST_TOKEN;
    const dead = buildLookups({ redis: createUpstashRedis({ url: await refusedRedisUrl(), token: redisToken, retries: 0 }) });
    const owed = lookupInvalidationMessage(randomUUID(), person.userId, [{ kind: "okx_uid", value: person.okxUid }, { kind: "telegram_id", value: person.telegramId }]);
    expect((await deliverInvalidation(dead.invalidations, owed)).delivered).toBe(false);

    const personal = [person.telegramId, person.okxUid, taken.okxUid, unknown, conflicting, failing];
    const entries = lines.map((line) => JSON.parse(line) as { level: string; message: string });
    const above = entries.filter((entry) => entry.level !== "DEBUG").map((entry) => JSON.stringify(entry));
    const debug = entries.filter((entry) => entry.level === "DEBUG").map((entry) => JSON.stringify(entry));
    expect(above.length).toBeGreaterThan(0);
    for (const value of personal) {
      for (const line of above) expect(line, `${value} logged above debug`).not.toContain(value);
    }
    expect(above.some((line) => line.includes("legacy lookup failed"))).toBe(true);
    expect(debug.some((line) => line.includes(failing))).toBe(true);
    expect(debug.some((line) => line.includes(person.okxUid))).toBe(true);
  });
});
