import { randomInt, randomUUID } from "node:crypto";
import type { Redis } from "@upstash/redis";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RedisKeys } from "../../core/redis/keys";
import { decodeMeta, encodeMeta, legacyContentHash } from "../../core/settings/fast-copy";
import type { SettingsDocument, SettingsType } from "../../core/settings/model";
import { defaultSettingsFor, toLegacyRepresentation } from "../../core/settings/schemas";
import type { SettingsSyncSource } from "../../core/sync/adapters/settings-source";
import { runSync } from "../../core/sync/run-sync";
import type { SyncDeps, SyncRunOptions } from "../../core/sync/run-sync";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { deleteKeys } from "../support/ops";

let app: AppEnv;
let db: pg.Client;
let redis: Redis;
let keys: RedisKeys;
let source: SettingsSyncSource;
let deps: SyncDeps;
let lookups: typeof import("../../runtime/lookups");

const telegramId = () => String(randomInt(1_000_000, 9_999_999_999));
const okxUid = () => `5187965580${randomInt(10_000_000, 100_000_000)}`;
const run = (options: Partial<SyncRunOptions> = {}, on: SettingsSyncSource = source) => runSync(deps, on, { owner: randomUUID(), pageSize: 100, ...options });

beforeAll(async () => {
  app = await useAppEnv();
  const clients = await import("../../runtime/clients/redis");
  const sync = await import("../../runtime/sync");
  lookups = await import("../../runtime/lookups");
  redis = clients.redisClient();
  keys = clients.redisKeys();
  source = sync.settingsSyncSource();
  deps = sync.syncDeps();
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await app?.database.drop();
});

beforeEach(async () => {
  await deleteKeys(redis, keys.everythingPattern(), 1000);
  await db.query("TRUNCATE sync_state, outbox, user_settings_history, user_settings, user_identifier_mappings, app_users CASCADE");
});

/** An active user known by an okx uid. */
async function user(): Promise<{ userId: string; okx: string }> {
  const [userId, okx] = [randomUUID(), okxUid()];
  await lookups.mappingImportDeps({ withCache: false }).repository.upsert({ userId, telegramId: telegramId(), okxUid: okx, isActive: true }, "admin");
  return { userId, okx };
}

/** What the API's write does in Postgres: a new version of the row and its history row. */
async function apiWrite(userId: string, type: SettingsType, settings: SettingsDocument): Promise<number> {
  const { rows } = await db.query(
    `WITH up AS (
       INSERT INTO user_settings (id, user_id, setting_type, settings, version) VALUES (gen_random_uuid(), $1, $2, $3, 1)
       ON CONFLICT (user_id, setting_type) DO UPDATE SET settings = EXCLUDED.settings, version = user_settings.version + 1, deleted_at = NULL, updated_at = now()
       RETURNING id, version, settings)
     , h AS (INSERT INTO user_settings_history (settings_id, user_id, setting_type, version, settings, actor, source) SELECT id, $1, $2, version, settings, 'test', 'api' FROM up)
     SELECT version FROM up`,
    [userId, type, JSON.stringify(settings)],
  );
  return Number(rows[0]?.version);
}

/** The fast copy as the settings capability writes it: the legacy key and its meta field. */
async function fastCopy(base: string, type: SettingsType, version: number, settings: SettingsDocument): Promise<void> {
  const legacy = toLegacyRepresentation(type, settings);
  const key = keys.settingsFastCopy(base, type);
  await redis.del(key);
  if (type === "params") await redis.set(key, JSON.stringify(legacy));
  else await redis.hset(key, Object.fromEntries(Object.entries(legacy).map(([k, v]) => [k, String(v)])));
  const meta = encodeMeta({ version, hash: legacyContentHash(legacy), updatedAt: new Date().toISOString(), settings });
  await redis.hset(keys.settingsMeta(base), { [type]: meta });
}

/** A bot's direct edit of the params JSON string. */
async function botEditsParams(base: string, change: Record<string, unknown>): Promise<void> {
  const current = (await redis.get<Record<string, unknown>>(keys.settingsFastCopy(base, "params"))) ?? {};
  await redis.set(keys.settingsFastCopy(base, "params"), JSON.stringify({ ...current, ...change }));
}

async function row(userId: string, type: SettingsType): Promise<{ version: number; settings: SettingsDocument } | undefined> {
  const { rows } = await db.query("SELECT version, settings FROM user_settings WHERE user_id = $1 AND setting_type = $2", [userId, type]);
  return rows[0];
}

