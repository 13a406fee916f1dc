import { randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PositionKeys } from "../../core/redis/keys";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness } from "../provisioning/support/harness";
import { fieldsOf, okxUid, telegramId, token } from "../lookups/support/http";

let harness: Harness;
let keys: PositionKeys;
let raw: Redis;

interface PositionBody {
  readonly id: string;
  readonly user_id: string;
  readonly exchange: string;
  readonly symbol: string;
  readonly side: string;
  readonly status: string;
  readonly size: number;
  readonly entry_price: number;
  readonly opened_at: string;
  readonly updated_at: string;
  readonly closed_at: string | null;
  readonly [extra: string]: unknown;
}
interface ListBody {
  readonly positions: PositionBody[];
  readonly nextCursor: string | null;
}

async function newUser(okx: string | null = null): Promise<string> {
  const id = randomUUID();
  await harness.db.query("INSERT INTO app_users (id, telegram_id, okx_uid) VALUES ($1, $2, $3)", [id, telegramId(), okx]);
  return id;
}

const put = (ref: string, path: string, body: unknown, bearer = harness.service) => call<PositionBody>(harness, "PUT", `/v1/users/${ref}/positions/${path}`, { token: bearer, body });
const list = (ref: string, query = "", bearer = harness.service) => call<ListBody>(harness, "GET", `/v1/users/${ref}/positions${query}`, { token: bearer });

beforeAll(async () => {
  harness = await startHarness({ noQueue: true, env: { PROVISIONING_QUEUE_URL: "http://127.0.0.1:9/000000000000/Unused" } });
  keys = new PositionKeys(harness.app.keyPrefix);
  raw = new Redis({ url: harness.app.env.UPSTASH_REDIS_REST_URL ?? "", token: harness.app.env.UPSTASH_REDIS_REST_TOKEN ?? "", automaticDeserialization: false, enableTelemetry: false });
});
afterAll(async () => harness?.close());

describe("PUT /v1/users/{ref}/positions/{exchange}/{symbol}/{side}", () => {
  it("opens (201) with a server id, then updates (200) keeping id and opened_at, replacing the fields", async () => {
    const user = await newUser();
    const opened = await put(user, "okx/BTC-USDT-SWAP/long", { size: 2, entry_price: 65000.5, leverage: 10, margin_mode: "cross", take_profit: [70000, 72000], bot: "grid-7", note: "12" });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ user_id: user, exchange: "okx", symbol: "BTC-USDT-SWAP", side: "long", status: "open", size: 2, entry_price: 65000.5, take_profit: [70000, 72000], bot: "grid-7", note: "12", closed_at: null });
    const updated = await put(user, "okx/BTC-USDT-SWAP/long", { size: 3, entry_price: 65100, stop_loss: 60000 });
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(opened.body.id);
    expect(updated.body.opened_at).toBe(opened.body.opened_at);
    const [read] = (await list(user)).body.positions;
    expect(read).toEqual({ ...updated.body });
    expect(read?.leverage).toBeUndefined();
    expect(read?.take_profit).toBeUndefined();
  });

  it("stores plain strings in the hash that bots read, and reads a hash a bot wrote itself", async () => {
    const user = await newUser();
    await put(user, "okx/ETH-USDT-SWAP/short", { size: 1.5, entry_price: 3000, take_profit: [2800], flag: true, label: "12" });
    const hash = (await raw.hgetall(keys.position(user, "okx", "ETH-USDT-SWAP", "short"))) as unknown as string[];
    const fields = Object.fromEntries(Array.from({ length: hash.length / 2 }, (_, i) => [hash[2 * i], hash[2 * i + 1]]));
    expect(fields).toMatchObject({ size: "1.5", entry_price: "3000", take_profit: "[2800]", flag: "true", label: '"12"' });
    expect(await raw.sismember(keys.positionIndex(user, "okx"), "ETH-USDT-SWAP:short")).toBe(1);
    // A bot that writes the standard keys itself (no id yet): listed, and its first PUT keeps the fields it sends.
    await raw.hset(keys.position(user, "binance", "SOL_USDT", "long"), { size: "4", entry_price: "150.25", margin_mode: "isolated" });
    await raw.sadd(keys.positionIndex(user, "binance"), "SOL_USDT:long");
    await raw.sadd(keys.positionExchanges(user), "binance");
    const all = (await list(user)).body.positions;
    expect(all.map((p) => `${p.exchange}/${p.symbol}/${p.side}`)).toEqual(["binance/SOL_USDT/long", "okx/ETH-USDT-SWAP/short"]);
    expect(all[0]).toMatchObject({ size: 4, entry_price: 150.25, margin_mode: "isolated" });
    expect(all[1]).toMatchObject({ flag: true, label: "12" });
  });

  it("refuses bad fields with 422 naming each, bad path segments with 400, before anything is written", async () => {
    const user = await newUser();
    const bad = await put(user, "okx/BTC-USDT/long", { size: -1, leverage: "10", margin_mode: "hedge", take_profit: [1, "x"], id: "mine", "Bad-Name": 1, nested: { a: 1 } });
    expect(bad.status).toBe(422);
    expect(fieldsOf(bad.body).sort()).toEqual(
      ["body.Bad-Name", "body.entry_price", "body.id", "body.leverage", "body.margin_mode", "body.nested", "body.size", "body.take_profit.1"].sort(),
    );
    for (const path of ["OKX/BTC/long", "okx/btc-usdt/long", "okx/BTC/both", "okx/BTC*/long", "ok%3Ax/BTC/long", "okx/BTC%20X/long"]) {
      const answer = await put(user, path, { size: 1, entry_price: 1 });
      expect(answer.status, path).toBe(400);
    }
    expect(fieldsOf((await put(user, "okx/BTC%3AUSDT/long", { size: 1, entry_price: 1 })).body)).toEqual(["path.symbol"]);
    expect(fieldsOf((await put("not-a-ref", "okx/BTC/long", { size: 1, entry_price: 1 })).body)).toEqual(["path.ref"]);
    expect((await list(user)).body.positions).toEqual([]);
  });

  it("is for services and admins; unknown users are 404; OKX UIDs name users", async () => {
    const okx = okxUid();
    const user = await newUser(okx);
    expect((await put(user, "okx/BTC/long", { size: 1, entry_price: 1 }, await token("user", user))).status).toBe(403);
    expect((await put(randomUUID(), "okx/BTC/long", { size: 1, entry_price: 1 })).status).toBe(404);
    const viaOkx = await put(okx, "okx/BTC/long", { size: 1, entry_price: 1 });
    expect(viaOkx.status).toBe(201);
    expect(viaOkx.body.user_id).toBe(user);
    expect((await put(user, "okx/BTC/long", { size: 1, entry_price: 1 }, harness.admin)).status).toBe(200);
  });
});

