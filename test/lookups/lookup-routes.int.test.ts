import { randomUUID } from "node:crypto";
import type { Redis } from "@upstash/redis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { startDevServer } from "../../local/dev-server";
import { cacheSnapshots } from "../../runtime/cache";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { startFakeLegacyService } from "../fixtures/legacy-service";
import type { FakeLegacyService } from "../fixtures/legacy-service";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { apiClient, fieldsOf, okxUid, telegramId, token } from "./support/http";
import { LookupRedisCache } from "./support/redis-cache";
import type { BatchResult, ErrorBody, LookupBody, MappingBody, StatsBody } from "./support/http";

const NEGATIVE_TTL_SECONDS = 20;
const POSITIVE_TTL_SECONDS = 600;

let legacy: FakeLegacyService;
let app: AppEnv;
let server: DevServer;
let redis: Redis;
let keys: RedisKeys;
let db: pg.Client;
let admin: string;
let service: string;
const api = apiClient(() => server.url);

beforeAll(async () => {
  // The legacy URL is part of the config, which the handlers read once: the fake must exist first.
  legacy = await startFakeLegacyService();
  app = await useAppEnv({
    LEGACY_LOOKUP_URL: legacy.url,
    LOOKUP_NEGATIVE_TTL_SECONDS: String(NEGATIVE_TTL_SECONDS),
    LOOKUP_CACHE_TTL_SECONDS: String(POSITIVE_TTL_SECONDS),
  });
  const manifest = await loadSstManifest();
  server = await startDevServer({ routes: manifest.routes });
  redis = createUpstashRedis({ url: app.env.UPSTASH_REDIS_REST_URL ?? "", token: app.env.UPSTASH_REDIS_REST_TOKEN ?? "", retries: 0 });
  keys = new RedisKeys(app.keyPrefix);
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
  admin = await token("admin");
  service = await token("service", "notifier");
});

afterAll(async () => {
  await db?.end();
  await server?.close();
  await legacy?.close();
  await app?.database.drop();
});

interface Person {
  readonly userId: string;
  readonly telegramId: string;
  readonly okxUid: string;
}

async function mapped(): Promise<Person> {
  const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid() };
  const put = await api<MappingBody>("PUT", `/v1/admin/mappings/${person.userId}`, {
    token: admin,
    body: { telegramId: person.telegramId, okxUid: person.okxUid },
  });
  expect(put.status).toBe(201);
  return person;
}

const lookup = (identifier: string, bearer = service) => api<LookupBody>("GET", `/v1/lookups/${identifier}`, { token: bearer });
const stats = async () => (await api<StatsBody>("GET", "/v1/admin/stats", { token: admin })).body;

