import { randomInt, randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisKeys } from "../../core/redis/keys";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness, HttpAnswer } from "../provisioning/support/harness";
import { token } from "../lookups/support/http";
import { cloudEnv } from "../support/cloud";
import { startRedisSwitch } from "./support/redis-switch";
import type { RedisSwitch } from "./support/redis-switch";

let harness: Harness;
let redisSwitch: RedisSwitch;
let raw: Redis;
let keys: RedisKeys;

beforeAll(async () => {
  const cloud = cloudEnv();
  redisSwitch = await startRedisSwitch(cloud.UPSTASH_REDIS_REST_URL);
  harness = await startHarness({
    noQueue: true,
    env: {
      PROVISIONING_QUEUE_URL: "http://127.0.0.1:9/000000000000/Unused",
      UPSTASH_REDIS_REST_URL: redisSwitch.url,
      REDIS_RETRIES: "0",
      // A loaded test machine must not read as a slow Redis; the breaker's trial comes quickly.
      SETTINGS_CACHE_TIMEOUT_MS: "3000",
      SETTINGS_BREAKER_RESET_MS: "200",
    },
  });
  raw = new Redis({ url: cloud.UPSTASH_REDIS_REST_URL, token: cloud.UPSTASH_REDIS_REST_TOKEN, automaticDeserialization: false, enableTelemetry: false });
  keys = new RedisKeys(harness.app.keyPrefix);
});

afterAll(async () => {
  await harness?.close();
  await redisSwitch?.close();
});

interface Entry {
  readonly settings: Record<string, unknown>;
  readonly version: number;
  readonly updatedAt: string | null;
  readonly synced: boolean;
}
interface ErrorBody {
  readonly error: { readonly code: string; readonly fields?: readonly { field: string; message: string }[] };
}

async function newUser(withOkxUid = true) {
  const id = randomUUID();
  const okxUid = withOkxUid ? `5187965580${randomInt(10_000_000, 100_000_000)}` : null;
  await harness.db.query(`INSERT INTO app_users (id, telegram_id, okx_uid) VALUES ($1, $2, $3)`, [id, 7_000_000_000 + randomInt(1, 999_999_999), okxUid]);
  return { id, okxUid, base: okxUid ?? id, token: await token("user", id) };
}

const path = (ref: string, type?: string, rest = "") => `/v1/users/${ref}/settings${type ? `/${type}` : ""}${rest}`;
const put = (ref: string, type: string, body: unknown, headers: Record<string, string> = {}, bearer = harness.service) =>
  call<Entry & ErrorBody>(harness, "PUT", path(ref, type), { token: bearer, body, headers });
const patch = (ref: string, type: string, body: unknown, headers: Record<string, string> = {}, bearer = harness.service) =>
  call<Entry & ErrorBody>(harness, "PATCH", path(ref, type), { token: bearer, body, headers: { "content-type": "application/merge-patch+json", ...headers } });
const get = <T = Entry>(ref: string, type?: string, bearer = harness.service) => call<T & ErrorBody>(harness, "GET", path(ref, type), { token: bearer });
/** A hash as field -> value (the raw client answers HGETALL as a flat list). */
async function hash(key: string): Promise<Record<string, string>> {
  const flat = ((await raw.hgetall(key)) ?? []) as unknown as string[];
  return Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]));
}
const fieldsOf = (answer: HttpAnswer<ErrorBody>) => (answer.body.error.fields ?? []).map((field) => field.field);

