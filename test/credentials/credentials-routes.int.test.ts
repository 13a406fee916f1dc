import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialsCipher } from "../../core/credentials/cipher";
import { keyRingFrom } from "../../core/credentials/key-ring";
import type { SealedCredentials } from "../../core/credentials/model";
import { TEST_ENCRYPTION_KEY } from "../support/cloud";
import { token } from "../lookups/support/http";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness } from "../provisioning/support/harness";
import { insertUser, newCredentials } from "./support";

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => harness?.close());

const path = (ref: string, exchange = "okx") => `/v1/users/${ref}/credentials/${exchange}`;
const internal = (ref: string, exchange = "okx") => `/v1/internal/users/${ref}/credentials/${exchange}`;
const fieldsOf = (body: unknown) => ((body as { error: { fields?: { field: string }[] } }).error.fields ?? []).map((issue) => issue.field);
const userToken = (userId: string) => token("user", userId);

async function storedRow(userId: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await harness.db.query("SELECT * FROM exchange_credentials WHERE user_id = $1", [userId]);
  return rows[0] as Record<string, unknown> | undefined;
}

describe("PUT / GET / DELETE /v1/users/{ref}/credentials/{exchange}", () => {
  it("stores sealed values (no plaintext in the row), answers masked, deletes", async () => {
    const user = await insertUser(harness.db);
    const creds = newCredentials();
    const put = await call(harness, "PUT", path(user.id), { token: harness.service, body: creds });
    expect(put.status).toBe(204);
    expect(put.body).toBeUndefined();

    const row = await storedRow(user.id);
    expect(row?.api_key_last4).toBe(creds.apiKey.slice(-4));
    const sealed = ["api_key", "secret", "passphrase"].map((column) => Buffer.from(row?.[column] as Buffer).toString("latin1")).join("|");
    for (const secret of [creds.apiKey, creds.secret, creds.passphrase]) expect(sealed).not.toContain(secret);
    expect(row?.key_id).toMatch(/^k[0-9a-f]{12}$/);

    const got = await call<{ exchange: string; apiKeyLast4: string; updatedAt: string }>(harness, "GET", path(user.id), { token: harness.admin });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ exchange: "okx", apiKeyLast4: creds.apiKey.slice(-4), updatedAt: expect.any(String) });
    expect(JSON.stringify(got.body)).not.toContain(creds.secret);

    expect((await call(harness, "DELETE", path(user.id), { token: harness.service })).status).toBe(204);
    expect((await call(harness, "GET", path(user.id), { token: harness.service })).status).toBe(404);
    expect((await call(harness, "DELETE", path(user.id), { token: harness.service })).status).toBe(404);
    expect(await storedRow(user.id)).toBeUndefined();
  });

  it("names the user by okx uid or `me`, and a replacement keeps one row", async () => {
    const user = await insertUser(harness.db);
    const mine = await userToken(user.id);
    expect((await call(harness, "PUT", path("me"), { token: mine, body: newCredentials() })).status).toBe(204);
    const second = newCredentials();
    expect((await call(harness, "PUT", path(user.okxUid ?? ""), { token: harness.service, body: second })).status).toBe(204);
    const got = await call<{ apiKeyLast4: string }>(harness, "GET", path("me"), { token: mine });
    expect(got.body.apiKeyLast4).toBe(second.apiKey.slice(-4));
    const { rows } = await harness.db.query("SELECT count(*)::int AS n FROM exchange_credentials WHERE user_id = $1", [user.id]);
    expect(rows[0].n).toBe(1);
  });

  it("keeps one whole credential set under concurrent PUTs: every answer 204, the row is one writer's, never a mix", async () => {
    const user = await insertUser(harness.db);
    const sets = Array.from({ length: 8 }, () => newCredentials());
    const answers = await Promise.all(sets.map((body) => call(harness, "PUT", path(user.id), { token: harness.service, body })));
    expect(answers.map((answer) => answer.status)).toEqual(sets.map(() => 204));
    const read = await call<{ apiKey: string; secret: string; passphrase: string }>(harness, "GET", internal(user.id), { token: harness.service });
    const winner = sets.find((set) => set.apiKey === read.body.apiKey);
    expect(winner).toBeDefined();
    expect(read.body).toMatchObject({ secret: winner?.secret, passphrase: winner?.passphrase });
    const masked = await call<{ apiKeyLast4: string }>(harness, "GET", path(user.id), { token: harness.service });
    expect(masked.body.apiKeyLast4).toBe(winner?.apiKey.slice(-4));
  });

  it("lets a user token reach only its own user (403), and needs a token (401)", async () => {
    const owner = await insertUser(harness.db);
    const intruder = await insertUser(harness.db);
    const theirs = await userToken(intruder.id);
    expect((await call(harness, "PUT", path(owner.id), { token: theirs, body: newCredentials() })).status).toBe(403);
    expect((await call(harness, "GET", path(owner.okxUid ?? ""), { token: theirs })).status).toBe(403);
    expect((await call(harness, "DELETE", path(owner.id), { token: theirs })).status).toBe(403);
    expect((await call(harness, "GET", path(owner.id))).status).toBe(401);
    expect(await storedRow(owner.id)).toBeUndefined();
  });

  it("answers 404 for an unknown user or exchange, 400 naming bad fields, 415 for another content type", async () => {
    expect((await call(harness, "PUT", path(randomUUID()), { token: harness.service, body: newCredentials() })).status).toBe(404);
    const user = await insertUser(harness.db);
    const unknownExchange = await call(harness, "PUT", path(user.id, "binance"), { token: harness.service, body: newCredentials() });
    expect(unknownExchange.status).toBe(404);
    const badRef = await call(harness, "GET", path("not-a-ref"), { token: harness.service });
    expect(badRef.status).toBe(400);
    expect(fieldsOf(badRef.body)).toEqual(["path.ref"]);
    const bad = await call(harness, "PUT", path(user.id), { token: harness.service, body: { apiKey: "", secret: "has space", extra: 1 } });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad.body).sort()).toEqual(["body", "body.apiKey", "body.passphrase", "body.secret"]);
    const text = await fetch(harness.server.url + path(user.id), {
      method: "PUT",
      headers: { authorization: `Bearer ${harness.service}`, "content-type": "text/plain" },
      body: "apiKey=x",
    });
    expect(text.status).toBe(415);
  });
});