describe("GET /v1/lookups/{identifier}: tiers", () => {
  it("answers from the database first and from the cache afterwards", async () => {
    const person = await mapped();
    const first = await lookup(person.okxUid);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ identifier: person.okxUid, kind: "okx_uid", telegramId: person.telegramId, userId: person.userId, okxUid: person.okxUid, source: "database" });

    const second = await lookup(person.okxUid);
    expect(second.body).toEqual({ ...first.body, source: "cache" });

    const ttl = await new LookupRedisCache(redis, keys).ttl(redis, keys, { kind: "okx_uid", value: person.okxUid });
    expect(ttl).toBeGreaterThan(NEGATIVE_TTL_SECONDS);
    expect(ttl).toBeLessThanOrEqual(POSITIVE_TTL_SECONDS);
    expect(legacy.requestsFor(person.okxUid)).toBe(0);
  });

  it("counts its cache's reads with the container's other caches (cacheSnapshots, which the bench reports)", async () => {
    const person = await mapped();
    const lookupsCache = () => cacheSnapshots().find((snapshot) => snapshot.cache === "lookups");
    const before = lookupsCache();
    expect(before).toBeDefined();
    await lookup(person.okxUid); // database
    await lookup(person.okxUid); // cache
    const after = lookupsCache();
    expect({ reads: after!.reads - before!.reads, hits: after!.hits - before!.hits, misses: after!.misses - before!.misses }).toEqual({ reads: 2, hits: 1, misses: 1 });
  });

  it("answers an identifier only the legacy service knows, and records it with source legacy", async () => {
    const userId = randomUUID();
    const known = { okxUid: okxUid(), telegramId: telegramId() };
    legacy.know(known.okxUid, { telegram_id: Number(known.telegramId), user_id: userId, okx_uid: known.okxUid });

    const first = await lookup(known.okxUid);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ identifier: known.okxUid, kind: "okx_uid", telegramId: known.telegramId, userId, okxUid: known.okxUid, source: "legacy" });
    expect(legacy.requestsFor(known.okxUid)).toBe(1);

    const rows = await db.query<{ telegram_id: string; okx_uid: string; is_active: boolean; source: string }>(
      "SELECT telegram_id::text AS telegram_id, okx_uid, is_active, source FROM user_identifier_mappings WHERE user_id = $1",
      [userId],
    );
    expect(rows.rows).toEqual([{ telegram_id: known.telegramId, okx_uid: known.okxUid, is_active: true, source: "legacy" }]);

    // A cold identifier of the learned mapping is now the database's.
    const byUser = await lookup(userId);
    expect(byUser.body).toMatchObject({ telegramId: known.telegramId, okxUid: known.okxUid, source: "database" });
    expect(legacy.requestsFor(userId)).toBe(0);
  });

  it("answers an unmapped Telegram id directly", async () => {
    const chat = telegramId();
    const result = await lookup(chat);
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ identifier: chat, kind: "telegram_id", telegramId: chat, userId: null, okxUid: null, source: "direct" });
    expect(legacy.requestsFor(chat)).toBe(1);
  });

  it("answers 404 for an unknown OKX UID and then serves the miss from the negative cache", async () => {
    const unknown = okxUid();
    const first = await lookup(unknown);
    expect(first.status).toBe(404);
    expect(first.body).toMatchObject({ error: { code: "not_found" } });

    const cached = new LookupRedisCache(redis, keys);
    expect(await cached.getMany([{ kind: "okx_uid", value: unknown }])).toEqual([null]);
    const ttl = await cached.ttl(redis, keys, { kind: "okx_uid", value: unknown });
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(NEGATIVE_TTL_SECONDS);

    const before = await stats();
    const second = await lookup(unknown);
    const after = await stats();
    expect(second.status).toBe(404);
    expect(after.lookups.negativeHits - before.lookups.negativeHits).toBe(1);
    expect(after.lookups.databaseQueries).toBe(before.lookups.databaseQueries);
    expect(legacy.requestsFor(unknown)).toBe(1);
  });
});

