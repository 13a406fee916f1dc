import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registrationForBot } from "../../runtime/registration";
import { token } from "../lookups/support/http";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness } from "../provisioning/support/harness";
import { insertUser, newCredentials, newOkxUid, newTelegramId } from "../credentials/support";

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => harness?.close());

interface RegistrationBody {
  readonly userId: string;
  readonly created: boolean;
  readonly telegramId: string;
  readonly okxUid: string;
  readonly exchange: string;
  readonly apiKeyLast4: string;
}

const newRegistration = (overrides: Record<string, unknown> = {}) => ({ telegramId: newTelegramId(), okxUid: newOkxUid(), ...newCredentials(), ...overrides });
const register = (body: unknown, auth = harness.service) => call<RegistrationBody>(harness, "POST", "/v1/registrations", { token: auth, body });
const fieldsOf = (body: unknown) => ((body as { error: { fields?: { field: string }[] } }).error.fields ?? []).map((issue) => issue.field);

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await harness.db.query(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return Number(rows[0].n);
}

async function settingsOf(userId: string): Promise<Record<string, { version: number; settings: Record<string, unknown> }>> {
  const { rows } = await harness.db.query("SELECT setting_type, version, settings FROM user_settings WHERE user_id = $1", [userId]);
  return Object.fromEntries(rows.map((row) => [row.setting_type, { version: row.version, settings: row.settings }]));
}