describe("GET /v1/internal/users/{ref}/credentials/{exchange}", () => {
  it("answers the decrypted values to a service token, and audit-logs who read whose (never the values)", async () => {
    const user = await insertUser(harness.db);
    const creds = newCredentials();
    await call(harness, "PUT", path(user.id), { token: harness.admin, body: creds });
    const engine = await token("service", "trading-engine");
    const read = await call<Record<string, string>>(harness, "GET", internal(user.okxUid ?? ""), { token: engine });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ exchange: "okx", apiKey: creds.apiKey, secret: creds.secret, passphrase: creds.passphrase });
    expect(read.headers.get("cache-control")).toBe("no-store");

    const { rows } = await harness.db.query("SELECT * FROM exchange_credential_reads WHERE user_id = $1", [user.id]);
    expect(rows).toEqual([expect.objectContaining({ user_id: user.id, exchange: "okx", actor_role: "service", actor_subject: "trading-engine", found: true })]);
    expect(rows[0].request_id).toEqual(expect.any(String));
    expect(JSON.stringify(rows)).not.toContain(creds.secret);
  });

  it("refuses user and admin tokens (403) and logs a read of nothing as not found", async () => {
    const user = await insertUser(harness.db);
    await call(harness, "PUT", path(user.id), { token: harness.service, body: newCredentials() });
    expect((await call(harness, "GET", internal(user.id), { token: harness.admin })).status).toBe(403);
    expect((await call(harness, "GET", internal(user.id), { token: await userToken(user.id) })).status).toBe(403);
    const empty = await insertUser(harness.db);
    expect((await call(harness, "GET", internal(empty.id), { token: harness.service })).status).toBe(404);
    const { rows } = await harness.db.query("SELECT user_id, found FROM exchange_credential_reads WHERE user_id = ANY($1::uuid[]) ORDER BY read_at", [[user.id, empty.id]]);
    expect(rows).toEqual([{ user_id: empty.id, found: false }]);
  });

  it("fails with a 500 (never garbage) when a stored value was tampered with", async () => {
    const user = await insertUser(harness.db);
    await call(harness, "PUT", path(user.id), { token: harness.service, body: newCredentials() });
    // Flip one bit (a fixed byte value would leave the row intact when it already held it).
    await harness.db.query("UPDATE exchange_credentials SET secret = set_byte(secret, 20, get_byte(secret, 20) # 1) WHERE user_id = $1", [user.id]);
    const read = await call<{ error: { code: string } }>(harness, "GET", internal(user.id), { token: harness.service });
    expect(read.status).toBe(500);
    expect(read.body.error.code).toBe("internal");
  });

  it("opens a row sealed by a previous key only when the ring holds it (rotation config)", async () => {
    const user = await insertUser(harness.db);
    // Sealed by the test key, exactly as the route does: the route opens it.
    const cipher = new CredentialsCipher(keyRingFrom(TEST_ENCRYPTION_KEY));
    const creds = newCredentials();
    const sealed: SealedCredentials = cipher.sealCredentials(user.id, "okx", { apiKey: creds.apiKey, secretKey: creds.secret, passphrase: creds.passphrase }, new Date());
    await harness.db.query(
      "INSERT INTO exchange_credentials (user_id, exchange, api_key, secret, passphrase, key_id, api_key_last4) VALUES ($1, 'okx', $2, $3, $4, $5, $6)",
      [user.id, Buffer.from(sealed.apiKey), Buffer.from(sealed.secret), Buffer.from(sealed.passphrase), sealed.keyId, sealed.apiKeyLast4],
    );
    const read = await call<Record<string, string>>(harness, "GET", internal(user.id), { token: harness.service });
    expect(read.body.secret).toBe(creds.secret);
    expect(read.body.keyId).toBe(cipher.currentKeyId);
  });
});