describe("GET /v1/users/{ref}/positions", () => {
  it("lists open positions of every exchange or one, filters, pages with a cursor; a user reads its own, not another's", async () => {
    const user = await newUser();
    const other = await newUser();
    for (const [exchange, symbol, side] of [["okx", "BTC", "long"], ["okx", "BTC", "short"], ["okx", "ETH", "long"], ["binance", "BTC", "long"], ["bybit", "XRP", "short"]] as const) {
      expect((await put(user, `${exchange}/${symbol}/${side}`, { size: 1, entry_price: 2 })).status).toBe(201);
    }
    const mine = await token("user", user);
    const all = await list("me", "", mine);
    expect(all.status).toBe(200);
    expect(all.body.positions.map((p) => `${p.exchange}/${p.symbol}/${p.side}`)).toEqual(["binance/BTC/long", "bybit/XRP/short", "okx/BTC/long", "okx/BTC/short", "okx/ETH/long"]);
    expect((await list(user, "?exchange=okx&symbol=BTC")).body.positions.map((p) => p.side)).toEqual(["long", "short"]);
    expect((await list(user, "?side=short")).body.positions.map((p) => p.symbol)).toEqual(["XRP", "BTC"]);
    const first = await list(user, "?limit=2");
    expect(first.body.positions).toHaveLength(2);
    const second = await list(user, `?limit=2&cursor=${first.body.nextCursor}`);
    const third = await list(user, `?limit=2&cursor=${second.body.nextCursor}`);
    expect([...first.body.positions, ...second.body.positions, ...third.body.positions].map((p) => p.id)).toEqual(all.body.positions.map((p) => p.id));
    expect(third.body.nextCursor).toBeNull();
    expect((await list(other, "", mine)).status).toBe(403);
    expect((await list(user, "", mine)).status).toBe(200);
    expect(fieldsOf((await list(user, "?status=gone&limit=0&exchange=OKX")).body).sort()).toEqual(["query.exchange", "query.limit", "query.status"]);
  });
});

