import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import type { Redis } from "@upstash/redis";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { redisConfigSchema } from "../../core/config";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import { RedisKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { startFakeOkx } from "../../local/fake-okx";
import type { FakeOkx, FakeOkxAccount } from "../../local/fake-okx";
import { generateBotToken } from "../../local/fake-telegram-api";
import { loadSstManifest } from "../../local/sst-manifest";
import { configFor } from "../../runtime/config";
import { buildTelegram } from "../../runtime/telegram";
import type { TelegramModule, TelegramWiringOptions } from "../../runtime/telegram";
import { token } from "../lookups/support/http";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { callsOf, startTestTelegram } from "../support/telegram";
import type { FakeTelegramApi, RecordedCall } from "../support/telegram";
import { MemoryRegistration, MemoryAccounts } from "./support/memory";
import { lambdaContext, textUpdate, webhookEvent } from "./support/updates";
import type { Sender } from "./support/updates";

const SECRET = "int-test-webhook-secret-0123456789";
const RATE_LIMIT = 3;

let telegram: FakeTelegramApi;
let okx: FakeOkx;
let okxAccount: FakeOkxAccount;
let app: AppEnv;
let server: DevServer;
let redis: Redis;
let keys: RedisKeys;
let db: pg.Client;
let senderSeq = 0;
const newSender = (languageCode = "en"): Sender => ({ id: 7_200_000_000 + ++senderSeq * 7, firstName: "Jisoo", languageCode });

beforeAll(async () => {
  telegram = await startTestTelegram({ token: generateBotToken() });
  okx = await startFakeOkx();
  okxAccount = okx.addAccount();
  app = await useAppEnv({
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.root,
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    TELEGRAM_RATE_LIMIT: String(RATE_LIMIT),
    OKX_BASE_URL: okx.url,
  });
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
  redis = createUpstashRedis({ url: app.env.UPSTASH_REDIS_REST_URL ?? "", token: app.env.UPSTASH_REDIS_REST_TOKEN ?? "", retries: 0 });
  keys = new RedisKeys(app.keyPrefix);
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await server?.close();
  await okx?.close();
  await telegram?.close();
  await app?.database.drop();
});

beforeEach(() => telegram.clear());

/** POST /telegram/webhook on the dev server, as Telegram calls it. */
async function post(update: unknown, secret: string | null = SECRET): Promise<{ status: number; calls: RecordedCall[] }> {
  const before = telegram.calls().length;
  const response = await fetch(`${server.url}/telegram/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(secret === null ? {} : { "x-telegram-bot-api-secret-token": secret }) },
    body: typeof update === "string" ? update : JSON.stringify(update),
  });
  await response.arrayBuffer();
  return { status: response.status, calls: telegram.calls().slice(before) };
}

/** Another container: its own bot, ledger and clients (or the broken ones given). */
function container(options: TelegramWiringOptions = {}): TelegramModule & { deliver(update: unknown): Promise<{ status: number; calls: RecordedCall[] }> } {
  const built = buildTelegram(options);
  return {
    ...built,
    deliver: async (update) => {
      const before = telegram.calls().length;
      const response = await built.webhook(webhookEvent(update, SECRET), lambdaContext());
      return { status: response.statusCode ?? 0, calls: telegram.calls().slice(before) };
    },
  };
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The production client, pointed at a Redis endpoint nobody listens on. */
async function deadRedis(): Promise<Redis> {
  const config = configFor(redisConfigSchema);
  return createUpstashRedis({ url: `http://127.0.0.1:${await closedPort()}`, token: config.UPSTASH_REDIS_REST_TOKEN, retries: 0 });
}

/** The production driver through the local Neon endpoint, to a Postgres that is not there. */
async function deadDatabase(): Promise<Database> {
  const url = `postgres://postgres@127.0.0.1:${await closedPort()}/gone`;
  return new Database(createSql({ databaseUrl: url, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY }), { statementTimeoutMs: 500, requestTimeoutMs: 1_500 });
}

const texts = (calls: readonly RecordedCall[]) => callsOf(calls, "sendMessage").map((call) => String(call.params.text));
const pgMark = async (updateId: number) => (await db.query<{ state: string }>("SELECT state FROM telegram_updates WHERE update_id = $1", [updateId])).rows[0]?.state ?? null;

describe("POST /telegram/webhook (dev server, real Upstash and Neon clients)", () => {
  it("a wrong or missing secret token is 401: no call, no mark", async () => {
    const update = textUpdate("/help", newSender());
    for (const secret of [null, "wrong-secret-0123456789"]) {
      const { status, calls } = await post(update, secret);
      expect(status).toBe(401);
      expect(calls).toEqual([]);
    }
    expect(await redis.get(keys.telegramUpdate(update.update_id))).toBeNull();
    expect(await pgMark(update.update_id)).toBeNull();
  });

  it("handles an update, marks it done in Redis with the TTL, and ignores its redelivery", async () => {
    const update = textUpdate("/help", newSender());
    const first = await post(update);
    expect(first.status).toBe(200);
    expect(texts(first.calls)[0]).toContain("/setapi");
    expect(await redis.get(keys.telegramUpdate(update.update_id))).toBe("done");
    const ttl = await redis.ttl(keys.telegramUpdate(update.update_id));
    expect(ttl).toBeGreaterThan(86_000);
    expect(ttl).toBeLessThanOrEqual(86_400);
    const again = await post(update);
    expect(again).toEqual({ status: 200, calls: [] });
    // The bot info is preset: a cold start makes no getMe call.
    expect(callsOf(telegram.calls(), "getMe")).toEqual([]);
  });

  it("a malformed body is acknowledged with 200 and nothing runs", async () => {
    expect(await post("{\"update_id\": \"x\"")).toEqual({ status: 200, calls: [] });
  });

  it("the same update delivered to two containers at once runs once", async () => {
    const other = container();
    const update = textUpdate("/help", newSender());
    const [a, b] = await Promise.all([post(update), other.deliver(update)]);
    const replies = telegram.calls().filter((call) => call.method === "sendMessage" && call.params.chat_id === update.message.chat.id);
    expect(replies).toHaveLength(1);
    // The loser either saw it done (200) or still held (503: Telegram would come back, then see it done).
    const statuses = [a.status, b.status].sort();
    expect(statuses[0]).toBe(200);
    expect([200, 503]).toContain(statuses[1]);
    expect((await other.deliver(update)).calls).toEqual([]);
  });

  it("Redis down: marks go to Postgres; once Redis is back, a redelivery finds them", async () => {
    const outage = container({ redis: await deadRedis() });
    const update = textUpdate("/help", newSender());
    const during = await outage.deliver(update);
    expect(during.status).toBe(200);
    expect(texts(during.calls)).toHaveLength(1);
    expect(await pgMark(update.update_id)).toBe("done");
    expect((await outage.deliver(update)).calls).toEqual([]);

    const after = await post(update);
    expect(after).toEqual({ status: 200, calls: [] });
    expect(await redis.get(keys.telegramUpdate(update.update_id))).toBe("done");
  });

  it("Postgres down: 503 and the update is freed; Telegram's redelivery is handled once", async () => {
    const outage = container({ database: await deadDatabase() });
    const update = textUpdate("/start", newSender());
    const failed = await outage.deliver(update);
    expect(failed.status).toBe(503);
    expect(failed.calls).toEqual([]);
    expect(await redis.get(keys.telegramUpdate(update.update_id))).toBeNull();

    const retried = await post(update);
    expect(retried.status).toBe(200);
    expect(texts(retried.calls)[0]).toContain("Hello, Jisoo!");
    expect(await post(update)).toEqual({ status: 200, calls: [] });
  });

  it(`rate limit (${RATE_LIMIT} a window, @upstash/ratelimit): one notice, then silence; another chat unaffected`, async () => {
    const sender = newSender();
    const replies: string[][] = [];
    for (let i = 0; i < RATE_LIMIT + 3; i += 1) replies.push(texts((await post(textUpdate("/help", sender))).calls));
    expect(replies.slice(0, RATE_LIMIT).every((reply) => reply.length === 1 && reply[0]?.includes("/setapi"))).toBe(true);
    expect(replies[RATE_LIMIT]?.[0]).toMatch(/^Too many commands\. Please wait \d+ s\.$/);
    expect(replies.slice(RATE_LIMIT + 1)).toEqual([[], []]);
    expect(texts((await post(textUpdate("/help", newSender()))).calls)).toHaveLength(1);
  });

  it("Redis down does not stop the bot at the rate limiter either", async () => {
    const outage = container({ redis: await deadRedis() });
    const sender = newSender();
    for (let i = 0; i < RATE_LIMIT + 1; i += 1) expect(texts((await outage.deliver(textUpdate("/help", sender))).calls)).toHaveLength(1);
  });
});

describe("/setapi with the OKX adapter against the fake OKX (signature checked)", () => {
  function registering() {
    const accounts = new MemoryAccounts();
    return { accounts, registration: new MemoryRegistration(accounts) };
  }

  it("valid keys: the message is deleted, the uid read from OKX, registered, last 4 characters shown", async () => {
    const { accounts, registration } = registering();
    const bot = container({ services: { accounts, registration } });
    const sender = newSender();
    const update = textUpdate(`/setapi ${okxAccount.apiKey} ${okxAccount.secretKey} ${okxAccount.passphrase}`, sender);
    const { status, calls } = await bot.deliver(update);
    expect(status).toBe(200);
    expect(calls.map((call) => call.method)).toEqual(["deleteMessage", "sendMessage"]);
    expect(calls[0]?.params).toEqual({ chat_id: sender.id, message_id: update.message.message_id });
    expect(texts(calls)[0]).toContain(`<code>…${okxAccount.apiKey.slice(-4)}</code>, account <code>${okxAccount.uid}</code>`);
    expect(registration.registered).toEqual([{ telegramId: String(sender.id), okxUid: okxAccount.uid, credentials: { apiKey: okxAccount.apiKey, secretKey: okxAccount.secretKey, passphrase: okxAccount.passphrase } }]);
  });

  it("a wrong secret: deleted, OKX's refusal explained, nothing registered", async () => {
    const { accounts, registration } = registering();
    const bot = container({ services: { accounts, registration } });
    const { calls } = await bot.deliver(textUpdate(`/setapi ${okxAccount.apiKey} ${"A".repeat(32)} ${okxAccount.passphrase}`, newSender()));
    expect(calls.map((call) => call.method)).toEqual(["deleteMessage", "sendMessage"]);
    expect(texts(calls)[0]).toContain("The secret key is wrong");
    expect(registration.registered).toEqual([]);
  });
});

describe("the bot on the real use cases (registration, settings; dev server, Upstash and Neon clients)", () => {
  // The rate limit of this file is 3 commands a chat and window: each test registers a chat of its own.
  const setapi = (account: FakeOkxAccount) => `/setapi ${account.apiKey} ${account.secretKey} ${account.passphrase}`;

  async function registered(): Promise<{ sender: Sender; account: FakeOkxAccount; reply: string | undefined }> {
    const sender = newSender();
    const account = okx.addAccount();
    const { calls } = await post(textUpdate(setapi(account), sender));
    return { sender, account, reply: texts(calls)[0] };
  }

  const userIdOf = async (telegramId: number) =>
    (await db.query<{ user_id: string }>("SELECT user_id FROM user_identifier_mappings WHERE telegram_id = $1 AND is_active", [telegramId])).rows[0]?.user_id;
  const leverageOf = async (telegramId: number) =>
    (await db.query("SELECT settings->>'leverage' AS leverage, version FROM user_settings WHERE user_id = $1 AND setting_type = 'params'", [await userIdOf(telegramId)])).rows[0];

  it("/setapi registers the user, its mapping, sealed credentials and default settings", async () => {
    const { sender, account, reply } = await registered();
    expect(reply).toContain(`Registered: OKX API key <code>…${account.apiKey.slice(-4)}</code>`);
    const userId = await userIdOf(sender.id);
    expect(userId).toBeDefined();
    const sealed = await db.query<{ api_key: Buffer; secret: Buffer; api_key_last4: string }>("SELECT api_key, secret, api_key_last4 FROM exchange_credentials WHERE user_id = $1", [userId]);
    expect(sealed.rows).toHaveLength(1);
    expect(sealed.rows[0]?.api_key_last4).toBe(account.apiKey.slice(-4));
    // Sealed: neither the key nor the secret is anywhere in the stored bytes.
    expect(sealed.rows[0]?.api_key.toString("latin1")).not.toContain(account.apiKey);
    expect(sealed.rows[0]?.secret.toString("latin1")).not.toContain(account.secretKey);
    const types = await db.query("SELECT setting_type FROM user_settings WHERE user_id = $1 AND deleted_at IS NULL ORDER BY setting_type", [userId]);
    expect(types.rows.map((row) => row.setting_type)).toEqual(["dual_side", "params", "preferences"]);
  });

  it("/setapi again from the same chat is a safe replay: one user, 'Updated'", async () => {
    const { sender, account } = await registered();
    const before = await userIdOf(sender.id);
    const { calls } = await post(textUpdate(setapi(account), sender));
    expect(calls.map((call) => call.method)).toEqual(["deleteMessage", "sendMessage"]);
    expect(texts(calls)[0]).toContain("Updated: OKX API key");
    expect(await userIdOf(sender.id)).toBe(before);
  });

  it("/setapi of an OKX account another chat registered: the message is deleted, the clash explained, nothing stored", async () => {
    const { account } = await registered();
    const intruder = newSender();
    const { calls } = await post(textUpdate(setapi(account), intruder));
    expect(calls.map((call) => call.method)).toEqual(["deleteMessage", "sendMessage"]);
    expect(texts(calls)[0]).toContain("This clashes with an existing registration");
    expect(await userIdOf(intruder.id)).toBeUndefined();
  });

  it("/set changes one key through the API's validation, and /settings shows it", async () => {
    const { sender } = await registered();
    const { calls } = await post(textUpdate("/set params leverage 12", sender));
    expect(texts(calls)[0]).toBe("Changed: <code>params.leverage</code> = <code>12</code>");
    expect(await leverageOf(sender.id)).toEqual({ leverage: "12", version: 2 });
    const shown = await post(textUpdate("/settings", sender));
    expect(texts(shown.calls).join("\n")).toContain("<code>leverage</code> 12");
  });

  it("/set with a value out of range names the field and the range, and changes nothing", async () => {
    const { sender } = await registered();
    const before = await leverageOf(sender.id);
    const { calls } = await post(textUpdate("/set params leverage 500", sender));
    expect(texts(calls)[0]).toMatch(/^Not changed:/);
    expect(texts(calls)[0]).toContain("params.leverage");
    expect(texts(calls)[0]).toMatch(/125/);
    expect(await leverageOf(sender.id)).toEqual(before);
  });

  it("/positions and /status answer from what bots reported through the API (positions, reconciliation, equity)", async () => {
    const { sender } = await registered();
    const userId = await userIdOf(sender.id);
    const service = { authorization: `Bearer ${await token("service", "trading-bot")}`, "content-type": "application/json" };
    const api = (method: string, path: string, body: unknown) => fetch(`${server.url}${path}`, { method, headers: service, body: JSON.stringify(body) });
    expect((await api("PUT", `/v1/users/${userId}/positions/okx/BTC-USDT-SWAP/long`, { size: 0.5, entry_price: 64000, leverage: 10, unrealized_pnl: 12.5 })).status).toBe(201);
    expect((await api("POST", `/v1/users/${userId}/reconciliation-events`, { kind: "divergence", exchange: "okx", symbol: "BTC-USDT-SWAP", side: "long" })).status).toBe(201);
    for (const equity of [1000, 880]) expect((await api("POST", `/v1/users/${userId}/equity`, { exchange: "okx", equity })).status).toBe(201);

    const positions = texts((await post(textUpdate("/positions", sender))).calls).join("\n");
    expect(positions).toContain("Open positions: 1");
    expect(positions).toContain("BTC-USDT-SWAP <b>long</b> 0.5");
    const status = texts((await post(textUpdate("/status", sender))).calls).join("\n");
    expect(status).toContain("Open positions: 1");
    expect(status).toContain("Divergences: 1");
    expect(status).toContain("drawdown 12.0 %");
    expect(status).toContain("divergence okx BTC-USDT-SWAP long");
  });
});
