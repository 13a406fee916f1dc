import { createUpstashRedis } from "../../core/redis/upstash";
import { PositionKeys, RedisKeys } from "../../core/redis/keys";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertUser } from "../credentials/support";
import { token } from "../lookups/support/http";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness } from "../provisioning/support/harness";

let harness: Harness;

beforeAll(async () => {
  // Short database budgets, so a stalled read gives up (and the cache serves stale) quickly.
  harness = await startHarness({ env: { DATABASE_STATEMENT_TIMEOUT_MS: "300", DATABASE_REQUEST_TIMEOUT_MS: "800" } });
});
afterAll(async () => harness?.close());

interface Summary {
  totalSyncs: number;
  openPositions: number;
  divergencesDetected: number;
  lastSyncAt: string | null;
  recentEvents: { kind: string; exchange: string; symbol: string | null; side: string | null; expected: unknown; actual: unknown; createdAt: string }[];
}

const events = (ref: string) => `/v1/users/${ref}/reconciliation-events`;
const summary = (ref: string) => `/v1/users/${ref}/reconciliation`;
const post = (ref: string, body: unknown) => call(harness, "POST", events(ref), { token: harness.service, body });
const read = (ref: string, bearer = harness.service) => call<Summary>(harness, "GET", summary(ref), { token: bearer });
const redis = () => createUpstashRedis({ url: harness.app.env.UPSTASH_REDIS_REST_URL ?? "", token: harness.app.env.UPSTASH_REDIS_REST_TOKEN ?? "", retries: 0 });

