import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { PassThrough } from "node:stream";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../../core/clock";
import { randomIds } from "../../core/clock";
import { UpstashLegacyKeys } from "../../core/positions/adapters/upstash-legacy-keys";
import { decodePosition, hashOf } from "../../core/positions/encoding";
import { migrateKeys, totalOf } from "../../core/positions/migrate-keys";
import type { MigrateKeysDeps, MigrateKeysOptions } from "../../core/positions/migrate-keys";
import { PositionKeys } from "../../core/redis/keys";
import { runOps } from "../../scripts/ops/cli";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";

let app: AppEnv;
let redis: Redis;
let keys: PositionKeys;
let deps: MigrateKeysDeps;
const clock: Clock = { now: () => new Date("2026-04-01T00:00:00.000Z") };
const run = (options: Partial<MigrateKeysOptions> = {}) => migrateKeys(deps, { apply: false, pageSize: 50, ...options });

beforeAll(async () => {
  app = await useAppEnv();
  redis = new Redis({ url: app.env.UPSTASH_REDIS_REST_URL ?? "", token: app.env.UPSTASH_REDIS_REST_TOKEN ?? "", automaticDeserialization: false, enableTelemetry: false });
  keys = new PositionKeys(app.keyPrefix);
  deps = { store: new UpstashLegacyKeys(redis, keys, randomIds), keys, clock };
});

async function wipe(): Promise<void> {
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, { match: `${app.keyPrefix}*`, count: 1000 });
    if (found.length > 0) await redis.del(...found.map(String));
    cursor = String(next);
  } while (cursor !== "0");
}
beforeEach(wipe);
afterAll(async () => {
  if (redis && app) await wipe();
  await app?.database.drop();
});

async function position(user: string, exchange: string, symbol: string, side: "long" | "short") {
  return decodePosition(hashOf(await redis.hgetall(keys.position(user, exchange, symbol, side))));
}

/** One key of every legacy form, each with a value the standard can take. */
async function seedEveryForm(user: string): Promise<void> {
  await redis.set(keys.legacyPositionBySymbol(user, "btc-usdt-swap"), JSON.stringify({ side: "LONG", size: "2", entry_price: "65000", leverage: 10, bot: "v1" }));
  await redis.set(keys.legacyUserPosition(user, "ETH-USDT-SWAP", "short"), JSON.stringify({ size: 1, entry_price: 3000, take_profit: "2900,2800" }));
  await redis.set(keys.legacyExchangePosition(user, "binance", "SOL_USDT", "long"), JSON.stringify({ size: 5, entry_price: 150 }));
  await redis.hset(keys.legacyExchangePosition(user, "okx", "XRP-USDT", "short"), { size: "100", entry_price: "0.5", margin_mode: "isolated" });
  await redis.set(
    keys.legacyGridPositions("okx", user),
    JSON.stringify([
      { symbol: "DOGE-USDT", side: "long", size: 10, entry_price: 0.1, grid_level: 3 },
      { symbol: "ADA-USDT", side: "short", size: 20, entry_price: 0.3 },
    ]),
  );
  await redis.hset(keys.legacyOrders("okx", user, "BTC-USDT-SWAP"), { "order-1": "placed" });
  await redis.sadd(keys.legacyOrders("okx", user, "BTC-USDT-SWAP", "order_placed_index"), "order-1");
}

function memoryIo(env: Record<string, string | undefined>) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  stderr.on("data", () => undefined);
  return { io: { stdout, stderr, env, cwd: resolve(".") }, out: () => out };
}

