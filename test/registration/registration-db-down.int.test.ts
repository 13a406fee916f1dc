import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness } from "../provisioning/support/harness";
import { newCredentials, newOkxUid, newTelegramId } from "../credentials/support";

// Postgres unreachable for this file's handlers (the Neon HTTP endpoint points where nothing listens).
let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ env: { NEON_FETCH_ENDPOINT: "http://127.0.0.1:9/sql" } });
});
afterAll(async () => harness?.close());

describe("with Postgres down", () => {
  it("answers 503 with Retry-After and outcome not_applied, for registration and every credentials route", async () => {
    const registration = await call<{ error: { code: string; outcome: string } }>(harness, "POST", "/v1/registrations", {
      token: harness.service,
      body: { telegramId: newTelegramId(), okxUid: newOkxUid(), ...newCredentials() },
    });
    const okx = newOkxUid();
    const routes = [
      registration,
      await call<{ error: { code: string; outcome: string } }>(harness, "PUT", `/v1/users/${okx}/credentials/okx`, { token: harness.service, body: newCredentials() }),
      await call<{ error: { code: string; outcome: string } }>(harness, "GET", `/v1/users/${okx}/credentials/okx`, { token: harness.service }),
      await call<{ error: { code: string; outcome: string } }>(harness, "DELETE", `/v1/users/${okx}/credentials/okx`, { token: harness.service }),
      await call<{ error: { code: string; outcome: string } }>(harness, "GET", `/v1/internal/users/${okx}/credentials/okx`, { token: harness.service }),
    ];
    for (const answer of routes) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("1");
      expect(answer.body.error).toMatchObject({ code: "unavailable", outcome: "not_applied" });
    }
  });
});
