import { randomInt, randomUUID } from "node:crypto";
import type { Redis } from "@upstash/redis";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../../core/clock";
import type { RedisKeys } from "../../core/redis/keys";
import type { IdentifiersSyncSource } from "../../core/sync/adapters/identifiers-source";
import type { KeyScanner } from "../../core/sync/ports";
import { runSync } from "../../core/sync/run-sync";
import type { SyncDeps, SyncRunOptions } from "../../core/sync/run-sync";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { deleteKeys } from "../support/ops";

let app: AppEnv;
let db: pg.Client;
let redis: Redis;
let keys: RedisKeys;
let source: IdentifiersSyncSource;
let baseDeps: SyncDeps;
let lookups: typeof import("../../runtime/lookups");

const telegramId = () => String(randomInt(1_000_000, 9_999_999_999));
const okxUid = () => `5187965580${randomInt(10_000_000, 100_000_000)}`;
const run = (options: Partial<SyncRunOptions> = {}, deps: Partial<SyncDeps> = {}) =>
  runSync({ ...baseDeps, ...deps }, source, { owner: randomUUID(), pageSize: 1000, ...options });

beforeAll(async () => {
  app = await useAppEnv();
  const clients = await import("../../runtime/clients/redis");
  const sync = await import("../../runtime/sync");
  lookups = await import("../../runtime/lookups");
  redis = clients.redisClient();
  keys = clients.redisKeys();
  source = sync.identifiersSyncSource();
  baseDeps = sync.syncDeps();
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await app?.database.drop();
});

/** Each test starts from an empty key space, no mappings and no saved cursor. */
beforeEach(async () => {
  await deleteKeys(redis, keys.everythingPattern(), 1000);
  await db.query("TRUNCATE sync_state, user_identifier_mappings, app_users CASCADE");
});

async function mappingOf(okx: string): Promise<{ telegram_id: string; is_active: boolean; user_id: string } | undefined> {
  const { rows } = await db.query("SELECT user_id::text, telegram_id::text, is_active FROM user_identifier_mappings WHERE okx_uid = $1", [okx]);
  return rows[0];
}

async function storeMapping(telegram: string, okx: string | null, isActive = true): Promise<string> {
  const userId = randomUUID();
  await lookups.mappingImportDeps({ withCache: false }).repository.upsert({ userId, telegramId: telegram, okxUid: okx, isActive }, "admin");
  return userId;
}

describe("identifiers sync: the rules", () => {
  it("persists a mapping an old bot wrote only to Redis, once; the next run finds it unchanged", async () => {
    const [okx, chat] = [okxUid(), telegramId()];
    await redis.hset(keys.legacyApiKeys(okx), { telegram_id: chat, api_key: "never-read" });
    await redis.hset(keys.legacyPreferences(okx), { telegram_id: chat, timeframe: "1m" });
    const first = await run();
    expect(first).toMatchObject({ stop: "done", passCompleted: true, counts: { scanned: 2, written: 1, unchanged: 1, conflicts: 0, invalid: 0, failed: 0 } });
    expect(await mappingOf(okx)).toMatchObject({ telegram_id: chat, is_active: true });
    const second = await run();
    expect(second.counts).toMatchObject({ scanned: 2, written: 0, unchanged: 2 });
  });

  it("never changes a mapping Postgres holds differently (Postgres wins), nor revives a deactivated user", async () => {
    const [okx, stored, stale] = [okxUid(), telegramId(), telegramId()];
    await storeMapping(stored, okx);
    await redis.hset(keys.legacyApiKeys(okx), { telegram_id: stale });
    const [gone, goneChat] = [okxUid(), telegramId()];
    await storeMapping(goneChat, null, false);
    await redis.hset(keys.legacyApiKeys(gone), { telegram_id: goneChat });
    const summary = await run();
    expect(summary.counts).toMatchObject({ written: 0, conflicts: 2 });
    expect(summary.conflicts.map((c) => c.reason).join("\n")).toMatch(/Postgres wins[\s\S]*never revives|never revives[\s\S]*Postgres wins/);
    expect(await mappingOf(okx)).toMatchObject({ telegram_id: stored });
    expect(await mappingOf(gone)).toBeUndefined();
  });

  it("gives an active user without an okx uid the one its legacy hash names", async () => {
    const [okx, chat] = [okxUid(), telegramId()];
    const userId = await storeMapping(chat, null);
    await redis.hset(keys.legacyPreferences(okx), { telegram_id: chat });
    expect((await run()).counts).toMatchObject({ written: 1, conflicts: 0 });
    expect(await mappingOf(okx)).toMatchObject({ user_id: userId, telegram_id: chat });
    const { rows } = await db.query("SELECT okx_uid FROM app_users WHERE id = $1", [userId]);
    expect(rows[0]?.okx_uid).toBe(okx);
  });

  it("reports invalid values with key, path and reason, writes none, and skips hashes without a telegram_id", async () => {
    const bad = okxUid();
    await redis.hset(keys.legacyApiKeys(bad), { telegram_id: "12ab" });
    await redis.hset(keys.legacyPreferences(okxUid()), { timeframe: "1m" });
    await redis.hset(keys.legacyPreferences(randomUUID()), { timeframe: "5m" });
    const summary = await run();
    expect(summary.counts).toMatchObject({ scanned: 3, invalid: 1, unchanged: 2, written: 0, failed: 0 });
    expect(summary.problems).toEqual([{ key: keys.legacyApiKeys(bad), path: "telegram_id", reason: expect.stringMatching(/integer/) }]);
    expect((await db.query("SELECT count(*)::int AS n FROM user_identifier_mappings")).rows[0]?.n).toBe(0);
  });

  it("keys that disagree about one okx uid are conflicts, none written", async () => {
    const okx = okxUid();
    await redis.hset(keys.legacyApiKeys(okx), { telegram_id: telegramId() });
    await redis.hset(keys.legacyPreferences(okx), { telegram_id: telegramId() });
    expect((await run()).counts).toMatchObject({ conflicts: 2, written: 0 });
    expect(await mappingOf(okx)).toBeUndefined();
  });

  it("--okx-uid syncs that user only and leaves the cursor alone", async () => {
    const [mine, other] = [okxUid(), okxUid()];
    await redis.hset(keys.legacyApiKeys(mine), { telegram_id: telegramId() });
    await redis.hset(keys.legacyApiKeys(other), { telegram_id: telegramId() });
    expect((await run({ filter: { okxUid: mine } })).counts).toMatchObject({ scanned: 1, written: 1 });
    expect(await mappingOf(other)).toBeUndefined();
    expect((await db.query("SELECT pass_started_at, completed_pass_at FROM sync_state")).rows).toEqual([{ pass_started_at: null, completed_pass_at: null }]);
  });
});