describe("admin mappings", () => {
  it("creates with 201, confirms with 200, reads back and searches", async () => {
    const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid() };
    const path = `/v1/admin/mappings/${person.userId}`;
    const created = await api<MappingBody>("PUT", path, { token: admin, body: { telegramId: Number(person.telegramId), okxUid: person.okxUid } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...person, isActive: true, source: "admin" });

    const again = await api<MappingBody>("PUT", path, { token: admin, body: { telegramId: person.telegramId, okxUid: person.okxUid } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(created.body);

    const read = await api<MappingBody>("GET", `/v1/admin/mappings/${person.userId.toUpperCase()}`, { token: admin });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const both = await api<{ mappings: MappingBody[] }>("GET", `/v1/admin/mappings?telegramId=${person.telegramId}&okxUid=${person.okxUid}`, { token: admin });
    expect(both.status).toBe(200);
    expect(both.body.mappings).toEqual([created.body]);
    const byTelegram = await api<{ mappings: MappingBody[] }>("GET", `/v1/admin/mappings?telegramId=${person.telegramId}`, { token: admin });
    expect(byTelegram.body.mappings.map((mapping) => mapping.userId)).toEqual([person.userId]);
    const mismatch = await api<{ mappings: MappingBody[] }>("GET", `/v1/admin/mappings?telegramId=${person.telegramId}&okxUid=${okxUid()}`, { token: admin });
    expect(mismatch.body.mappings).toEqual([]);
  });

  it("validates the search, the body and the user id", async () => {
    const noFilter = await api("GET", "/v1/admin/mappings", { token: admin });
    expect(noFilter.status).toBe(400);
    expect(fieldsOf(noFilter.body)).toEqual(["query"]);

    const badBody = await api("PUT", `/v1/admin/mappings/${randomUUID()}`, { token: admin, body: { telegramId: "7abc", okxUid: "123" } });
    expect(badBody.status).toBe(400);
    expect(fieldsOf(badBody.body).sort()).toEqual(["body.okxUid", "body.telegramId"]);

    const badId = await api("GET", "/v1/admin/mappings/not-a-uuid", { token: admin });
    expect(badId.status).toBe(400);
    expect(fieldsOf(badId.body)).toEqual(["path.userId"]);

    const missing = await api("GET", `/v1/admin/mappings/${randomUUID()}`, { token: admin });
    expect(missing.status).toBe(404);
    const missingDelete = await api("DELETE", `/v1/admin/mappings/${randomUUID()}`, { token: admin });
    expect(missingDelete.status).toBe(404);
  });

  it("answers 409 when the Telegram id belongs to another active user, leaving that user alone", async () => {
    const owner = await mapped();
    const other = randomUUID();
    const conflict = await api("PUT", `/v1/admin/mappings/${other}`, { token: admin, body: { telegramId: owner.telegramId, okxUid: null } });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: { code: "conflict" } });

    expect((await api("GET", `/v1/admin/mappings/${other}`, { token: admin })).status).toBe(404);
    expect((await lookup(owner.telegramId)).body).toMatchObject({ userId: owner.userId, okxUid: owner.okxUid });
  });

  it("invalidates cached answers at once when a mapping changes", async () => {
    const person = await mapped();
    await lookup(person.okxUid);
    expect((await lookup(person.okxUid)).body).toMatchObject({ telegramId: person.telegramId, source: "cache" });
    await lookup(person.telegramId);

    const moved = telegramId();
    const put = await api<MappingBody>("PUT", `/v1/admin/mappings/${person.userId}`, { token: admin, body: { telegramId: moved, okxUid: person.okxUid } });
    expect(put.status).toBe(200);
    expect(put.body.telegramId).toBe(moved);

    const after = await lookup(person.okxUid);
    expect(after.body).toMatchObject({ telegramId: moved, userId: person.userId, source: "database" });
    // The old chat is no longer this user's.
    expect((await lookup(person.telegramId)).body).toMatchObject({ telegramId: person.telegramId, userId: null, source: "direct" });
  });

  it("deactivates: the next lookup by OKX UID is 404, the row stays for audit", async () => {
    const person = await mapped();
    expect((await lookup(person.okxUid)).status).toBe(200);
    expect((await lookup(person.userId)).status).toBe(200);

    const removed = await api<MappingBody>("DELETE", `/v1/admin/mappings/${person.userId}`, { token: admin });
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ userId: person.userId, isActive: false });

    expect((await lookup(person.okxUid)).status).toBe(404);
    expect((await lookup(person.userId)).status).toBe(404);
    const read = await api<MappingBody>("GET", `/v1/admin/mappings/${person.userId}`, { token: admin });
    expect(read.body).toMatchObject({ isActive: false, okxUid: person.okxUid });
  });

  it("re-activates with PUT isActive true, and the next lookup finds the mapping again", async () => {
    const person = await mapped();
    expect((await api("DELETE", `/v1/admin/mappings/${person.userId}`, { token: admin })).status).toBe(200);
    expect((await lookup(person.okxUid)).status).toBe(404);

    const restored = await api<MappingBody>("PUT", `/v1/admin/mappings/${person.userId}`, {
      token: admin,
      body: { telegramId: person.telegramId, okxUid: person.okxUid, isActive: true },
    });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ isActive: true });
    const found = await lookup(person.okxUid);
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ telegramId: person.telegramId, userId: person.userId });
  });

  it("keeps a deactivated mapping deactivated even when the legacy service still knows it", async () => {
    const person = await mapped();
    expect((await api("DELETE", `/v1/admin/mappings/${person.userId}`, { token: admin })).status).toBe(200);
    legacy.know(person.okxUid, { telegram_id: person.telegramId, user_id: person.userId, okx_uid: person.okxUid });

    expect((await lookup(person.okxUid)).status).toBe(404);
    expect((await lookup(person.telegramId)).status).toBe(404);
    expect(legacy.requestsFor(person.okxUid)).toBe(0);
    const rows = await db.query<{ is_active: boolean; source: string }>("SELECT is_active, source FROM user_identifier_mappings WHERE user_id = $1", [person.userId]);
    expect(rows.rows).toEqual([{ is_active: false, source: "admin" }]);
  });
});