describe("POST /v1/registrations", () => {
  it("creates user, mapping, sealed credentials and every default settings type in one go (201)", async () => {
    const body = newRegistration();
    const answer = await register(body);
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ userId: expect.any(String), created: true, telegramId: body.telegramId, okxUid: body.okxUid, exchange: "okx", apiKeyLast4: body.apiKey.slice(-4) });
    const userId = answer.body.userId;
    const { rows: users } = await harness.db.query("SELECT telegram_id::text, okx_uid, is_active FROM app_users WHERE id = $1", [userId]);
    expect(users).toEqual([{ telegram_id: body.telegramId, okx_uid: body.okxUid, is_active: true }]);
    const { rows: mappings } = await harness.db.query("SELECT telegram_id::text, okx_uid, source FROM user_identifier_mappings WHERE user_id = $1", [userId]);
    expect(mappings).toEqual([{ telegram_id: body.telegramId, okx_uid: body.okxUid, source: "registration" }]);
    expect(Object.keys(await settingsOf(userId)).sort()).toEqual(["dual_side", "params", "preferences"]);
    expect(await count("user_settings_history WHERE user_id = $1 AND source = 'registration'", [userId])).toBe(3);
    // The engine reads back exactly what was registered.
    const read = await call<Record<string, string>>(harness, "GET", `/v1/internal/users/${userId}/credentials/okx`, { token: harness.service });
    expect(read.body).toMatchObject({ apiKey: body.apiKey, secret: body.secret, passphrase: body.passphrase });
  });

  it("answers a replay with the same user (200), nothing doubled; new keys for the same account replace the old", async () => {
    const body = newRegistration();
    const first = await register(body);
    const replay = await register({ ...body, telegramId: Number(body.telegramId) });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ ...first.body, created: false });
    const newKeys = { ...body, ...newCredentials() };
    const rekeyed = await register(newKeys);
    expect(rekeyed.status).toBe(200);
    expect(rekeyed.body.apiKeyLast4).toBe(newKeys.apiKey.slice(-4));
    expect(await count("app_users WHERE telegram_id = $1", [body.telegramId])).toBe(1);
    expect(await count("exchange_credentials WHERE user_id = $1", [first.body.userId])).toBe(1);
    const settings = await settingsOf(first.body.userId);
    expect(Object.values(settings).map((entry) => entry.version)).toEqual([1, 1, 1]);
  });

  it("leaves existing settings untouched and adds only the missing types", async () => {
    const user = await insertUser(harness.db);
    await harness.db.query(
      `INSERT INTO user_settings (id, user_id, okx_uid, telegram_id, setting_type, settings, version) VALUES (gen_random_uuid(), $1, $2, $3, 'preferences', $4, 7)`,
      [user.id, user.okxUid, user.telegramId, JSON.stringify({ timeframe: "4h", symbol: "ETH-USDT-SWAP" })],
    );
    const answer = await register(newRegistration({ telegramId: user.telegramId, okxUid: user.okxUid }));
    expect(answer.status).toBe(200);
    expect(answer.body.userId).toBe(user.id);
    const settings = await settingsOf(user.id);
    expect(settings.preferences).toEqual({ version: 7, settings: { timeframe: "4h", symbol: "ETH-USDT-SWAP" } });
    expect(Object.keys(settings).sort()).toEqual(["dual_side", "params", "preferences"]);
  });

  it("gives the okx uid to a user that has the telegram id and none yet (a sales-tool user connecting its exchange)", async () => {
    const user = await insertUser(harness.db, { okxUid: null });
    const okxUid = newOkxUid();
    const answer = await register(newRegistration({ telegramId: user.telegramId, okxUid }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ userId: user.id, created: false, okxUid });
    const { rows } = await harness.db.query("SELECT u.okx_uid AS u, m.okx_uid AS m FROM app_users u JOIN user_identifier_mappings m ON m.user_id = u.id WHERE u.id = $1", [user.id]);
    expect(rows).toEqual([{ u: okxUid, m: okxUid }]);
  });

  it("refuses identifiers of another user (409) and writes nothing", async () => {
    const a = await insertUser(harness.db);
    const b = await insertUser(harness.db);
    const cases = [
      { telegramId: a.telegramId, okxUid: b.okxUid }, // two users
      { telegramId: a.telegramId, okxUid: newOkxUid() }, // a's telegram id, another okx uid
      { telegramId: newTelegramId(), okxUid: a.okxUid }, // a's okx uid, another telegram id
    ];
    for (const identifiers of cases) {
      const answer = await register(newRegistration(identifiers));
      expect(answer.status, JSON.stringify(identifiers)).toBe(409);
      expect((answer.body as unknown as { error: { code: string } }).error.code).toBe("conflict");
    }
    expect(await count("exchange_credentials WHERE user_id = ANY($1::uuid[])", [[a.id, b.id]])).toBe(0);
    expect(await count("user_settings WHERE user_id = ANY($1::uuid[])", [[a.id, b.id]])).toBe(0);
    expect(await count("app_users WHERE okx_uid = $1 OR telegram_id = $2", [cases[1]?.okxUid, cases[2]?.telegramId])).toBe(0);
  });

  it("accepts negative telegram ids (groups and channels), as the identity rules do", async () => {
    const answer = await register(newRegistration({ telegramId: "-1001234567890" }));
    expect(answer.status).toBe(201);
    expect(answer.body.telegramId).toBe("-1001234567890");
  });

  it("makes one user of identical registrations sent at once: every answer names it, exactly one 201", async () => {
    const body = newRegistration();
    const answers = await Promise.all(Array.from({ length: 8 }, () => register(body)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((answer) => answer.body.userId)).size).toBe(1);
    expect(await count("app_users WHERE telegram_id = $1", [body.telegramId])).toBe(1);
    expect(await count("user_settings WHERE okx_uid = $1", [body.okxUid])).toBe(3);
  });

  it("lets exactly one of two people racing for one okx uid have it; the other gets 409", async () => {
    const okxUid = newOkxUid();
    const answers = await Promise.all([register(newRegistration({ okxUid })), register(newRegistration({ okxUid }))]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    expect(await count("app_users WHERE okx_uid = $1", [okxUid])).toBe(1);
  });

  it("drops a cached negative lookup of the new identifiers", async () => {
    const body = newRegistration();
    const before = await call(harness, "GET", `/v1/lookups/${body.okxUid}`, { token: harness.service });
    expect(before.status).toBe(404);
    const registered = await register(body);
    const after = await call<{ telegramId: string }>(harness, "GET", `/v1/lookups/${body.okxUid}`, { token: harness.service });
    expect(after.status).toBe(200);
    expect(after.body.telegramId).toBe(body.telegramId);
    // Delivered right after the commit: nothing left owed in the outbox.
    expect(await count("outbox WHERE topic = 'lookups.invalidate' AND key = $1", [registered.body.userId])).toBe(0);
  });

  it("needs a service token (401 / 403) and names bad fields (400)", async () => {
    expect((await call(harness, "POST", "/v1/registrations", { body: newRegistration() })).status).toBe(401);
    expect((await register(newRegistration(), harness.admin)).status).toBe(403);
    expect((await register(newRegistration(), await token("user", randomUUID()))).status).toBe(403);
    const bad = await register({ telegramId: "0", okxUid: "12", apiKey: "k", secret: "", exchange: "binance" });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad.body).sort()).toEqual(["body.apiKey", "body.exchange", "body.okxUid", "body.passphrase", "body.secret", "body.telegramId"]);
  });
});

describe("BotRegistration (the bot's /setapi)", () => {
  it("registers through the same use case and answers {userId, created}", async () => {
    const telegramId = newTelegramId();
    const okxUid = newOkxUid();
    const creds = newCredentials();
    const credentials = { apiKey: creds.apiKey, secretKey: creds.secret, passphrase: creds.passphrase };
    const first = await registrationForBot().register({ telegramId, okxUid, credentials });
    expect(first).toEqual({ userId: expect.any(String), created: true });
    expect(await registrationForBot().register({ telegramId, okxUid, credentials })).toEqual({ userId: first.userId, created: false });
  });
});
