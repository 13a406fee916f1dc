import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock } from "../../core/clock";
import { PositionsSyncSource } from "../../core/positions/adapters/positions-sync-source";
import type { UpstashPositionStore } from "../../core/positions/adapters/upstash-position-store";
import { runSync } from "../../core/sync/run-sync";
import type { SyncDeps, SyncRunOptions } from "../../core/sync/run-sync";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { okxUid, telegramId } from "../lookups/support/http";

let app: AppEnv;
let db: pg.Client;
let store: UpstashPositionStore;
let source: PositionsSyncSource;
let baseDeps: SyncDeps;
let now = new Date("2026-03-01T10:00:00.000Z");
const clock: Clock = { now: () => now };

const run = (options: Partial<SyncRunOptions> = {}) => runSync({ ...baseDeps, clock }, source, { owner: randomUUID(), pageSize: 2, full: true, ...options });

beforeAll(async () => {
  app = await useAppEnv();
  const positions = await import("../../runtime/positions");
  const sync = await import("../../runtime/sync");
  store = positions.positionStore();
  const identity = await import("../../runtime/identity");
  const postgres = await import("../../runtime/clients/postgres");
  // The runtime's source with this file's clock, so closed_at is checkable.
  source = new PositionsSyncSource({ store, keys: positions.positionKeys(), db: postgres.database(), clock, directory: identity.userDirectory() });
  baseDeps = sync.syncDeps();
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await app?.database.drop();
});

async function rows(userId: string): Promise<{ id: string; symbol: string; status: string; size: number; closed_at: Date | null; take_profit: number[] | null }[]> {
  const result = await db.query("SELECT id::text, symbol, status, size, closed_at, take_profit FROM positions WHERE user_id = $1 ORDER BY symbol", [userId]);
  return result.rows;
}

const open = (userId: string, symbol: string, size: number) =>
  store.set({ userId, exchange: "okx", symbol, side: "long" }, { size, entry_price: 100, take_profit: [110, 120], extra: { bot: "b1" } }, now, randomUUID());

describe("positions sync source", () => {
  it("upserts open positions, leaves unchanged ones, closes those that left the index with closed_at; a dry run is exact", async () => {
    const users = [randomUUID(), randomUUID(), randomUUID()];
    const [a, b, c] = users as [string, string, string];
    await open(a, "BTC", 1);
    await open(a, "ETH", 2);
    await open(b, "BTC", 3);
    await open(c, "SOL", 4);
    const dry = await run({ dryRun: true });
    expect(dry.counts).toMatchObject({ written: 3 });
    expect(await rows(a)).toEqual([]);
    const first = await run();
    expect(first.stop).toBe("done");
    expect(first.counts).toMatchObject({ written: 3, failed: 0 });
    expect((await rows(a)).map((r) => [r.symbol, r.status, r.size, r.take_profit])).toEqual([["BTC", "open", 1, [110, 120]], ["ETH", "open", 2, [110, 120]]]);
    expect((await run()).counts).toMatchObject({ written: 0, unchanged: 3 });

    now = new Date("2026-03-01T10:05:00.000Z");
    const eth = await store.get({ userId: a, exchange: "okx", symbol: "ETH", side: "long" });
    await store.remove({ userId: a, exchange: "okx", symbol: "ETH", side: "long" }, eth?.document.id ?? "");
    await open(b, "BTC", 5);
    const cSol = await store.get({ userId: c, exchange: "okx", symbol: "SOL", side: "long" });
    await store.remove({ userId: c, exchange: "okx", symbol: "SOL", side: "long" }, cSol?.document.id ?? "");
    expect((await run({ dryRun: true })).counts).toMatchObject({ written: 3 });
    expect((await run()).counts).toMatchObject({ written: 3, unchanged: 0 });
    expect((await rows(a)).map((r) => [r.symbol, r.status, r.closed_at?.toISOString() ?? null])).toEqual([
      ["BTC", "open", null],
      ["ETH", "closed", "2026-03-01T10:05:00.000Z"],
    ]);
    expect((await rows(b)).map((r) => [r.status, r.size])).toEqual([["open", 5]]);
    // The user whose last position closed (its index key is gone) is still visited and closed.
    expect((await rows(c)).map((r) => r.status)).toEqual(["closed"]);
    expect((await run()).counts).toMatchObject({ written: 0 });
  });

  it("runs in the scheduled sync cron after identifiers and settings, and as an ops command", async () => {
    const user = randomUUID();
    await open(user, "CRON", 1);
    const { handler } = await import("../../functions/sync-cron");
    const result = await handler({}, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 30_000 });
    expect(result.sources.map((source) => (source as { source: string }).source)).toEqual(["identifiers", "settings", "positions"]);
    expect(result.sources[2]).toEqual(expect.objectContaining({ source: "positions", stop: "done" }));
    expect((await rows(user)).map((r) => r.status)).toEqual(["open"]);
    const { usage } = await import("../../scripts/ops/cli");
    expect(usage()).toContain("sync-positions [--dry-run] [--okx-uid <uid>] [--full]");
  });

  it("--okx-uid syncs that user only", async () => {
    const okx = okxUid();
    const user = randomUUID();
    await db.query("INSERT INTO app_users (id, telegram_id, okx_uid) VALUES ($1, $2, $3)", [user, telegramId(), okx]);
    const other = randomUUID();
    await open(user, "DOGE", 1);
    await open(other, "DOGE", 1);
    const summary = await run({ filter: { okxUid: okx } });
    expect(summary.counts.written).toBe(1);
    expect((await rows(user)).map((r) => r.status)).toEqual(["open"]);
    expect(await rows(other)).toEqual([]);
  });
});