describe("identifiers sync: dry run, resume, lock, concurrent writers", () => {
  async function seed(count: number): Promise<string[]> {
    const okxs = Array.from({ length: count }, () => okxUid());
    for (const okx of okxs) await redis.hset(keys.legacyApiKeys(okx), { telegram_id: telegramId() });
    return okxs;
  }

  it("a dry run writes nothing and predicts the real run's counts exactly", async () => {
    await seed(20);
    const [held] = await seed(1);
    await storeMapping(telegramId(), held ?? "");
    await redis.hset(keys.legacyApiKeys(okxUid()), { telegram_id: "-0" });
    const before = await db.query("SELECT count(*)::int AS n FROM user_identifier_mappings");
    const dry = await run({ dryRun: true });
    expect((await db.query("SELECT count(*)::int AS n FROM user_identifier_mappings")).rows).toEqual(before.rows);
    expect((await db.query("SELECT count(*)::int AS n FROM sync_state")).rows[0]?.n).toBe(0);
    const real = await run();
    expect(dry.counts).toEqual(real.counts);
    expect(real.counts).toMatchObject({ scanned: 22, written: 20, conflicts: 1, invalid: 1 });
  });

  it("a run cut by its time budget saves the cursor; the next resumes there and writes each key once", async () => {
    const okxs = await seed(30);
    for (const okx of okxs.slice(0, 10)) await redis.hset(keys.legacyPreferences(okx), { timeframe: "1m" });
    let now = Date.parse("2026-01-01T00:00:00Z");
    const clock: Clock = { now: () => new Date(now) };
    // Every page costs a simulated second; the budget allows one page.
    const scanner: KeyScanner = { scan: async (...args) => ((now += 1_000), baseDeps.scanner.scan(...args)) };
    const cut = await run({ deadline: new Date(now + 1_500), reserveMs: 0, pageSize: 200 }, { clock, scanner });
    expect(cut.stop).toBe("budget");
    expect(cut.passCompleted).toBe(false);
    const saved = (await db.query("SELECT pattern_index, scan_cursor, pass_started_at FROM sync_state")).rows[0];
    expect(saved?.pass_started_at).not.toBeNull();
    let written = cut.counts.written;
    let scanned = cut.counts.scanned;
    for (let runs = 0; runs < 2_000; runs++) {
      const next = await run({ deadline: new Date(now + 1_500), reserveMs: 0, pageSize: 200 }, { clock, scanner });
      written += next.counts.written;
      scanned += next.counts.scanned;
      if (next.passCompleted) {
        expect(next.lagSeconds).toBeGreaterThan(0);
        break;
      }
    }
    expect(written).toBe(30);
    expect(scanned).toBeGreaterThanOrEqual(40);
    expect((await db.query("SELECT count(*)::int AS n FROM user_identifier_mappings")).rows[0]?.n).toBe(30);
    expect((await db.query("SELECT pattern_index, scan_cursor, completed_pass_at IS NOT NULL AS done FROM sync_state")).rows).toEqual([{ pattern_index: 0, scan_cursor: "0", done: true }]);
  });

  it("two runs at once: one runs, the other finds the lock taken; an expired lock is taken over", async () => {
    await seed(5);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const slowScanner: KeyScanner = { scan: async (...args) => (entered(), await held, baseDeps.scanner.scan(...args)) };
    const first = run({}, { scanner: slowScanner });
    await inside;
    const second = await run();
    expect(second.stop).toBe("locked");
    expect(second.counts.scanned).toBe(0);
    release();
    expect((await first).counts.written).toBe(5);
    // A run that died keeps its lock only until the lease runs out.
    await baseDeps.state.acquire("identifiers", "dead-run", 1);
    await db.query("SELECT pg_sleep(0.01)");
    expect((await run()).stop).toBe("done");
  });

  it("a concurrent admin write between plan and apply wins; the sync counts a conflict, never fails", async () => {
    const [okx, chat] = [okxUid(), telegramId()];
    await redis.hset(keys.legacyApiKeys(okx), { telegram_id: chat });
    const racing = Object.create(source) as IdentifiersSyncSource;
    racing.apply = async (work) => {
      await storeMapping(chat, null);
      return source.apply(work);
    };
    const summary = await runSync(baseDeps, racing, { owner: randomUUID() });
    expect(summary.counts).toMatchObject({ written: 0, conflicts: 1, failed: 0 });
    expect(summary.stop).toBe("done");
    expect(await mappingOf(okx)).toBeUndefined();
  });
});