async function history(userId: string, type: SettingsType): Promise<{ version: number; source: string; settings: SettingsDocument }[]> {
  const { rows } = await db.query("SELECT version, source, settings FROM user_settings_history WHERE user_id = $1 AND setting_type = $2 ORDER BY changed_at, version", [userId, type]);
  return rows;
}

describe("settings sync: the conflict rule", () => {
  it("Redis content equal to the last synced version: nothing happens", async () => {
    const { userId, okx } = await user();
    const version = await apiWrite(userId, "params", defaultSettingsFor("params"));
    await fastCopy(okx, "params", version, defaultSettingsFor("params"));
    const summary = await run();
    expect(summary.counts).toEqual({ scanned: 1, unchanged: 1, written: 0, conflicts: 0, invalid: 0, failed: 0 });
    expect((await row(userId, "params"))?.version).toBe(1);
  });

  it("only Redis changed: a new version (source sync), legacy values normalised; the next run finds it unchanged", async () => {
    const { userId, okx } = await user();
    await fastCopy(okx, "params", await apiWrite(userId, "params", defaultSettingsFor("params")), defaultSettingsFor("params"));
    await botEditsParams(okx, { leverage: 25, direction: "롱", bot_extra: "kept" });
    const summary = await run();
    expect(summary.counts).toMatchObject({ scanned: 1, written: 1, conflicts: 0, invalid: 0 });
    expect(await row(userId, "params")).toMatchObject({ version: 2, settings: { leverage: 25, direction: "long", bot_extra: "kept" } });
    expect((await history(userId, "params")).map((h) => [h.version, h.source])).toEqual([[1, "api"], [2, "sync"]]);
    const meta = decodeMeta(await redis.hget(keys.settingsMeta(okx), "params"));
    expect(meta).toMatchObject({ version: 2 });
    // The bot's own representation is left as it wrote it.
    expect(await redis.get(keys.settingsFastCopy(okx, "params"))).toMatchObject({ direction: "롱" });
    expect((await run()).counts).toMatchObject({ unchanged: 1, written: 0 });
  });

  it("both changed: Postgres wins, the Redis content is kept as a sync-conflict history row, the fast copy is repaired", async () => {
    const { userId, okx } = await user();
    await fastCopy(okx, "params", await apiWrite(userId, "params", defaultSettingsFor("params")), defaultSettingsFor("params"));
    await apiWrite(userId, "params", { ...defaultSettingsFor("params"), leverage: 50 });
    await botEditsParams(okx, { leverage: 7 });
    const summary = await run();
    expect(summary.counts).toMatchObject({ written: 0, conflicts: 1 });
    expect(summary.conflicts[0]?.reason).toMatch(/Postgres moved on to version 2; Postgres wins/);
    expect(await row(userId, "params")).toMatchObject({ version: 2, settings: { leverage: 50 } });
    const kept = (await history(userId, "params")).find((h) => h.source === "sync-conflict");
    expect(kept).toMatchObject({ version: 2, settings: { leverage: 7 } });
    // The repair is a fast-copy refresh committed in the outbox, due at once; the drain delivers it.
    expect((await db.query("SELECT key FROM outbox WHERE topic = 'settings.fast-copy'")).rows).toEqual([{ key: `${userId}:params` }]);
    const { drainOutbox } = await import("../../core/outbox/drain");
    const { outbox, outboxHandlers } = await import("../../runtime/outbox");
    await drainOutbox(outbox(), { handlers: await outboxHandlers(), limit: 10, batches: 1 });
    expect(decodeMeta(await redis.hget(keys.settingsMeta(okx), "params"))).toMatchObject({ version: 2, settings: { leverage: 50 } });
    expect(await redis.get(keys.settingsFastCopy(okx, "params"))).toMatchObject({ leverage: 50 });
    expect((await run()).counts).toMatchObject({ unchanged: 1, conflicts: 0 });
  });

  it("Redis saying what Postgres holds in other words: unchanged (dry run and real run alike), only the meta moves", async () => {
    const { userId, okx } = await user();
    await fastCopy(okx, "params", await apiWrite(userId, "params", defaultSettingsFor("params")), defaultSettingsFor("params"));
    await botEditsParams(okx, { direction: "long_short", use_break_even: "true" });
    const dry = await run({ dryRun: true });
    const real = await run();
    expect(dry.counts).toEqual(real.counts);
    expect(real.counts).toMatchObject({ scanned: 1, unchanged: 1, written: 0, conflicts: 0 });
    expect((await row(userId, "params"))?.version).toBe(1);
    expect((await run()).counts).toMatchObject({ unchanged: 1, written: 0 });
    expect(decodeMeta(await redis.hget(keys.settingsMeta(okx), "params"))).toMatchObject({ version: 1 });
  });

  it("a legacy key no service wrote (no meta) for a user without settings becomes version 1", async () => {
    const { userId, okx } = await user();
    await redis.hset(keys.settingsFastCopy(okx, "preferences"), { timeframe: "15m", symbol: "ETH-USDT-SWAP" });
    await redis.hset(keys.settingsFastCopy(okx, "dual_side"), { use_dual_side_entry: "true", dual_side_entry_trigger: "2" });
    expect((await run()).counts).toMatchObject({ scanned: 2, written: 2 });
    expect(await row(userId, "preferences")).toMatchObject({ version: 1, settings: { timeframe: "15m", symbol: "ETH-USDT-SWAP" } });
    expect(await row(userId, "dual_side")).toMatchObject({ version: 1, settings: { use_dual_side_entry: true, dual_side_entry_trigger: 2 } });
    expect((await run()).counts).toMatchObject({ unchanged: 2, written: 0 });
  });

  it("invalid values are reported with key, path and reason and never written; a key of nobody is reported too", async () => {
    const { userId, okx } = await user();
    await redis.set(keys.settingsFastCopy(okx, "params"), JSON.stringify({ leverage: 500, rsi_oversold: 80, rsi_overbought: 70 }));
    const nobody = okxUid();
    await redis.hset(keys.settingsFastCopy(nobody, "preferences"), { timeframe: "1m" });
    await redis.set(keys.settingsFastCopy(okx, "preferences"), "a string where a hash belongs");
    const summary = await run();
    expect(summary.counts).toMatchObject({ scanned: 3, invalid: 3, written: 0, failed: 0 });
    const params = keys.settingsFastCopy(okx, "params");
    expect(summary.problems).toEqual(
      expect.arrayContaining([
        { key: params, path: "leverage", reason: expect.stringMatching(/125/) },
        { key: params, path: "rsi_overbought", reason: expect.stringMatching(/greater than rsi_oversold/) },
        { key: keys.settingsFastCopy(nobody, "preferences"), path: "key", reason: `no active user goes by ${nobody}` },
        { key: keys.settingsFastCopy(okx, "preferences"), path: "key", reason: "cannot read: the key holds a string, not a hash" },
      ]),
    );
    expect(await row(userId, "params")).toBeUndefined();
  });
});

