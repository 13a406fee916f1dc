import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { startMisbehavingLegacy } from "../fixtures/misbehaving-legacy";
import type { MisbehavingLegacy } from "../fixtures/misbehaving-legacy";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { apiClient, okxUid, telegramId, token } from "./support/http";
import type { BatchResult, LookupBody, MappingBody, StatsBody } from "./support/http";

const MAX_IN_FLIGHT = 4;
const MAX_BODY_BYTES = 16 * 1024;

let legacy: MisbehavingLegacy;
let app: AppEnv;
let server: DevServer;
let admin: string;
let service: string;
const api = apiClient(() => server.url);

beforeAll(async () => {
  legacy = await startMisbehavingLegacy();
  app = await useAppEnv({
    LEGACY_LOOKUP_URL: legacy.url,
    LEGACY_LOOKUP_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
    LEGACY_LOOKUP_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    LEGACY_LOOKUP_TIMEOUT_MS: "1500",
  });
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
  admin = await token("admin");
  service = await token("service", "notifier");
});

beforeEach(() => legacy.resetCounters());

afterAll(async () => {
  await server?.close();
  await legacy?.close();
  await app?.database.drop();
});

const lookup = (identifier: string) => api<LookupBody>("GET", `/v1/lookups/${identifier}`, { token: service });
const stats = async () => (await api<StatsBody>("GET", "/v1/admin/stats", { token: admin })).body;
const mappingsOf = async (query: string) => (await api<{ mappings: MappingBody[] }>("GET", `/v1/admin/mappings?${query}`, { token: admin })).body.mappings;

async function put(person: { userId: string; telegramId: string; okxUid: string | null }, isActive = true) {
  const response = await api("PUT", `/v1/admin/mappings/${person.userId}`, { token: admin, body: { telegramId: person.telegramId, okxUid: person.okxUid, isActive } });
  expect([200, 201]).toContain(response.status);
}

/** A refused answer: 404, asked again next time (nothing cached), nothing learned, one more conflict counted. */
async function expectRefused(asked: string, learnedQuery: string) {
  const before = (await stats()).lookups.legacyConflicts;
  expect((await lookup(asked)).status).toBe(404);
  expect((await lookup(asked)).status).toBe(404);
  expect(legacy.requestsFor(asked)).toBe(2);
  expect(await mappingsOf(learnedQuery)).toEqual([]);
  expect((await stats()).lookups.legacyConflicts - before).toBe(2);
}

describe("legacy answers are checked before they are served or learned", () => {
  it("refuses an answer that names another okx uid than the one asked", async () => {
    const asked = okxUid();
    const named = okxUid();
    const chat = telegramId();
    legacy.script(asked, { kind: "json", body: { telegram_id: chat, okx_uid: named } });
    await expectRefused(asked, `telegramId=${chat}`);
    expect(await mappingsOf(`okxUid=${named}`)).toEqual([]);
  });

  it("refuses an answer that names another user id than the one asked", async () => {
    const asked = randomUUID();
    const chat = telegramId();
    legacy.script(asked, { kind: "json", body: { telegram_id: chat, user_id: randomUUID() } });
    await expectRefused(asked, `telegramId=${chat}`);
  });

  it("refuses a telegram id that belongs to a deactivated user, and keeps that user deactivated", async () => {
    const gone = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid() };
    await put(gone);
    expect((await api("DELETE", `/v1/admin/mappings/${gone.userId}`, { token: admin })).status).toBe(200);
    const asked = okxUid();
    legacy.script(asked, { kind: "json", body: { telegram_id: gone.telegramId } });
    await expectRefused(asked, `okxUid=${asked}`);
    expect((await mappingsOf(`telegramId=${gone.telegramId}`)).map((m) => [m.userId, m.isActive])).toEqual([[gone.userId, false]]);
  });

  it("refuses a telegram id that belongs to an active user with another okx uid, and leaves that user as it was", async () => {
    const owner = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid() };
    await put(owner);
    const asked = okxUid();
    legacy.script(asked, { kind: "json", body: { telegram_id: owner.telegramId, okx_uid: asked } });
    await expectRefused(asked, `okxUid=${asked}`);
    expect((await lookup(owner.telegramId)).body).toMatchObject({ userId: owner.userId, okxUid: owner.okxUid });
  });

  it("refuses a 16-digit telegram id above 2^52, as a string or as a number", async () => {
    const asString = okxUid();
    const asNumber = okxUid();
    legacy.script(asString, { kind: "json", body: { telegram_id: "4503599627370497" } });
    legacy.script(asNumber, { kind: "json", body: { telegram_id: 4_503_599_627_370_497 } });
    await expectRefused(asString, `okxUid=${asString}`);
    await expectRefused(asNumber, `okxUid=${asNumber}`);
  });

  it("answers a Telegram id directly when the answer about it names another one, and caches neither", async () => {
    const asked = telegramId();
    legacy.script(asked, { kind: "json", body: { telegram_id: telegramId() } });
    expect((await lookup(asked)).body).toMatchObject({ telegramId: asked, source: "direct" });
    expect((await lookup(asked)).body).toMatchObject({ telegramId: asked, source: "direct" });
    expect(legacy.requestsFor(asked)).toBe(2);
  });

  it("still serves and learns a consistent answer", async () => {
    const asked = okxUid();
    const chat = telegramId();
    legacy.script(asked, { kind: "json", body: { telegram_id: chat } });
    expect((await lookup(asked)).body).toMatchObject({ telegramId: chat, okxUid: asked, source: "legacy" });
    expect((await lookup(asked)).body).toMatchObject({ source: "cache" });
    expect((await mappingsOf(`okxUid=${asked}`)).map((m) => m.source)).toEqual(["legacy"]);
  });
});