describe("DELETE, closed positions and GET /v1/positions/{id}", () => {
  it("closes into Postgres, removes from Redis, pages closed ones newest first; GET by id answers open and closed", async () => {
    const user = await newUser();
    const ids: string[] = [];
    for (const symbol of ["AAA", "BBB", "CCC"]) ids.push((await put(user, `okx/${symbol}/long`, { size: 1, entry_price: 10, extra_note: symbol })).body.id);
    const byIdOpen = await call<PositionBody>(harness, "GET", `/v1/positions/${ids[0]}`, { token: harness.service });
    expect(byIdOpen.body).toMatchObject({ id: ids[0], status: "open", symbol: "AAA" });
    for (const symbol of ["AAA", "BBB", "CCC"]) expect((await call(harness, "DELETE", `/v1/users/${user}/positions/okx/${symbol}/long`, { token: harness.service })).status).toBe(204);
    expect((await call(harness, "DELETE", `/v1/users/${user}/positions/okx/AAA/long`, { token: harness.service })).status).toBe(404);
    expect((await list(user)).body.positions).toEqual([]);
    expect(await raw.exists(keys.position(user, "okx", "AAA", "long"), keys.positionById(ids[0] ?? ""))).toBe(0);
    const closed = await list(user, "?status=closed&limit=2");
    expect(closed.body.positions.map((p) => p.symbol)).toEqual(["CCC", "BBB"]);
    expect(closed.body.positions[0]).toMatchObject({ status: "closed", extra_note: "CCC", closed_at: expect.any(String) });
    const rest = await list(user, `?status=closed&limit=2&cursor=${closed.body.nextCursor}`);
    expect(rest.body.positions.map((p) => p.symbol)).toEqual(["AAA"]);
    expect(rest.body.nextCursor).toBeNull();
    const byIdClosed = await call<PositionBody>(harness, "GET", `/v1/positions/${ids[0]}`, { token: await token("user", user) });
    expect(byIdClosed.body).toMatchObject({ id: ids[0], status: "closed", user_id: user });
    // Re-opening the same key is a new position with a new id.
    const again = await put(user, "okx/AAA/long", { size: 1, entry_price: 11 });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(ids[0]);
  });

  it("hides another user's position from a user token (404), shows it to a service", async () => {
    const owner = await newUser();
    const stranger = await newUser();
    const { body } = await put(owner, "okx/BTC/short", { size: 1, entry_price: 1 });
    expect((await call(harness, "GET", `/v1/positions/${body.id}`, { token: await token("user", stranger) })).status).toBe(404);
    expect((await call(harness, "GET", `/v1/positions/${body.id}`, { token: await token("user", owner) })).status).toBe(200);
    expect((await call(harness, "GET", `/v1/positions/${randomUUID()}`, { token: harness.service })).status).toBe(404);
    expect(fieldsOf((await call(harness, "GET", "/v1/positions/nope", { token: harness.service })).body)).toEqual(["path.id"]);
  });
});

describe("POST /v1/positions/bulk", () => {
  it("answers every user in one call, by exact position or all open ones; at most 1,000 users; service only", async () => {
    const users = [await newUser(), await newUser(), await newUser()];
    await put(users[0] ?? "", "okx/BTC/long", { size: 1, entry_price: 1 });
    await put(users[0] ?? "", "okx/ETH/long", { size: 2, entry_price: 1 });
    await put(users[1] ?? "", "okx/BTC/long", { size: 3, entry_price: 1 });
    const bulk = (body: unknown, bearer = harness.service) => call<{ users: Record<string, PositionBody[]> }>(harness, "POST", "/v1/positions/bulk", { token: bearer, body });
    const exact = await bulk({ userIds: users, exchange: "okx", symbol: "BTC", side: "long" });
    expect(exact.status).toBe(200);
    expect(Object.fromEntries(Object.entries(exact.body.users).map(([u, ps]) => [u, ps.map((p) => p.size)]))).toEqual({ [users[0] ?? ""]: [1], [users[1] ?? ""]: [3], [users[2] ?? ""]: [] });
    const open = await bulk({ userIds: users });
    expect(open.body.users[users[0] ?? ""]?.map((p) => p.symbol)).toEqual(["BTC", "ETH"]);
    expect((await bulk({ userIds: users, symbol: "ETH" })).body.users[users[0] ?? ""]?.map((p) => p.size)).toEqual([2]);
    const tooMany = await bulk({ userIds: Array.from({ length: 1001 }, () => randomUUID()) });
    expect(tooMany.status).toBe(400);
    expect(fieldsOf(tooMany.body)).toEqual(["body.userIds"]);
    expect((await bulk({ userIds: Array.from({ length: 1000 }, () => randomUUID()) })).status).toBe(200);
    expect((await bulk({ userIds: users }, await token("user", users[0] ?? ""))).status).toBe(403);
  });
});
