import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { loadSstManifest } from "../../local/sst-manifest";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { apiClient, okxUid, telegramId, token } from "./support/http";
import type { ErrorBody, MappingBody } from "./support/http";

/** Short budgets so the test is quick; production defaults are 2 s / 5 s under a 10 s function timeout. */
const STATEMENT_TIMEOUT_MS = 400;
const REQUEST_TIMEOUT_MS = 3_000;

let app: AppEnv;
let server: DevServer;
let admin: string;
const api = apiClient(() => server.url);

beforeAll(async () => {
  app = await useAppEnv({ DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS), DATABASE_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
  admin = await token("admin");
});

afterAll(async () => {
  await server?.close();
  await app?.database.drop();
});

/** A session that holds a lock on the mapping tables (writes wait, reads do not), like a stalled migration or a long batch job. */
async function stallMappingWrites(): Promise<{ waitingForLocks: () => Promise<number>; release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: app.database.url });
  await client.connect();
  await client.query("BEGIN");
  await client.query("LOCK TABLE app_users, user_identifier_mappings IN EXCLUSIVE MODE");
  return {
    waitingForLocks: async () => {
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
      );
      return rows[0]?.n ?? -1;
    },
    release: async () => {
      await client.query("ROLLBACK");
      await client.end();
    },
  };
}

describe("writes when Postgres stalls", () => {
  it("answer 503 unavailable (not applied) with Retry-After within the budget, and the change never commits", async () => {
    const userId = randomUUID();
    const before = { telegramId: telegramId(), okxUid: okxUid() };
    expect((await api("PUT", `/v1/admin/mappings/${userId}`, { token: admin, body: before })).status).toBe(201);

    const stall = await stallMappingWrites();
    try {
      const writes = [
        () => api<ErrorBody>("PUT", `/v1/admin/mappings/${userId}`, { token: admin, body: { telegramId: telegramId(), okxUid: null } }),
        () => api<ErrorBody>("DELETE", `/v1/admin/mappings/${userId}`, { token: admin }),
        () => api<ErrorBody>("PUT", `/v1/admin/mappings/${randomUUID()}`, { token: admin, body: { telegramId: telegramId(), okxUid: null } }),
      ];
      for (const write of writes) {
        const response = await write();
        expect(response.status).toBe(503);
        expect(response.body.error).toMatchObject({ code: "unavailable", outcome: "not_applied" });
        expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        expect(response.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS);
      }
      // Postgres cancelled the statements itself: nothing is left waiting to commit once the lock goes.
      expect(await stall.waitingForLocks()).toBe(0);
    } finally {
      await stall.release();
    }
    const after = await api<MappingBody>("GET", `/v1/admin/mappings/${userId}`, { token: admin });
    expect(after.body).toMatchObject({ ...before, isActive: true });
  });
});
