import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness } from "../provisioning/support/harness";
import { insertUser, newCredentials, newOkxUid, newTelegramId } from "../credentials/support";

// Redis unreachable for this file (nothing listens on port 9): registration and credentials live in Postgres.
let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ env: { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9", REDIS_RETRIES: "0" } });
});
afterAll(async () => harness?.close());

describe("with Redis down", () => {
  it("still registers (201), and the lookup invalidation it owes stays in the outbox for the drain", async () => {
    const body = { telegramId: newTelegramId(), okxUid: newOkxUid(), ...newCredentials() };
    const answer = await call<{ userId: string; created: boolean }>(harness, "POST", "/v1/registrations", { token: harness.service, body });
    expect(answer.status).toBe(201);
    const { rows } = await harness.db.query("SELECT payload FROM outbox WHERE topic = 'lookups.invalidate' AND key = $1", [answer.body.userId]);
    expect(rows).toHaveLength(1);
    expect(rows[0].payload.identifiers).toEqual(expect.arrayContaining([{ kind: "okx_uid", value: body.okxUid }, { kind: "telegram_id", value: body.telegramId }]));
  });

  it("stores and reads credentials (they never touch Redis)", async () => {
    const user = await insertUser(harness.db);
    const creds = newCredentials();
    expect((await call(harness, "PUT", `/v1/users/${user.id}/credentials/okx`, { token: harness.service, body: creds })).status).toBe(204);
    const read = await call<{ secret: string }>(harness, "GET", `/v1/internal/users/${user.id}/credentials/okx`, { token: harness.service });
    expect(read.body.secret).toBe(creds.secret);
  });
});
