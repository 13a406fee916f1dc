import { randomInt, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { apiClient, fieldsOf, okxUid, telegramId, token } from "./support/http";
import type { BatchResult, ErrorBody, LookupBody, MappingBody } from "./support/http";

let app: AppEnv;
let server: DevServer;
let admin: string;
let service: string;
const api = apiClient(() => server.url);

beforeAll(async () => {
  app = await useAppEnv();
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
  admin = await token("admin");
  service = await token("service", "notifier");
});

afterAll(async () => {
  await server?.close();
  await app?.database.drop();
});

/** A supergroup / channel chat id: -100 followed by 10 digits. */
const groupChatId = () => `-100${randomInt(1_000_000_000, 9_999_999_999)}`;
const put = (userId: string, body: unknown) => api<MappingBody & ErrorBody>("PUT", `/v1/admin/mappings/${userId}`, { token: admin, body });
const lookup = (identifier: string, kind?: string) =>
  api<LookupBody & ErrorBody>("GET", `/v1/lookups/${encodeURIComponent(identifier)}${kind ? `?kind=${kind}` : ""}`, { token: service });

describe("writes refuse what the digit rule would misread", () => {
  it("rejects a positive 13-digit telegramId with 422 naming body.telegramId", async () => {
    const response = await put(randomUUID(), { telegramId: "7012345678901", okxUid: null });
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("unprocessable");
    expect(fieldsOf(response.body)).toEqual(["body.telegramId"]);
  });

  it("so a telegram id can never shadow another user's okx uid", async () => {
    const owner = { userId: randomUUID(), telegramId: telegramId(), okxUid: `7${String(randomInt(1e11, 1e12 - 1)).padStart(12, "0")}` };
    expect((await put(owner.userId, { telegramId: owner.telegramId, okxUid: owner.okxUid })).status).toBe(201);
    expect((await put(randomUUID(), { telegramId: owner.okxUid, okxUid: null })).status).toBe(422);
    expect((await lookup(owner.okxUid)).body).toMatchObject({ kind: "okx_uid", userId: owner.userId, telegramId: owner.telegramId });
  });
});

describe("negative chat ids (groups and channels) are allowed", () => {
  it("stores one and finds it with or without naming the kind", async () => {
    const userId = randomUUID();
    const chat = groupChatId();
    const created = await put(userId, { telegramId: chat, okxUid: okxUid() });
    expect(created.status).toBe(201);
    expect(created.body.telegramId).toBe(chat);
    expect((await lookup(chat)).body).toMatchObject({ identifier: chat, kind: "telegram_id", telegramId: chat, userId, source: "database" });
    expect((await lookup(chat, "telegram_id")).body).toMatchObject({ telegramId: chat, userId });
    expect((await put(randomUUID(), { telegramId: Number(chat), okxUid: null })).status).toBe(409);
  });

  it("rejects one beyond 52 bits with 400 naming the field", async () => {
    const response = await put(randomUUID(), { telegramId: `-${2 ** 52 + 1}`, okxUid: null });
    expect(response.status).toBe(400);
    expect(fieldsOf(response.body)).toEqual(["body.telegramId"]);
  });
});

describe("the caller names the kind", () => {
  it("reads the identifier as that kind in GET ?kind=", async () => {
    const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid() };
    expect((await put(person.userId, { telegramId: person.telegramId, okxUid: person.okxUid })).status).toBe(201);
    expect((await lookup(person.okxUid, "okx_uid")).body).toMatchObject({ kind: "okx_uid", userId: person.userId });
    // Named as a Telegram id, the okx uid is a chat nobody mapped: answered directly, never as this user.
    expect((await lookup(person.okxUid.slice(0, 13), "telegram_id")).body).toMatchObject({ kind: "telegram_id", userId: null, source: "direct" });
    const wrongKind = await lookup(person.telegramId, "okx_uid");
    expect(wrongKind.status).toBe(400);
    expect(fieldsOf(wrongKind.body)).toEqual(["path.identifier"]);
    const badKind = await lookup(person.telegramId, "email");
    expect(badKind.status).toBe(400);
    expect(fieldsOf(badKind.body)).toEqual(["query.kind"]);
  });

  it("reads {kind, value} entries of a batch as named, bare strings by the digit rule", async () => {
    const person = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid() };
    expect((await put(person.userId, { telegramId: person.telegramId, okxUid: person.okxUid })).status).toBe(201);
    const longChat = "7012345678901";
    const response = await api<{ results: BatchResult[] }>("POST", "/v1/lookups/batch", {
      token: service,
      body: { identifiers: [person.okxUid, { kind: "user_id", value: person.userId }, { kind: "telegram_id", value: longChat }] },
    });
    expect(response.status).toBe(200);
    expect(response.body.results).toEqual([
      { found: true, identifier: person.okxUid, kind: "okx_uid", telegramId: person.telegramId, userId: person.userId, okxUid: person.okxUid, source: "database" },
      { found: true, identifier: person.userId, kind: "user_id", telegramId: person.telegramId, userId: person.userId, okxUid: person.okxUid, source: "database" },
      { found: true, identifier: longChat, kind: "telegram_id", telegramId: longChat, userId: null, okxUid: null, source: "direct" },
    ]);
    const bad = await api("POST", "/v1/lookups/batch", { token: service, body: { identifiers: [{ kind: "okx_uid", value: "0518796558012178692" }] } });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad.body)).toEqual(["body.identifiers.0.value"]);
  });
});

