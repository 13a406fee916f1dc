import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../core/auth/tokens";
import { randomIds, systemClock } from "../../core/clock";
import { Database } from "../../core/db/database";
import { createSql } from "../../core/db/neon";
import { UnavailableError } from "../../core/errors";
import type { UserDirectory } from "../../core/identity/user-ref";
import { PostgresPositionRecords } from "../../core/positions/adapters/postgres-position-records";
import { UpstashPositionStore } from "../../core/positions/adapters/upstash-position-store";
import { getPosition } from "../../core/positions/get-position";
import { putPosition } from "../../core/positions/put-position";
import { removePosition } from "../../core/positions/remove-position";
import { PositionKeys } from "../../core/redis/keys";
import { createUpstashRedis } from "../../core/redis/upstash";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";

let app: AppEnv;
let keys: PositionKeys;
let store: UpstashPositionStore;
let deadStore: UpstashPositionStore;
let records: PostgresPositionRecords;
const service: Principal = { role: "service", subject: "bot" };
/** Every user exists: these tests are about Redis and Postgres, not about {ref}. */
const directory: UserDirectory = { activeUserId: async (id) => id, userIdByOkxUid: async () => null };
const ref = (userId: string) => ({ kind: "user_id" as const, value: userId });

beforeAll(async () => {
  app = await useAppEnv();
  keys = new PositionKeys(app.keyPrefix);
  const redis = (url: string) => createUpstashRedis({ url, token: app.env.UPSTASH_REDIS_REST_TOKEN ?? "", retries: 0, automaticDeserialization: false });
  store = new UpstashPositionStore(redis(app.env.UPSTASH_REDIS_REST_URL ?? ""), keys);
  // Nothing listens on port 9: connection refused at once.
  deadStore = new UpstashPositionStore(redis("http://127.0.0.1:9"), keys);
  const database = new Database(createSql({ databaseUrl: app.database.url, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY }), {
    statementTimeoutMs: 500,
    requestTimeoutMs: 1500,
  });
  records = new PostgresPositionRecords(database);
});
afterAll(async () => app?.database.drop());

const put = (s: UpstashPositionStore, userId: string, size = 1) =>
  putPosition({ store: s, directory, clock: systemClock, ids: randomIds }, { principal: service, ref: ref(userId), exchange: "okx", symbol: "BTC", side: "long", body: { size, entry_price: 100 } });
const remove = (s: UpstashPositionStore, r: PostgresPositionRecords, userId: string) =>
  removePosition({ store: s, records: r, directory, clock: systemClock }, { principal: service, ref: ref(userId), exchange: "okx", symbol: "BTC", side: "long" });

async function failure(work: Promise<unknown>): Promise<UnavailableError> {
  const error = await work.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(UnavailableError);
  return error as UnavailableError;
}

describe("positions under faults", () => {
  it("Redis down: a write is a bounded 503 (retry after 1 s, outcome unknown), a read 503 not applied", async () => {
    const started = Date.now();
    const write = await failure(put(deadStore, randomUUID()));
    expect(write.retryAfterSeconds).toBe(1);
    expect(write.outcome).toBe("unknown");
    expect((await failure(deadStore.listOpen(randomUUID(), {}))).outcome).toBe("not_applied");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("Postgres stuck (a lock held past the budget): a close is a bounded 503 and changes nothing (still open in Redis)", async () => {
    const user = randomUUID();
    await put(store, user);
    const holder = new pg.Client({ connectionString: app.database.url });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE positions IN ACCESS EXCLUSIVE MODE");
      const started = Date.now();
      const error = await failure(remove(store, records, user));
      expect(error.outcome).toBe("not_applied");
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
    }
    expect((await store.listOpen(user, {})).map((p) => p.symbol)).toEqual(["BTC"]);
  });

  it("Redis failing after the close was recorded: 503; a retry finishes it and the position reads closed", async () => {
    const user = randomUUID();
    const { position } = await put(store, user);
    const halfDead = Object.assign(Object.create(store) as UpstashPositionStore, { remove: deadStore.remove.bind(deadStore) });
    expect((await failure(remove(halfDead, records, user))).outcome).toBe("unknown");
    await remove(store, records, user);
    expect(await store.listOpen(user, {})).toEqual([]);
    const read = await getPosition({ store, records }, { principal: service, id: position.document.id });
    expect(read).toMatchObject({ status: "closed", closedAt: expect.any(String) });
  });

  it("concurrent writers opening one position: exactly one opens it, all share its id, the last write is what reads back", async () => {
    const user = randomUUID();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => put(store, user, i + 1)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.position.document.id)).size).toBe(1);
    const [read] = await store.listOpen(user, {});
    expect(results.map((r) => r.position.document.size)).toContain(read?.document.size);
    // An acknowledged write is read back at once (no cache in front of open positions).
    await put(store, user, 99);
    expect((await store.listOpen(user, {}))[0]?.document.size).toBe(99);
  });
});