describe("PUT replaces, PATCH merges", () => {
  const path = (userId: string) => `/v1/admin/mappings/${userId}`;
  const patch = (userId: string, body: unknown, contentType = "application/merge-patch+json") =>
    api<MappingBody & ErrorBody>("PATCH", path(userId), { token: admin, body, contentType });

  it("PUT requires every field it replaces: leaving okxUid out is a 400, not a silent removal", async () => {
    const person = await mapped();
    expect((await api("DELETE", path(person.userId), { token: admin })).status).toBe(200);
    const partial = await api<ErrorBody>("PUT", path(person.userId), { token: admin, body: { telegramId: person.telegramId, isActive: true } });
    expect(partial.status).toBe(400);
    expect(partial.body.error.fields).toEqual([{ field: "body.okxUid", message: expect.stringMatching(/required: PUT replaces the whole mapping/) }]);
    expect((await api<MappingBody>("GET", path(person.userId), { token: admin })).body).toMatchObject({ okxUid: person.okxUid, isActive: false });

    const cleared = await api<MappingBody>("PUT", path(person.userId), { token: admin, body: { telegramId: person.telegramId, okxUid: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ okxUid: null, isActive: true });
  });

  it("PATCH changes only the fields it names: re-activation keeps the okx uid", async () => {
    const person = await mapped();
    expect((await api("DELETE", path(person.userId), { token: admin })).status).toBe(200);
    const reactivated = await patch(person.userId, { isActive: true });
    expect(reactivated.status).toBe(200);
    expect(reactivated.body).toMatchObject({ telegramId: person.telegramId, okxUid: person.okxUid, isActive: true, source: "admin" });
    expect((await lookup(person.okxUid)).body).toMatchObject({ userId: person.userId });
  });

  it("PATCH with null removes the okx uid, moves the telegram id with the cache invalidated, and {} changes nothing", async () => {
    const person = await mapped();
    expect((await lookup(person.okxUid)).status).toBe(200);
    expect((await lookup(person.okxUid)).body.source).toBe("cache");

    const moved = telegramId();
    const changed = await patch(person.userId, { telegramId: moved, okxUid: null }, "application/json");
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ telegramId: moved, okxUid: null, isActive: true });
    expect((await lookup(person.okxUid)).status).toBe(404);
    expect((await lookup(moved)).body).toMatchObject({ userId: person.userId, okxUid: null });

    const same = await patch(person.userId, {});
    expect(same.status).toBe(200);
    expect(same.body).toEqual(changed.body);
  });

  it("PATCH refuses what it cannot merge, names the field, and a missing mapping is 404", async () => {
    const person = await mapped();
    const other = await mapped();
    const removeTelegram = await patch(person.userId, { telegramId: null });
    expect(removeTelegram.status).toBe(422);
    expect(fieldsOf(removeTelegram.body)).toEqual(["body.telegramId"]);
    const unknownField = await patch(person.userId, { email: "x@example.com" });
    expect(unknownField.status).toBe(400);
    const taken = await patch(person.userId, { okxUid: other.okxUid });
    expect(taken.status).toBe(409);
    expect((await patch(randomUUID(), { isActive: false })).status).toBe(404);
    expect((await patch(person.userId, { isActive: false }, "text/plain")).status).toBe(415);
    expect((await api<MappingBody>("GET", path(person.userId), { token: admin })).body).toMatchObject({ okxUid: person.okxUid, isActive: true });
  });
});

describe("POST /v1/lookups/batch", () => {
  it("answers each identifier, known, unknown or repeated", async () => {
    const person = await mapped();
    const unknown = okxUid();
    const chat = telegramId();
    const identifiers = [person.okxUid, unknown, chat, person.userId, person.okxUid];
    const response = await api<{ results: BatchResult[] }>("POST", "/v1/lookups/batch", { token: service, body: { identifiers } });
    expect(response.status).toBe(200);
    const fromPerson = { telegramId: person.telegramId, userId: person.userId, okxUid: person.okxUid, source: "database" };
    expect(response.body.results).toEqual([
      { found: true, identifier: person.okxUid, kind: "okx_uid", ...fromPerson },
      { found: false, identifier: unknown, kind: "okx_uid", reason: "not_found" },
      { found: true, identifier: chat, kind: "telegram_id", telegramId: chat, userId: null, okxUid: null, source: "direct" },
      { found: true, identifier: person.userId, kind: "user_id", ...fromPerson },
      { found: true, identifier: person.okxUid, kind: "okx_uid", ...fromPerson },
    ]);
  });

  it("rejects 101 identifiers naming body.identifiers", async () => {
    const identifiers = Array.from({ length: 101 }, () => telegramId());
    const response = await api("POST", "/v1/lookups/batch", { token: service, body: { identifiers } });
    expect(response.status).toBe(400);
    expect(fieldsOf(response.body)).toEqual(["body.identifiers"]);
  });

  it("rejects a malformed identifier naming its index", async () => {
    const response = await api("POST", "/v1/lookups/batch", { token: service, body: { identifiers: [telegramId(), "12-34", okxUid()] } });
    expect(response.status).toBe(400);
    expect(fieldsOf(response.body)).toEqual(["body.identifiers.1"]);
  });
});