describe("POST /v1/users/{ref}/reconciliation-events and GET /v1/users/{ref}/reconciliation", () => {
  it("counts syncs, unresolved divergences and the last sync, with the last 5 events newest first", async () => {
    const user = await insertUser(harness.db);
    expect(await read(user.id)).toMatchObject({ status: 200, body: { totalSyncs: 0, openPositions: 0, divergencesDetected: 0, lastSyncAt: null, recentEvents: [] } });
    const created = await post(user.id, { kind: "sync", exchange: "okx" });
    expect(created).toMatchObject({ status: 201, body: { kind: "sync", exchange: "okx", symbol: null, side: null, expected: null, actual: null } });
    await post(user.id, { kind: "divergence", exchange: "okx", symbol: "BTC-USDT-SWAP", side: "long", expected: { size: 1 }, actual: { size: 0.5 } });
    await post(user.id, { kind: "divergence", exchange: "okx", symbol: "ETH-USDT-SWAP", side: "short", expected: { size: 2 }, actual: {} });
    await post(user.id, { kind: "divergence", exchange: "binance", symbol: "BTC-USDT", side: "long" });
    await post(user.id, { kind: "resolved", exchange: "okx", symbol: "BTC-USDT-SWAP", side: "long" });
    const lastSync = await post(user.id, { kind: "sync", exchange: "okx" });
    const answer = await read(user.okxUid ?? "");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ totalSyncs: 2, divergencesDetected: 2, lastSyncAt: (lastSync.body as { createdAt: string }).createdAt });
    expect(answer.body.recentEvents.map((event) => `${event.kind}:${event.exchange}:${event.symbol ?? ""}`)).toEqual([
      "sync:okx:",
      "resolved:okx:BTC-USDT-SWAP",
      "divergence:binance:BTC-USDT",
      "divergence:okx:ETH-USDT-SWAP",
      "divergence:okx:BTC-USDT-SWAP",
    ]);
    expect(answer.body.recentEvents[4]).toMatchObject({ side: "long", expected: { size: 1 }, actual: { size: 0.5 } });
    // A resolution without a symbol resolves every divergence of its exchange; binance stays open.
    await post(user.id, { kind: "resolved", exchange: "okx" });
    expect((await read(user.id)).body.divergencesDetected).toBe(1);
  });

  it("counts open positions from the positions index of every exchange", async () => {
    const user = await insertUser(harness.db);
    const keys = new PositionKeys(harness.app.keyPrefix);
    const client = redis();
    await client.sadd(keys.positionExchanges(user.id), "okx", "binance");
    await client.sadd(keys.positionIndex(user.id, "okx"), "BTC-USDT-SWAP:long", "ETH-USDT-SWAP:short");
    await client.sadd(keys.positionIndex(user.id, "binance"), "BTC-USDT:long");
    expect((await read(user.id)).body.openPositions).toBe(3);
  });

  it("caches the view for 5 s but never past the caller's own write (X-Cache)", async () => {
    const user = await insertUser(harness.db);
    await post(user.id, { kind: "sync", exchange: "okx" });
    const first = await read(user.id);
    expect(first.headers.get("x-cache")).toBe("miss");
    const second = await read(user.id);
    expect(second.headers.get("x-cache")).toBe("hit");
    expect(second.body).toEqual(first.body);
    await post(user.id, { kind: "divergence", exchange: "okx", symbol: "BTC-USDT-SWAP", side: "short" });
    const afterWrite = await read(user.id);
    expect(afterWrite.headers.get("x-cache")).toBe("miss");
    expect(afterWrite.body).toMatchObject({ totalSyncs: 1, divergencesDetected: 1 });
    expect(afterWrite.body.recentEvents).toHaveLength(2);
  });

  it("serves the last view marked stale while Postgres does not answer, and 503 once it is invalidated", async () => {
    const user = await insertUser(harness.db);
    await post(user.id, { kind: "sync", exchange: "okx" });
    const fresh = await read(user.id);
    expect(fresh.headers.get("x-cache")).toBe("miss");
    // As if the 5 s TTL had passed: the entry's freshness stamp goes to the past (the stale window stays).
    const client = redis();
    const entryKey = new RedisKeys(harness.app.keyPrefix).cacheEntry("reconciliation", user.id);
    const entry = await client.get<string>(entryKey);
    await client.set(entryKey, String(entry).replace(/^\d+\|/, `${Date.now() - 1_000}|`), { px: 30_000 });
    const stall = new pg.Client({ connectionString: harness.app.database.url });
    await stall.connect();
    try {
      await stall.query("BEGIN; LOCK TABLE reconciliation_logs IN ACCESS EXCLUSIVE MODE");
      const stale = await read(user.id);
      expect(stale.status).toBe(200);
      expect(stale.headers.get("x-cache")).toBe("stale");
      expect(stale.body).toEqual(fresh.body);
      // A change the cache heard about is never answered from the old view.
      await client.incr(new RedisKeys(harness.app.keyPrefix).cacheTag(`user/${user.id}`));
      const refused = await read(user.id);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).not.toBeNull();
    } finally {
      await stall.query("ROLLBACK");
      await stall.end();
    }
    expect((await read(user.id)).headers.get("x-cache")).toBe("miss");
  });

  it("lets users read their own summary only; events are for service and admin tokens", async () => {
    const user = await insertUser(harness.db);
    const other = await insertUser(harness.db);
    const mine = await token("user", user.id);
    expect((await read("me", mine)).status).toBe(200);
    expect((await read(user.id, mine)).status).toBe(200);
    expect((await read(other.id, mine)).status).toBe(403);
    expect((await read(other.okxUid ?? "", mine)).status).toBe(403);
    expect((await call(harness, "POST", events("me"), { token: mine, body: { kind: "sync", exchange: "okx" } })).status).toBe(403);
    expect((await call(harness, "POST", events(user.id), { token: harness.admin, body: { kind: "sync", exchange: "okx" } })).status).toBe(201);
    expect((await read("00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await call(harness, "GET", summary(user.id))).status).toBe(401);
  });

  it("names the bad field of a malformed event", async () => {
    const user = await insertUser(harness.db);
    const fields = async (body: unknown) => {
      const answer = await post(user.id, body);
      expect(answer.status).toBe(400);
      return ((answer.body as { error: { fields: { field: string }[] } }).error.fields ?? []).map((issue) => issue.field);
    };
    expect(await fields({ kind: "drift", exchange: "okx" })).toEqual(["body.kind"]);
    expect(await fields({ kind: "sync", exchange: "OKX" })).toEqual(["body.exchange"]);
    expect(await fields({ kind: "sync", exchange: "okx", symbol: "btc usdt" })).toEqual(["body.symbol"]);
    expect(await fields({ kind: "sync", exchange: "okx", side: "up" })).toEqual(["body.side"]);
    expect(await fields({ kind: "sync", exchange: "okx", expected: [1] })).toEqual(["body.expected"]);
    expect(await fields({ kind: "sync", exchange: "okx", actual: { blob: "x".repeat(9_000) } })).toEqual(["body.actual"]);
    expect(await fields({ kind: "sync", exchange: "okx", extra: 1 })).toEqual(["body"]);
    expect((await call(harness, "GET", summary("not-a-ref"), { token: harness.service })).status).toBe(400);
  });
});

describe("writes when Postgres stalls", () => {
  it("answer a bounded 503 that says nothing was stored, and the view stays right", async () => {
    const user = await insertUser(harness.db);
    await post(user.id, { kind: "sync", exchange: "okx" });
    const before = await read(user.id);
    const stall = new pg.Client({ connectionString: harness.app.database.url });
    await stall.connect();
    try {
      await stall.query("BEGIN; LOCK TABLE reconciliation_logs IN ACCESS EXCLUSIVE MODE");
      const started = Date.now();
      const refused = await post(user.id, { kind: "divergence", exchange: "okx" });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).not.toBeNull();
      expect((refused.body as { error: { outcome: string } }).error.outcome).toBe("not_applied");
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await stall.query("ROLLBACK");
      await stall.end();
    }
    const { rows } = await harness.db.query("SELECT count(*)::int AS n FROM reconciliation_logs WHERE user_id = $1", [user.id]);
    expect(rows[0]?.n).toBe(1);
    expect((await read(user.id)).body).toEqual(before.body);
  });
});