describe("messages", () => {
  it("tells an 18-digit okx uid with a leading zero that it starts with 0", async () => {
    const response = await put(randomUUID(), { telegramId: telegramId(), okxUid: "018796558012178692" });
    expect(response.status).toBe(400);
    expect(response.body.error.fields).toEqual([{ field: "body.okxUid", message: "must not start with 0" }]);
  });
});

describe("identifiers of a deactivated user", () => {
  it("can be claimed by another user; re-activating the first then is 409 and changes nothing", async () => {
    const first = { userId: randomUUID(), telegramId: telegramId(), okxUid: okxUid() };
    const body = { telegramId: first.telegramId, okxUid: first.okxUid };
    expect((await put(first.userId, body)).status).toBe(201);
    expect((await api("DELETE", `/v1/admin/mappings/${first.userId}`, { token: admin })).status).toBe(200);

    const second = randomUUID();
    expect((await put(second, body)).status).toBe(201);
    expect((await lookup(first.okxUid)).body).toMatchObject({ userId: second });
    expect((await lookup(first.telegramId)).body).toMatchObject({ userId: second });

    const reactivate = await put(first.userId, { ...body, isActive: true });
    expect(reactivate.status).toBe(409);
    expect(reactivate.body.error.code).toBe("conflict");
    expect((await api<MappingBody>("GET", `/v1/admin/mappings/${first.userId}`, { token: admin })).body).toMatchObject({ isActive: false });
    expect((await lookup(first.okxUid)).body).toMatchObject({ userId: second });
  });

  it("includes the email, compared case-insensitively among active users", async () => {
    const client = new pg.Client({ connectionString: app.database.url });
    await client.connect();
    try {
      const insert = (active: boolean, email: string) =>
        client.query("INSERT INTO app_users (id, telegram_id, email, is_active) VALUES ($1, $2, $3, $4)", [randomUUID(), telegramId(), email, active]);
      const email = `trader-${randomUUID()}@example.com`;
      await insert(false, email);
      await insert(true, email);
      await expect(insert(true, email)).rejects.toMatchObject({ code: "23505", constraint: "app_users_active_email" });
      // Provisioning may come to store emails as typed; the index already compares lower(email).
      await client.query("ALTER TABLE app_users DROP CONSTRAINT IF EXISTS app_users_email_check");
      await expect(insert(true, email.toUpperCase())).rejects.toMatchObject({ code: "23505", constraint: "app_users_active_email" });
    } finally {
      await client.end();
    }
  });
});