describe("malformed identifiers on GET", () => {
  it.each([["letters", "12ab34"], ["a leading zero", "0701234567"], ["21 digits", "518796558012178692123"], ["too long", "9".repeat(65)]])(
    "rejects %s with 400 naming path.identifier",
    async (_label, identifier) => {
      const response = await lookup(identifier);
      expect(response.status).toBe(400);
      expect(fieldsOf(response.body)).toEqual(["path.identifier"]);
    },
  );
});

describe("roles", () => {
  it("lets a user look up themselves, by any of their identifiers, and nobody else", async () => {
    const me = await mapped();
    const other = await mapped();
    const mine = await token("user", me.userId);
    expect((await lookup(me.okxUid, mine)).status).toBe(200);
    expect((await lookup(me.telegramId, mine)).body).toMatchObject({ userId: me.userId });
    expect((await lookup(me.userId, mine)).status).toBe(200);
    // UUID case carries no meaning: a token naming the user in upper case is still that user.
    expect((await lookup(me.okxUid, await token("user", me.userId.toUpperCase()))).status).toBe(200);

    expect((await lookup(other.okxUid, mine)).status).toBe(403);
    expect((await lookup(other.userId, mine)).status).toBe(403);
    // Unknown and unmapped identifiers look the same as other people's.
    expect((await lookup(okxUid(), mine)).status).toBe(403);
    expect((await lookup(telegramId(), mine)).status).toBe(403);
  });

  it("keeps user tokens off the batch and admin routes", async () => {
    const me = await mapped();
    const mine = await token("user", me.userId);
    expect((await api("POST", "/v1/lookups/batch", { token: mine, body: { identifiers: [me.okxUid] } })).status).toBe(403);
    expect((await api("GET", `/v1/admin/mappings/${me.userId}`, { token: mine })).status).toBe(403);
    expect((await api("PUT", `/v1/admin/mappings/${me.userId}`, { token: mine, body: { telegramId: telegramId() } })).status).toBe(403);
    expect((await api("DELETE", `/v1/admin/mappings/${me.userId}`, { token: mine })).status).toBe(403);
    expect((await api("GET", `/v1/admin/mappings?telegramId=${me.telegramId}`, { token: mine })).status).toBe(403);
    expect((await api("GET", "/v1/admin/stats", { token: mine })).status).toBe(403);
    expect((await api("GET", "/v1/admin/stats", { token: service })).status).toBe(403);
    expect((await lookup(me.okxUid, mine)).body).toMatchObject({ telegramId: me.telegramId });
  });

  it("requires a token", async () => {
    expect((await api("GET", `/v1/lookups/${telegramId()}`)).status).toBe(401);
  });
});

describe("GET /v1/admin/stats", () => {
  it("counts lookups by tier and shows both breakers", async () => {
    const person = await mapped();
    const learned = okxUid();
    legacy.know(learned, { telegram_id: telegramId(), user_id: randomUUID() });
    const unknown = okxUid();

    const before = await stats();
    await lookup(person.okxUid); // database
    await lookup(person.okxUid); // cache
    await lookup(learned); // legacy
    await lookup(telegramId()); // direct
    await lookup(unknown); // not found
    await lookup(unknown); // negative hit
    const after = await stats();

    const delta = (pick: (body: StatsBody) => number) => pick(after) - pick(before);
    expect(delta((s) => s.lookups.lookups)).toBe(6);
    expect(delta((s) => s.lookups.byTier.database)).toBe(1);
    expect(delta((s) => s.lookups.byTier.cache)).toBe(1);
    expect(delta((s) => s.lookups.byTier.legacy)).toBe(1);
    expect(delta((s) => s.lookups.byTier.direct)).toBe(1);
    expect(delta((s) => s.lookups.notFound)).toBe(2);
    expect(delta((s) => s.lookups.negativeHits)).toBe(1);
    expect(after.lookups.hitRate).toBeGreaterThan(0);
    expect(after.lookups.hitRate).toBeLessThan(1);
    expect(after.breakers).toEqual({ legacy: "closed", cache: "closed" });
  });
});