describe("a caller tells not found from could not ask", () => {
  it("404 when the legacy service says it does not know; 503 with Retry-After when it fails, neither cached as the other", async () => {
    const unknown = okxUid();
    legacy.script(unknown, { kind: "status", status: 404 });
    expect((await lookup(unknown)).status).toBe(404);

    const failing = okxUid();
    legacy.script(failing, { kind: "status", status: 500 });
    const first = await lookup(failing);
    expect(first.status).toBe(503);
    expect(first.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
    legacy.script(failing, { kind: "json", body: { telegram_id: telegramId() } });
    expect((await lookup(failing)).status).toBe(200);
  });

  it("says which in a batch: reason not_found or unavailable", async () => {
    const unknown = okxUid();
    const failing = okxUid();
    legacy.script(failing, { kind: "status", status: 502 });
    const batch = await api<{ results: BatchResult[] }>("POST", "/v1/lookups/batch", { token: service, body: { identifiers: [unknown, failing] } });
    expect(batch.status).toBe(200);
    expect(batch.body.results).toEqual([
      { identifier: unknown, kind: "okx_uid", found: false, reason: "not_found" },
      { identifier: failing, kind: "okx_uid", found: false, reason: "unavailable" },
    ]);
  });
});

describe("legacy calls are bounded", () => {
  it(`a batch of 100 unknown identifiers makes at most ${MAX_IN_FLIGHT} calls at once`, async () => {
    const identifiers = Array.from({ length: 100 }, () => okxUid());
    for (const identifier of identifiers) legacy.script(identifier, { kind: "json", status: 404, body: {}, delayMs: 20 });
    const batch = await api<{ results: BatchResult[] }>("POST", "/v1/lookups/batch", { token: service, body: { identifiers } });
    expect(batch.status).toBe(200);
    expect(legacy.maxConcurrent).toBe(MAX_IN_FLIGHT);
    expect(batch.body.results.every((entry) => !entry.found && entry.reason === "not_found")).toBe(true);
    // 100 calls of 20 ms, 4 at a time.
    expect(batch.elapsedMs).toBeGreaterThanOrEqual((100 / MAX_IN_FLIGHT) * 20);
  });

  it("a call that finds no free slot within its budget is not made, and its identifier is unavailable", async () => {
    const identifiers = Array.from({ length: 40 }, () => okxUid());
    for (const identifier of identifiers) legacy.script(identifier, { kind: "json", status: 404, body: {}, delayMs: 1_000 });
    const batch = await api<{ results: BatchResult[] }>("POST", "/v1/lookups/batch", { token: service, body: { identifiers } });
    const reasons = batch.body.results.map((entry) => (entry.found ? "found" : entry.reason));
    expect(reasons.filter((reason) => reason === "not_found")).toHaveLength(MAX_IN_FLIGHT);
    expect(reasons.filter((reason) => reason === "unavailable")).toHaveLength(40 - MAX_IN_FLIGHT);
    // The first four, then at most four more started with what was left of the budget (and aborted).
    const asked = identifiers.filter((identifier) => legacy.requestsFor(identifier) > 0);
    expect(asked.length).toBeLessThanOrEqual(2 * MAX_IN_FLIGHT);
    expect((await stats()).lookups.legacyBusy).toBeGreaterThanOrEqual(40 - 2 * MAX_IN_FLIGHT);
  });

  it(`200 concurrent lookups make at most ${MAX_IN_FLIGHT} calls at once`, async () => {
    const identifiers = Array.from({ length: 200 }, () => okxUid());
    for (const identifier of identifiers) legacy.script(identifier, { kind: "json", status: 404, body: {}, delayMs: 5 });
    const statuses = await Promise.all(identifiers.map(async (identifier) => (await lookup(identifier)).status));
    expect(legacy.maxConcurrent).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(legacy.maxConcurrent).toBeGreaterThan(1);
    // On a loaded machine a lookup may wait out its budget for a slot: then it is a 503, never a 5xx of another kind.
    expect(statuses.filter((status) => status !== 404 && status !== 503)).toEqual([]);
  });

  it("aborts a reply body over the size limit instead of reading it whole, declared or not", async () => {
    const identifiers = Array.from({ length: 10 }, (_, i) => [okxUid(), i % 2 === 0] as const);
    for (const [identifier, declareLength] of identifiers) legacy.script(identifier, { kind: "huge", bytes: 10 * 1024 * 1024, declareLength });
    const heapBefore = process.memoryUsage().heapUsed;
    const responses = await Promise.all(identifiers.map(([identifier]) => lookup(identifier)));
    expect(responses.map((response) => response.status)).toEqual(identifiers.map(() => 503));
    // Nothing near 10 x 10 MB was held: the reads stopped at the limit.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(40 * 1024 * 1024);
    expect(legacy.hugeBytesWritten).toHaveLength(10);
    for (const written of legacy.hugeBytesWritten) expect(written).toBeLessThan(10 * 1024 * 1024);
  });
});
