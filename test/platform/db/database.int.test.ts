import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Database } from "../../../core/db/database";
import { createSql } from "../../../core/db/neon";
import { UnavailableError } from "../../../core/errors";
import { createTestDatabase, cloudEnv } from "../../support/cloud";
import type { TestDatabase } from "../../support/cloud";

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

/** The driver keeps its endpoint process-wide, so each case points it where it needs. */
function databaseAt(fetchEndpoint: string, budget = { statementTimeoutMs: 200, requestTimeoutMs: 800 }): Database {
  return new Database(createSql({ databaseUrl: database.url, fetchEndpoint, wsProxy: cloudEnv().NEON_WS_PROXY }), budget);
}

async function failure(work: Promise<unknown>): Promise<UnavailableError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UnavailableError);
  return error as UnavailableError;
}

describe("Database budgets", () => {
  it("lets Postgres cancel a write past the statement budget: rolled back, so not applied", async () => {
    const db = databaseAt(cloudEnv().NEON_FETCH_ENDPOINT);
    const id = randomUUID();
    const started = performance.now();
    const error = await failure(
      db.transaction((sql) => [
        sql.query("INSERT INTO app_users (id, telegram_id) VALUES ($1, 7000000001)", [id]),
        sql.query("SELECT pg_sleep(5)"),
      ]),
    );
    expect(error.outcome).toBe("not_applied");
    expect(performance.now() - started).toBeLessThan(800);
    expect(await db.query("SELECT id FROM app_users WHERE id = $1", [id])).toEqual([]);
  });

  it("says the outcome is unknown when the database does not answer a write within the request budget", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer(() => undefined);
    silent.on("connection", (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const db = databaseAt(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/sql`);
      const started = performance.now();
      const write = await failure(db.transaction((sql) => [sql.query("SELECT 1")]));
      expect(write.outcome).toBe("unknown");
      expect(performance.now() - started).toBeLessThan(1_500);
      // A read that times out changed nothing.
      expect((await failure(db.query("SELECT 1"))).outcome).toBe("not_applied");
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("says not applied when the database cannot be reached at all", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const db = databaseAt(`http://127.0.0.1:${port}/sql`);
    expect((await failure(db.transaction((sql) => [sql.query("SELECT 1")]))).outcome).toBe("not_applied");
  });
});
