import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backgroundTasks } from "../../runtime/background";
import { insertUser } from "../credentials/support";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness } from "../provisioning/support/harness";

/**
 * What a cached read costs in round trips (issue #10's performance target rests on it): once the
 * user's `{ref}` and views are cached, a position list, a reconciliation summary and a guard view
 * each make ONE Redis call (the summary's cache probe and open-position count share one pipeline)
 * and no database query. Counted at the clients: every Upstash and Neon call of the dev server's
 * handlers is a fetch in this process.
 */
let harness: Harness;

beforeAll(async () => {
  // The gates' periodic check of owed invalidations (one query per VIEWS_PENDING_CHECK_MS) is a
  // cost of its own, not of each read: kept out of the measured reads however slow the machine.
  harness = await startHarness({ env: { VIEWS_PENDING_CHECK_MS: "600000" } });
});
afterAll(async () => harness?.close());

interface RoundTrips {
  redis: number;
  postgres: number;
}

async function roundTrips(work: () => Promise<unknown>): Promise<RoundTrips> {
  const original = globalThis.fetch;
  const redisOrigin = new URL(harness.app.env.UPSTASH_REDIS_REST_URL ?? "").origin;
  const postgresOrigin = new URL(harness.app.env.NEON_FETCH_ENDPOINT ?? "").origin;
  const counts: RoundTrips = { redis: 0, postgres: 0 };
  globalThis.fetch = (input, init) => {
    const origin = new URL(input instanceof Request ? input.url : String(input)).origin;
    if (origin === redisOrigin) counts.redis += 1;
    if (origin === postgresOrigin) counts.postgres += 1;
    return original(input, init);
  };
  try {
    await work();
  } finally {
    globalThis.fetch = original;
  }
  return counts;
}

describe("cached reads of positions, reconciliation and guards", () => {
  it("cost one Redis round trip and no database query each, by app user id and by OKX UID", async () => {
    const user = await insertUser(harness.db);
    const put = await call(harness, "PUT", `/v1/users/${user.id}/positions/okx/BTC-USDT-SWAP/long`, { token: harness.service, body: { size: 1, entry_price: 65000 } });
    expect(put.status).toBe(201);
    expect((await call(harness, "POST", `/v1/users/${user.id}/reconciliation-events`, { token: harness.service, body: { kind: "sync", exchange: "okx" } })).status).toBe(201);
    expect((await call(harness, "POST", `/v1/users/${user.id}/equity`, { token: harness.service, body: { exchange: "okx", equity: 1000 } })).status).toBe(201);
    await backgroundTasks().settled();
    const paths = [user.id, user.okxUid ?? ""].flatMap((ref) => ["positions", "reconciliation", "guards"].map((view) => `/v1/users/${ref}/${view}`));
    for (const path of paths) expect((await call(harness, "GET", path, { token: harness.service })).status).toBe(200);
    for (const path of paths) {
      let status = 0;
      const trips = await roundTrips(async () => ({ status } = await call(harness, "GET", path, { token: harness.service })));
      expect({ path, status, ...trips }).toEqual({ path, status: 200, redis: 1, postgres: 0 });
    }
  });

  it("still answer what the last write left: the next read after a write sees it", async () => {
    const user = await insertUser(harness.db);
    const list = () => call<{ positions: { size: number }[] }>(harness, "GET", `/v1/users/${user.okxUid ?? ""}/positions`, { token: harness.service });
    expect((await list()).body.positions).toEqual([]);
    await call(harness, "PUT", `/v1/users/${user.id}/positions/okx/ETH-USDT-SWAP/short`, { token: harness.service, body: { size: 2, entry_price: 3000 } });
    expect((await list()).body.positions.map((position) => position.size)).toEqual([2]);
  });
});
