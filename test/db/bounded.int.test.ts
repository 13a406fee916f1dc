import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boundedQuery, boundedTransaction } from "../../core/db/bounded";
import { createSql } from "../../core/db/neon";
import type { Sql } from "../../core/db/neon";
import { UnavailableError } from "../../core/errors";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";

let app: AppEnv;
let sql: Sql;
let db: pg.Client;

beforeAll(async () => {
  app = await useAppEnv();
  sql = createSql({ databaseUrl: app.database.url, fetchEndpoint: app.env.NEON_FETCH_ENDPOINT, wsProxy: app.env.NEON_WS_PROXY });
  db = new pg.Client({ connectionString: app.database.url });
  await db.connect();
  await db.query("CREATE TABLE bounded_probe (id int PRIMARY KEY, value text NOT NULL)");
  await db.query("INSERT INTO bounded_probe VALUES (1, 'before')");
});

afterAll(async () => {
  await db?.end();
  await app?.database.drop();
});

async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("boundedTransaction", () => {
  it("returns the rows of each given query", async () => {
    const [first, second] = await boundedTransaction(sql, [sql.query("SELECT 1 AS a"), sql.query("SELECT 2 AS b")], {
      statementTimeoutMs: 1_000,
      kind: "read",
      what: "probe",
    });
    expect(first).toEqual([{ a: 1 }]);
    expect(second).toEqual([{ b: 2 }]);
  });

  it("turns a stalled write (a lock held elsewhere) into a 'not applied' 503, and nothing commits", async () => {
    const blocker = new pg.Client({ connectionString: app.database.url });
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("SELECT * FROM bounded_probe WHERE id = 1 FOR UPDATE");
      const started = performance.now();
      const failure = await boundedTransaction(
        sql,
        [sql.query("INSERT INTO bounded_probe VALUES (2, 'side effect')"), sql.query("UPDATE bounded_probe SET value = 'after' WHERE id = 1")],
        { statementTimeoutMs: 300, kind: "write", what: "probe write" },
      ).catch((error: unknown) => error);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(failure).toBeInstanceOf(UnavailableError);
      expect(failure).toMatchObject({ outcome: "not_applied", retryAfterSeconds: 1 });
    } finally {
      await blocker.query("ROLLBACK");
      await blocker.end();
    }
    const { rows } = await db.query("SELECT id, value FROM bounded_probe ORDER BY id");
    expect(rows).toEqual([{ id: 1, value: "before" }]);
  });

  it("reports a write whose answer never came as 'unknown'", async () => {
    const failure = await boundedQuery(sql, sql.query("SELECT pg_sleep(2)"), {
      statementTimeoutMs: 5_000,
      requestTimeoutMs: 200,
      kind: "write",
      what: "slow write",
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnavailableError);
    expect(failure).toMatchObject({ outcome: "unknown" });
    // The statement runs on after the client gave up; the database is dropped only once it ended
    // (the local endpoint's session would otherwise be killed mid-query).
    await until(async () => (await db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(2)' AND state = 'active'")).rows[0]?.n === 0);
  });

  it("passes other database errors through for the adapter to translate", async () => {
    const failure = await boundedQuery(sql, sql.query("INSERT INTO bounded_probe VALUES (1, 'duplicate')"), {
      statementTimeoutMs: 1_000,
      kind: "write",
      what: "duplicate",
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "23505" });
  });
});