describe("migrate-keys", () => {
  it("dry run counts exactly, --apply moves every form, a second run moves 0, verify passes", async () => {
    const user = randomUUID();
    await seedEveryForm(user);
    const dry = await run();
    expect(dry.counts).toMatchObject({
      position_symbol: { found: 1, moved: 1, positions: 1 },
      user_position: { found: 1, moved: 1, positions: 1 },
      position_exchange: { found: 2, moved: 2, positions: 2 },
      grid_array: { found: 1, moved: 1, positions: 2 },
      order_placed: { found: 2, moved: 2, positions: 0 },
    });
    expect(await redis.exists(keys.legacyGridPositions("okx", user))).toBe(1);
    const applied = await run({ apply: true });
    expect(applied.counts).toEqual(dry.counts);
    expect(await position(user, "okx", "BTC-USDT-SWAP", "long")).toMatchObject({ size: 2, entry_price: 65000, leverage: 10, extra: { bot: "v1" }, opened_at: "2026-04-01T00:00:00.000Z" });
    expect(await position(user, "okx", "ETH-USDT-SWAP", "short")).toMatchObject({ take_profit: [2900, 2800] });
    expect(await position(user, "binance", "SOL_USDT", "long")).toMatchObject({ size: 5 });
    expect(await position(user, "okx", "XRP-USDT", "short")).toMatchObject({ margin_mode: "isolated", size: 100 });
    expect(await position(user, "okx", "DOGE-USDT", "long")).toMatchObject({ extra: { grid_level: 3 } });
    expect((await redis.smembers(keys.positionIndex(user, "okx"))).sort()).toEqual(["ADA-USDT:short", "BTC-USDT-SWAP:long", "DOGE-USDT:long", "ETH-USDT-SWAP:short", "XRP-USDT:short"]);
    expect((await redis.smembers(keys.positionExchanges(user))).sort()).toEqual(["binance", "okx"]);
    expect(await redis.hgetall(keys.orders("okx", user, "BTC-USDT-SWAP", "order_placed"))).toEqual(["order-1", "placed"]);
    expect(await redis.smembers(keys.orders("okx", user, "BTC-USDT-SWAP", "order_placed_index"))).toEqual(["order-1"]);
    const doge = await position(user, "okx", "DOGE-USDT", "long");
    expect(JSON.parse(String(await redis.get(keys.positionById(doge?.id ?? ""))))).toEqual({ userId: user, exchange: "okx", symbol: "DOGE-USDT", side: "long" });
    const again = await run({ apply: true });
    expect(totalOf(again.counts, "found")).toBe(0);
    expect(totalOf(again.counts, "moved")).toBe(0);
    const cli = memoryIo(app.env);
    expect(await runOps(["migrate-keys", "--verify", "--dotenv", "/nonexistent/.env"], cli.io)).toBe(0);
    expect(cli.out()).toContain("Verify: no legacy key remains.");
  });

  it("reports and leaves what cannot move: no side, a non-UUID user, bad elements of a GRID array, an existing standard key", async () => {
    const user = randomUUID();
    await redis.set(keys.legacyPositionBySymbol(user, "BTC"), JSON.stringify({ size: 1, entry_price: 1 }));
    await redis.set(keys.legacyUserPosition("42", "BTC", "long"), JSON.stringify({ size: 1, entry_price: 1 }));
    await redis.set(keys.legacyGridPositions("okx", user), JSON.stringify([{ symbol: "A", side: "long", size: 1, entry_price: 1 }, { symbol: "B", size: 1, entry_price: 1 }]));
    await redis.set(keys.legacyExchangePosition(user, "okx", "C", "long"), JSON.stringify({ size: 1, entry_price: 1 }));
    await redis.hset(keys.position(user, "okx", "C", "long"), { size: "9", entry_price: "9", id: randomUUID() });
    const dry = await run();
    const applied = await run({ apply: true });
    for (const summary of [dry, applied]) {
      expect(summary.counts.position_symbol).toMatchObject({ found: 1, moved: 0, invalid: 1 });
      expect(summary.counts.user_position).toMatchObject({ found: 1, invalid: 1 });
      expect(summary.counts.grid_array).toMatchObject({ found: 1, moved: 1, positions: 1 });
      expect(summary.counts.position_exchange).toMatchObject({ found: 1, conflicts: 1 });
    }
    const reasons = applied.problems.map((p) => `${p.key.slice(app.keyPrefix.length)} ${p.reason}`).join("\n");
    expect(reasons).toMatch(/position:.*:BTC the side cannot be determined/);
    expect(reasons).toMatch(/user:42:position:BTC:long user "42" is not an app user id/);
    expect(reasons).toMatch(/okx:positions:.* left in the array: element 1: the side cannot be determined/);
    expect(reasons).toMatch(/already exists/);
    expect(JSON.parse(String(await redis.get(keys.legacyGridPositions("okx", user))))).toEqual([{ symbol: "B", size: 1, entry_price: 1 }]);
    expect((await position(user, "okx", "C", "long"))?.size).toBe(9);
    const cli = memoryIo(app.env);
    expect(await runOps(["migrate-keys", "--verify", "--dotenv", "/nonexistent/.env"], cli.io)).toBe(1);
    expect(cli.out()).toContain("Verify: 4 legacy key(s) remain.");
    // --overwrite: the legacy value replaces the standard one, keeping its id.
    const id = (await position(user, "okx", "C", "long"))?.id;
    expect((await run({ apply: true, overwrite: true })).counts.position_exchange).toMatchObject({ moved: 1 });
    expect(await position(user, "okx", "C", "long")).toMatchObject({ size: 1, id });
  });

  it("resumes from the saved cursor after a cut, and the totals match an uncut run", async () => {
    const users = Array.from({ length: 60 }, () => randomUUID());
    for (const user of users) await redis.set(keys.legacyUserPosition(user, "BTC", "long"), JSON.stringify({ size: 1, entry_price: 1 }));
    const dry = await run({ pageSize: 1000 });
    // Cut right after the first page that moved something (small pages: the key space is shared).
    const cutter = new AbortController();
    const cut = await run({ apply: true, pageSize: 10, signal: cutter.signal, onProgress: ({ counts }) => counts.user_position.moved > 0 && cutter.abort() });
    expect(cut.stop).toBe("aborted");
    expect(cut.counts.user_position.moved).toBeGreaterThan(0);
    expect(cut.counts.user_position.moved).toBeLessThan(60);
    // The saved cursor goes on whatever the page size.
    const rest = await run({ apply: true, pageSize: 1000 });
    expect(rest.resumedFrom).not.toBeNull();
    expect(rest.stop).toBe("done");
    expect(rest.counts.user_position).toEqual({ ...dry.counts.user_position });
    expect(rest.counts.user_position.moved).toBe(60);
    for (const user of users) expect((await position(user, "okx", "BTC", "long"))?.size).toBe(1);
    expect(await redis.exists(keys.migrateKeysState())).toBe(0);
  });

  it("moves only the value it read: a write between the read and the move makes the move refuse (read again)", async () => {
    const user = randomUUID();
    const legacyKey = keys.legacyUserPosition(user, "BTC", "long");
    await redis.set(legacyKey, JSON.stringify({ size: 1, entry_price: 1 }));
    const legacy = keys.legacyKeyOf(legacyKey);
    if (!legacy) throw new Error("not a legacy key");
    const { planLegacyKey } = await import("../../core/positions/legacy-plan");
    const [read] = await deps.store.read([legacyKey]);
    if (!read) throw new Error("nothing read");
    await redis.set(legacyKey, JSON.stringify({ size: 2, entry_price: 1 }));
    const entry = { key: legacyKey, legacy, plan: planLegacyKey(legacy, read.value), fingerprint: read.fingerprint };
    expect(await deps.store.apply([entry], clock.now(), false)).toEqual(["changed"]);
    expect(await redis.exists(keys.position(user, "okx", "BTC", "long"))).toBe(0);
    expect(JSON.parse(String(await redis.get(legacyKey))).size).toBe(2);
    // The migration reads again and moves the new value.
    expect((await run({ apply: true })).counts.user_position.moved).toBe(1);
    expect((await position(user, "okx", "BTC", "long"))?.size).toBe(2);
  });

  it("never loses a write of a bot still writing the legacy key during the move", async () => {
    const user = randomUUID();
    const legacy = keys.legacyExchangePosition(user, "okx", "BTC", "long");
    await redis.set(legacy, JSON.stringify({ size: 1, entry_price: 100 }));
    // Extra keys so the move is one of many in the pipeline.
    for (let i = 0; i < 200; i++) await redis.set(keys.legacyUserPosition(randomUUID(), "ETH", "short"), JSON.stringify({ size: 1, entry_price: 1 }));
    let last = 1;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const size = last + 1;
        await redis.set(legacy, JSON.stringify({ size, entry_price: 100 }));
        last = size;
      }
    })();
    // Let the writer get going, then migrate while it writes.
    while (last < 5) await new Promise((r) => setImmediate(r));
    const summary = await run({ apply: true, pageSize: 20 });
    writing = false;
    await writer;
    expect(summary.counts.position_exchange.failed + summary.counts.position_exchange.moved).toBe(1);
    const moved = await position(user, "okx", "BTC", "long");
    const left = await redis.get(legacy);
    // Either the last acknowledged write is still in the legacy key (it came after the move), or the move carried it.
    if (left === null) expect(moved?.size).toBe(last);
    else expect(JSON.parse(String(left)).size).toBe(last);
    // A later --overwrite run carries what the bot wrote after the move.
    await run({ apply: true, overwrite: true });
    expect((await position(user, "okx", "BTC", "long"))?.size).toBe(last);
    expect(await redis.exists(legacy)).toBe(0);
  });
});
