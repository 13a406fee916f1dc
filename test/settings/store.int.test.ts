import { randomInt, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomIds } from "../../core/clock";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import type { Sql } from "../../core/db/neon";
import { NotFoundError, PreconditionFailedError } from "../../core/errors";
import { PostgresSettingsStore, defaultSettingsStatements } from "../../core/settings/adapters/postgres-settings-store";
import { SETTINGS_FAST_COPY_TOPIC } from "../../core/settings/model";
import { defaultSettingsFor } from "../../core/settings/schemas";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";

let app: AppEnv;
let sql: Sql;
let db: pg.Client;
let store: PostgresSettingsStore;

beforeAll(async () => {
  app = await useAppEnv();
  sql = createSql({ databaseUrl: app.database.url, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY });
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
  store = new PostgresSettingsStore(new Database(sql), randomIds);
});

afterAll(async () => {
  await db?.end();
  await app?.database.drop();
});

async function newUser(okxUid: string | null = `5187965580${randomInt(10_000_000, 100_000_000)}`) {
  const user = { id: randomUUID(), telegramId: String(7_000_000_000 + randomInt(1, 999_999_999)), okxUid, createdAt: new Date() };
  await db.query(`INSERT INTO app_users (id, telegram_id, okx_uid) VALUES ($1, $2, $3)`, [user.id, user.telegramId, okxUid]);
  return user;
}

const outboxRows = async (userId: string) =>
  (await db.query<{ key: string; payload: unknown }>(`SELECT key, payload FROM outbox WHERE topic = $1 AND key LIKE $2 ORDER BY key`, [SETTINGS_FAST_COPY_TOPIC, `${userId}:%`])).rows;

describe("defaultSettingsStatements (provisioning and registration)", () => {
  it("inserts every missing type with history and outbox rows, and leaves existing ones untouched", async () => {
    const user = await newUser();
    await store.write({ userId: user.id, type: "params", settings: { leverage: 50 }, expectedVersion: null, actor: "t", source: "api" });
    await db.query(`DELETE FROM outbox`);
    await sql.transaction((tx) => [...defaultSettingsStatements(tx, user)]);
    const all = await store.load(user.id);
    expect(all?.owner).toEqual({ userId: user.id, okxUid: user.okxUid });
    expect(Object.fromEntries((all?.states ?? []).map((entry) => [entry.type, entry.settings]))).toEqual({
      preferences: defaultSettingsFor("preferences"),
      params: { leverage: 50 },
      dual_side: defaultSettingsFor("dual_side"),
    });
    const { rows: history } = await db.query(`SELECT setting_type, version, source, actor FROM user_settings_history WHERE user_id = $1 ORDER BY setting_type, version`, [user.id]);
    expect(history).toEqual([
      { setting_type: "dual_side", version: 1, source: "registration", actor: "system" },
      { setting_type: "params", version: 1, source: "api", actor: "t" },
      { setting_type: "preferences", version: 1, source: "registration", actor: "system" },
    ]);
    expect(await outboxRows(user.id)).toEqual([
      { key: `${user.id}:dual_side`, payload: { userId: user.id, type: "dual_side" } },
      { key: `${user.id}:preferences`, payload: { userId: user.id, type: "preferences" } },
    ]);
    const { rows } = await db.query(`SELECT okx_uid, telegram_id::text FROM user_settings WHERE user_id = $1 AND setting_type = 'preferences'`, [user.id]);
    expect(rows[0]).toEqual({ okx_uid: user.okxUid, telegram_id: user.telegramId });
    // Run again (a replayed registration): nothing new.
    await sql.transaction((tx) => [...defaultSettingsStatements(tx, user)]);
    expect((await db.query(`SELECT count(*)::int AS n FROM user_settings_history WHERE user_id = $1`, [user.id])).rows[0]).toEqual({ n: 3 });
  });
});

describe("PostgresSettingsStore", () => {
  it("creates, replaces with a version bump, honours If-Match, deletes softly and revives with the numbering going on", async () => {
    const user = await newUser(null);
    expect(await store.load(user.id)).toEqual({ owner: { userId: user.id, okxUid: null }, states: [] });
    expect(await store.load(randomUUID())).toBeNull();
    const first = await store.write({ userId: user.id, type: "preferences", settings: { timeframe: "5m" }, expectedVersion: null, actor: "a", source: "api" });
    expect(first).toMatchObject({ created: true, stored: { version: 1, settings: { timeframe: "5m" } }, owner: { userId: user.id, okxUid: null } });
    const second = await store.write({ userId: user.id, type: "preferences", settings: { timeframe: "1h" }, expectedVersion: 1, actor: "a", source: "api" });
    expect(second).toMatchObject({ created: false, stored: { version: 2 } });
    await expect(store.write({ userId: user.id, type: "preferences", settings: {}, expectedVersion: 1, actor: "a", source: "api" })).rejects.toBeInstanceOf(PreconditionFailedError);
    const removed = await store.remove(user.id, "preferences", null);
    expect(removed.version).toBe(3);
    await expect(store.remove(user.id, "preferences", null)).rejects.toBeInstanceOf(NotFoundError);
    expect((await store.load(user.id))?.states).toEqual([expect.objectContaining({ type: "preferences", deleted: true, version: 3 })]);
    const revived = await store.write({ userId: user.id, type: "preferences", settings: { timeframe: "1d" }, expectedVersion: null, actor: "a", source: "api" });
    expect(revived).toMatchObject({ created: true, stored: { version: 4 } });
    const history = await store.history({ userId: user.id, type: "preferences", limit: 10, beforeVersion: null });
    expect(history.map((entry) => entry.version)).toEqual([4, 2, 1]);
    expect((await store.history({ userId: user.id, type: "preferences", limit: 1, beforeVersion: 4 })).map((entry) => entry.version)).toEqual([2]);
    expect((await store.historyVersion(user.id, "preferences", 2))?.settings).toEqual({ timeframe: "1h" });
  });

  it("refuses writes for unknown or deactivated users, with nothing stored", async () => {
    await expect(store.write({ userId: randomUUID(), type: "params", settings: {}, expectedVersion: null, actor: "a", source: "api" })).rejects.toBeInstanceOf(NotFoundError);
    const user = await newUser();
    await db.query(`UPDATE app_users SET is_active = false WHERE id = $1`, [user.id]);
    await expect(store.write({ userId: user.id, type: "params", settings: {}, expectedVersion: null, actor: "a", source: "api" })).rejects.toBeInstanceOf(NotFoundError);
    expect(await outboxRows(user.id)).toEqual([]);
  });

  it("serialises concurrent writers with one If-Match: exactly one wins", async () => {
    const user = await newUser();
    await store.write({ userId: user.id, type: "params", settings: { leverage: 1 }, expectedVersion: null, actor: "a", source: "api" });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => store.write({ userId: user.id, type: "params", settings: { leverage: i + 2 }, expectedVersion: 1, actor: "a", source: "api" })),
    );
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    for (const result of results) if (result.status === "rejected") expect(result.reason).toBeInstanceOf(PreconditionFailedError);
  });
});