describe("PUT, GET, PATCH, DELETE", () => {
  it("creates (201) and replaces (200), answers ETags, and keeps the fast copy in the legacy keys", async () => {
    const user = await newUser();
    const created = await put(user.okxUid ?? "", "params", { leverage: 20, direction: "롱숏", custom_note: "5" });
    expect(created.status).toBe(201);
    expect(created.headers.get("etag")).toBe('"v1"');
    expect(created.body).toMatchObject({ settings: { leverage: 20, direction: "long_short", custom_note: "5" }, version: 1, synced: true });
    const replaced = await put(user.id, "params", { leverage: 25, direction: "short" }, { "if-match": '"v1"' });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get("etag")).toBe('"v2"');

    // The answer waited for the refresh: the legacy key holds the legacy representation.
    expect(JSON.parse((await raw.get<string>(keys.settingsFastCopy(user.base, "params"))) ?? "null")).toEqual({ leverage: 25, direction: "숏" });
    await put(user.id, "dual_side", { use_dual_side_entry: true, dual_side_entry_trigger: 2 });
    expect(await hash(keys.settingsFastCopy(user.base, "dual_side"))).toEqual({ use_dual_side_entry: "true", dual_side_entry_trigger: "2" });

    const one = await get(user.id, "params", user.token);
    expect(one.status).toBe(200);
    expect(one.headers.get("etag")).toBe('"v2"');
    expect(one.body).toMatchObject({ settings: { leverage: 25, direction: "short" }, version: 2, synced: true });
    const all = await get<Record<string, Entry | null>>("me", undefined, user.token);
    expect(all.status).toBe(200);
    expect(all.body.preferences).toBeNull();
    expect(all.body.params?.version).toBe(2);
    expect(all.body.dual_side?.settings).toEqual({ use_dual_side_entry: true, dual_side_entry_trigger: 2 });
    expect((await get(user.id, "preferences")).status).toBe(404);
  });

  it("merge-patches: members replace, null removes, both content types; validated after merging", async () => {
    const user = await newUser();
    await put(user.id, "params", { leverage: 10, rsi_oversold: 30, rsi_overbought: 70, extra: true });
    const patched = await patch(user.id, "params", { leverage: 12, extra: null });
    expect(patched.status).toBe(200);
    expect(patched.body.settings).toEqual({ leverage: 12, rsi_oversold: 30, rsi_overbought: 70 });
    const plain = await call<Entry>(harness, "PATCH", path(user.id, "params"), { token: harness.service, body: { rsi_length: 21 } });
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ version: 3, settings: { leverage: 12, rsi_length: 21 } });
    // Valid alone, invalid against the stored document: the merged document is what is checked.
    const crossed = await patch(user.id, "params", { rsi_oversold: 75 });
    expect(crossed.status).toBe(422);
    expect(fieldsOf(crossed)).toEqual(["body.rsi_overbought"]);
    expect((await patch(user.id, "preferences", { timeframe: "1m" })).status).toBe(404);
  });

  it("refuses bad input with 4xx naming the field: 422, 413, 415, 404, 400", async () => {
    const user = await newUser();
    const invalid = await put(user.id, "params", { leverage: 0, nested: { a: 1 }, tp1_value: 3, tp2_value: 2 });
    expect(invalid.status).toBe(422);
    expect(fieldsOf(invalid).sort()).toEqual(["body.leverage", "body.nested"]);
    const big = await put(user.id, "params", { blob: "x".repeat(70 * 1024) });
    expect(big.status).toBe(413);
    const text = await call(harness, "PUT", path(user.id, "params"), { token: harness.service, body: { a: 1 }, headers: { "content-type": "text/plain" } });
    expect(text.status).toBe(415);
    expect((await put(user.id, "positions", {})).status).toBe(404);
    expect((await get(user.id, "positions")).status).toBe(404);
    expect((await put(user.id, "params", {}, { "if-match": "banana" })).status).toBe(400);
    expect((await put("not-a-ref", "params", {})).status).toBe(400);
    expect((await put(randomUUID(), "params", {})).status).toBe(404);
  });

  it("a user token reaches only its own user", async () => {
    const user = await newUser();
    const other = await newUser();
    expect((await put("me", "preferences", { timeframe: "5m" }, {}, user.token)).status).toBe(201);
    expect((await put(other.id, "preferences", { timeframe: "5m" }, {}, user.token)).status).toBe(403);
    expect((await get(other.okxUid ?? "", undefined, user.token)).status).toBe(403);
    expect((await get(user.okxUid ?? "", "preferences", user.token)).status).toBe(200);
    expect((await get("me", "preferences", harness.service)).status).toBe(400);
  });

  it("If-Match races: two PATCHes with one ETag, exactly one 412", async () => {
    const user = await newUser();
    const first = await put(user.id, "params", { leverage: 1 });
    const etag = first.headers.get("etag") ?? "";
    const answers = await Promise.all([patch(user.id, "params", { leverage: 2 }, { "if-match": etag }), patch(user.id, "params", { leverage: 3 }, { "if-match": etag })]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 412]);
    const stale = await put(user.id, "params", { leverage: 4 }, { "if-match": etag });
    expect(stale.status).toBe(412);
    // Without If-Match, concurrent PATCHes of different keys both land (the merge is redone).
    const both = await Promise.all([patch(user.id, "params", { rsi_length: 10 }), patch(user.id, "params", { pyramiding_limit: 2 })]);
    expect(both.map((answer) => answer.status)).toEqual([200, 200]);
    expect((await get(user.id, "params")).body.settings).toMatchObject({ rsi_length: 10, pyramiding_limit: 2 });
  });

  it("soft-deletes (204, fast copy removed) and re-creates with the version going on", async () => {
    const user = await newUser(false);
    await put(user.id, "preferences", { timeframe: "4h" });
    expect(await hash(keys.settingsFastCopy(user.id, "preferences"))).toEqual({ timeframe: "4h" });
    const removed = await call(harness, "DELETE", path(user.id, "preferences"), { token: harness.service });
    expect(removed.status).toBe(204);
    expect(await raw.exists(keys.settingsFastCopy(user.id, "preferences"))).toBe(0);
    expect((await get(user.id, "preferences")).status).toBe(404);
    expect((await call(harness, "DELETE", path(user.id, "preferences"), { token: harness.service })).status).toBe(404);
    const { rows } = await harness.db.query(`SELECT deleted_at IS NOT NULL AS deleted, version FROM user_settings WHERE user_id = $1`, [user.id]);
    expect(rows).toEqual([{ deleted: true, version: 2 }]);
    const again = await put(user.id, "preferences", { timeframe: "1d" });
    expect(again.status).toBe(201);
    expect(again.body.version).toBe(3);
    expect((await get(user.id, "preferences")).body.settings).toEqual({ timeframe: "1d" });
  });
});

