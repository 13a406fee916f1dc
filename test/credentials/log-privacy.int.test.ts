import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { apiClient, token } from "../lookups/support/http";
import { newCredentials, newOkxUid, newTelegramId } from "./support";
import { captureJsonLogLines } from "../support/logs";

let app: AppEnv;
let server: DevServer;
let service: string;
const api = apiClient(() => server.url);
const lines: string[] = [];

beforeAll(async () => {
  app = await useAppEnv({ LOG_LEVEL: "DEBUG" });
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
  service = await token("service", "trading-engine");
  captureJsonLogLines(lines);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await server?.close();
  await app?.database.drop();
});

describe("logs of credentials and registration", () => {
  it("never carry an api key, secret or passphrase, on success or failure paths (debug level)", async () => {
    const creds = newCredentials();
    const person = { telegramId: newTelegramId(), okxUid: newOkxUid(), ...creds };
    const registered = await api<{ userId: string }>("POST", "/v1/registrations", { token: service, body: person });
    expect(registered.status).toBe(201);
    const userId = registered.body.userId;
    const replaced = newCredentials();
    expect((await api("PUT", `/v1/users/${userId}/credentials/okx`, { token: service, body: replaced })).status).toBe(204);
    expect((await api("GET", `/v1/internal/users/${userId}/credentials/okx`, { token: service })).status).toBe(200);
    // Failure paths: a conflict, a malformed body, a forbidden token.
    expect((await api("POST", "/v1/registrations", { token: service, body: { ...person, ...newCredentials(), telegramId: newTelegramId() } })).status).toBe(409);
    expect((await api("PUT", `/v1/users/${userId}/credentials/okx`, { token: service, body: { ...replaced, secret: `${replaced.secret} x` } })).status).toBe(400);
    expect((await api("GET", `/v1/internal/users/${userId}/credentials/okx`, { token: await token("admin") })).status).toBe(403);

    expect(lines.some((line) => line.includes('"user registered"'))).toBe(true);
    const everything = lines.join("\n");
    for (const value of [creds.apiKey, creds.secret, creds.passphrase, replaced.apiKey, replaced.secret, replaced.passphrase]) {
      expect(everything).not.toContain(value);
    }
  });
});