describe("settings sync: dry run and concurrent writers", () => {
  it("a dry run writes nothing and predicts the real run exactly", async () => {
    for (let i = 0; i < 6; i++) {
      const { userId, okx } = await user();
      await fastCopy(okx, "params", await apiWrite(userId, "params", defaultSettingsFor("params")), defaultSettingsFor("params"));
      if (i % 3 === 0) await botEditsParams(okx, { leverage: 11 + i });
      if (i % 3 === 1) {
        await apiWrite(userId, "params", { ...defaultSettingsFor("params"), leverage: 99 });
        await botEditsParams(okx, { leverage: 3 });
      }
    }
    await redis.set(keys.settingsFastCopy(okxUid(), "params"), JSON.stringify({ leverage: 0 }));
    const snapshot = async () => (await db.query("SELECT (SELECT count(*) FROM user_settings_history)::int AS h, (SELECT sum(version) FROM user_settings)::int AS v, (SELECT count(*) FROM outbox)::int AS o")).rows[0];
    const before = await snapshot();
    const dry = await run({ dryRun: true });
    expect(await snapshot()).toEqual(before);
    const real = await run();
    expect(dry.counts).toEqual(real.counts);
    expect(real.counts).toMatchObject({ scanned: 7, written: 2, conflicts: 2, unchanged: 2, invalid: 1 });
  });

  it("an API write between plan and apply wins: the sync's version becomes a conflict, nothing lost", async () => {
    const { userId, okx } = await user();
    await fastCopy(okx, "params", await apiWrite(userId, "params", defaultSettingsFor("params")), defaultSettingsFor("params"));
    await botEditsParams(okx, { leverage: 33 });
    const racing = Object.create(source) as SettingsSyncSource;
    racing.apply = async (work) => {
      await apiWrite(userId, "params", { ...defaultSettingsFor("params"), leverage: 44 });
      return source.apply(work);
    };
    const summary = await run({}, racing);
    expect(summary.counts).toMatchObject({ written: 0, conflicts: 1, failed: 0 });
    expect(await row(userId, "params")).toMatchObject({ version: 2, settings: { leverage: 44 } });
    expect((await history(userId, "params")).map((h) => [h.source, h.settings.leverage])).toEqual([
      ["api", 10],
      ["api", 44],
      ["sync-conflict", 33],
    ]);
  });
});