describe("history and restore", () => {
  it("lists versions newest first with paging, and restores one as a new version", async () => {
    const user = await newUser();
    for (const leverage of [1, 2, 3, 4]) await put(user.id, "params", { leverage });
    const history = await call<{ versions: { version: number; settings: Record<string, unknown>; source: string; actor: string }[] }>(
      harness,
      "GET",
      path(user.id, "params", "/history?limit=2"),
      { token: harness.service },
    );
    expect(history.status).toBe(200);
    expect(history.body.versions.map((entry) => entry.version)).toEqual([4, 3]);
    expect(history.body.versions[0]).toMatchObject({ source: "api", actor: "sales-tool" });
    const older = await call<{ versions: { version: number }[] }>(harness, "GET", path(user.id, "params", "/history?beforeVersion=3"), { token: harness.service });
    expect(older.body.versions.map((entry) => entry.version)).toEqual([2, 1]);
    expect((await call(harness, "GET", path(user.id, "params", "/history?limit=0"), { token: harness.service })).status).toBe(400);

    const restored = await call<Entry>(harness, "POST", path(user.id, "params", "/restore"), { token: harness.service, body: { version: 2 } });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ version: 5, settings: { leverage: 2 } });
    expect(restored.headers.get("etag")).toBe('"v5"');
    const latest = await call<{ versions: { version: number; source: string }[] }>(harness, "GET", path(user.id, "params", "/history?limit=1"), { token: harness.service });
    expect(latest.body.versions[0]).toMatchObject({ version: 5, source: "restore" });
    expect((await call(harness, "POST", path(user.id, "params", "/restore"), { token: harness.service, body: { version: 99 } })).status).toBe(404);
    expect((await call(harness, "POST", path(user.id, "params", "/restore"), { token: harness.service, body: { version: "x" } })).status).toBe(400);
  });
});

describe("two stores", () => {
  it("reads Redis first (one round trip), Postgres when the copy is missing, and refills it", async () => {
    const user = await newUser();
    await put(user.id, "params", { leverage: 7 });
    // Postgres changed behind the API's back: a Redis-first read still answers the copy.
    await harness.db.query(`UPDATE user_settings SET settings = '{"leverage": 8}' WHERE user_id = $1`, [user.id]);
    expect((await get(user.id, "params")).body.settings).toEqual({ leverage: 7 });
    // The copy gone: Postgres answers and the copy is written again.
    await raw.del(keys.settingsFastCopy(user.base, "params"), keys.settingsMeta(user.base));
    expect((await get(user.id, "params")).body).toMatchObject({ settings: { leverage: 8 }, synced: true });
    expect(JSON.parse((await raw.get<string>(keys.settingsFastCopy(user.base, "params"))) ?? "null")).toEqual({ leverage: 8 });
  });

  it("answers a copy a bot changed directly with synced: false when it is valid, Postgres when it is not", async () => {
    const user = await newUser();
    await put(user.id, "dual_side", { dual_side_entry_trigger: 3 });
    await raw.hset(keys.settingsFastCopy(user.base, "dual_side"), { dual_side_entry_trigger: "5" });
    expect((await get(user.id, "dual_side")).body).toMatchObject({ settings: { dual_side_entry_trigger: 5 }, version: 1, synced: false });
    await raw.hset(keys.settingsFastCopy(user.base, "dual_side"), { dual_side_entry_trigger: "0" });
    expect((await get(user.id, "dual_side")).body).toMatchObject({ settings: { dual_side_entry_trigger: 3 }, synced: true });
    // The bot's invalid value is left for the sync to report, not overwritten by the refill.
    expect(await raw.hget(keys.settingsFastCopy(user.base, "dual_side"), "dual_side_entry_trigger")).toBe("0");
  });

  it("a write during a Redis outage is committed, read back from Postgres, and the copy repaired afterwards", async () => {
    const user = await newUser();
    await put(user.id, "params", { leverage: 10 });
    redisSwitch.down = true;
    try {
      const during = await put(user.id, "params", { leverage: 11 });
      expect(during.status).toBe(200);
      expect(during.body.version).toBe(2);
      // The copy still says 10, but no stale read: the refresh is owed, so Postgres answers.
      for (let i = 0; i < 6; i++) expect((await get(user.id, "params")).body.settings).toEqual({ leverage: 11 });
      const { rows } = await harness.db.query(`SELECT last_error FROM outbox WHERE key = $1 AND last_error IS NOT NULL`, [`${user.id}:params`]);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.last_error).toBeTruthy();
    } finally {
      redisSwitch.down = false;
    }
    expect(JSON.parse((await raw.get<string>(keys.settingsFastCopy(user.base, "params"))) ?? "null")).toEqual({ leverage: 10 });
    // Redis is back: reads stay correct while the breaker recovers, and the copy is rewritten.
    const deadline = Date.now() + 15_000;
    let copy: unknown = null;
    while (Date.now() < deadline) {
      expect((await get(user.id, "params")).body.settings).toEqual({ leverage: 11 });
      copy = JSON.parse((await raw.get<string>(keys.settingsFastCopy(user.base, "params"))) ?? "null");
      if (JSON.stringify(copy) === JSON.stringify({ leverage: 11 })) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(copy).toEqual({ leverage: 11 });
  });

  it("the outbox drain delivers a refresh its writer could not, from the current row", async () => {
    const user = await newUser();
    await put(user.id, "preferences", { timeframe: "1m" });
    redisSwitch.down = true;
    try {
      expect((await put(user.id, "preferences", { timeframe: "15m" })).status).toBe(200);
    } finally {
      redisSwitch.down = false;
    }
    expect(await hash(keys.settingsFastCopy(user.base, "preferences"))).toEqual({ timeframe: "1m" });
    await harness.db.query(`UPDATE outbox SET next_attempt_at = now() - interval '1 second' WHERE key = $1`, [`${user.id}:preferences`]);
    const { handler } = await import("../../functions/outbox-drain");
    const report = await handler({}, { getRemainingTimeInMillis: () => 60_000 });
    expect(report.delivered).toBeGreaterThanOrEqual(1);
    expect(await hash(keys.settingsFastCopy(user.base, "preferences"))).toEqual({ timeframe: "15m" });
    const { rows } = await harness.db.query(`SELECT count(*)::int AS n FROM outbox WHERE key = $1 AND next_attempt_at <= now()`, [`${user.id}:preferences`]);
    expect(rows[0]).toEqual({ n: 0 });
  });

  it("a write stuck behind a held lock is a bounded 503 with Retry-After that changed nothing", { timeout: 30_000 }, async () => {
    const user = await newUser();
    await put(user.id, "params", { leverage: 3 });
    const blocker = new (await import("pg")).default.Client({ connectionString: harness.app.database.url });
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query(`SELECT pg_advisory_xact_lock(hashtextextended('user_settings:' || $1 || ':params', 0))`, [user.id]);
      const started = Date.now();
      const stuck = await put(user.id, "params", { leverage: 4 });
      expect(stuck.status).toBe(503);
      expect(stuck.headers.get("retry-after")).toBe("1");
      expect(stuck.body.error).toMatchObject({ code: "unavailable", outcome: "not_applied" });
      expect(Date.now() - started).toBeLessThan(9_000);
    } finally {
      await blocker.query("ROLLBACK");
      await blocker.end();
    }
    const after = await get(user.id, "params");
    expect(after.body).toMatchObject({ version: 1, settings: { leverage: 3 } });
  });

  it("an API write that replaces a bot's unsynced direct edit keeps the edit as a sync-conflict history row", async () => {
    const user = await newUser();
    await put(user.id, "dual_side", { dual_side_entry_trigger: 3 });
    await put(user.id, "dual_side", { dual_side_entry_trigger: 4 });
    const conflicts = async () =>
      (await harness.db.query(`SELECT version, settings, actor FROM user_settings_history WHERE user_id = $1 AND source = 'sync-conflict' ORDER BY changed_at`, [user.id])).rows;
    expect(await conflicts()).toEqual([]);
    await raw.hset(keys.settingsFastCopy(user.base, "dual_side"), { dual_side_entry_trigger: "9", bot_note: "x" });
    const replaced = await put(user.id, "dual_side", { dual_side_entry_trigger: 5 });
    expect(replaced.body.version).toBe(3);
    expect(await conflicts()).toEqual([{ version: 2, settings: { dual_side_entry_trigger: 9, bot_note: "x" }, actor: "fast-copy" }]);
    const history = await call<{ versions: { version: number; source: string }[] }>(harness, "GET", path(user.id, "dual_side", "/history"), { token: harness.service });
    expect(history.body.versions.map((entry) => entry.source)).toContain("sync-conflict");
  });
});
