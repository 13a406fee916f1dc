import { randomBytes } from "node:crypto";
import { Client, neon, neonConfig, NeonDbError, Pool } from "@neondatabase/serverless";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createServer, connect as netConnect } from "node:net";
import type { AddressInfo } from "node:net";
import { startNeonEndpoint } from "../../local/neon-endpoint.js";
import type { NeonEndpoint } from "../../local/neon-endpoint.js";
import { backing } from "../support/backing";

const dbName = `neon_t_${randomBytes(6).toString("hex")}`;
const roleName = `neon_t_role_${randomBytes(6).toString("hex")}`;
let endpoint: NeonEndpoint;
let connStr: string;
let pool: Pool;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: backing().databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

beforeAll(async () => {
  endpoint = await startNeonEndpoint({ port: 0 });
  await admin((client) => client.query(`CREATE DATABASE "${dbName}"`));
  connStr = withDatabase(backing().databaseUrl, dbName);

  // fetchEndpoint is global-only in driver 1.2.0 (neon() options do not accept it).
  neonConfig.fetchEndpoint = endpoint.fetchEndpoint;
  // Node 20 has no global WebSocket.
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = endpoint.wsProxy;
  neonConfig.useSecureWebSocket = false;
  // pipelineConnect stays at the driver's default ("password"), as against Neon.
  neonConfig.forceDisablePgSSL = true;

  const sql = neon(connStr);
  await sql`CREATE TABLE items (id serial PRIMARY KEY, sku text NOT NULL CONSTRAINT items_sku_key UNIQUE, qty int NOT NULL)`;
  await sql`CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)`;
  await sql`INSERT INTO accounts VALUES (1, 100), (2, 100)`;
  pool = new Pool({ connectionString: connStr, max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await endpoint?.close();
  await admin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await client.query(`DROP ROLE IF EXISTS "${roleName}"`);
  });
});

/** A TCP forwarder to the backing Postgres on a port of its own, counting the connections it carries. */
async function countingForwarder(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const target = Number(new URL(backing().databaseUrl).port || 5432);
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    const upstream = netConnect({ host: "127.0.0.1", port: target });
    socket.pipe(upstream).pipe(socket);
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.unref();
      }),
  };
}

describe("what Neon's proxy accepts", () => {
  it("a Pool and a Client with the driver's pipelined startup (password role), and without it", async () => {
    await admin((client) => client.query(`CREATE ROLE "${roleName}" LOGIN PASSWORD 'pipelined-secret'`));
    const url = new URL(connStr);
    url.username = roleName;
    url.password = "pipelined-secret";
    for (const pipelineConnect of ["password", false] as const) {
      const rolePool = new Pool({ connectionString: url.toString(), max: 1 });
      rolePool.on("error", () => {});
      const client = new Client(url.toString());
      client.neonConfig.pipelineConnect = pipelineConnect;
      try {
        neonConfig.pipelineConnect = pipelineConnect;
        const { rows } = await rolePool.query<{ me: string; one: number }>("SELECT current_user AS me, $1::int AS one", [1]);
        expect(rows, `pipelineConnect ${pipelineConnect}`).toEqual([{ me: roleName, one: 1 }]);
        await client.connect();
        const again = await client.query<{ me: string }>("SELECT current_user AS me");
        expect(again.rows).toEqual([{ me: roleName }]);
      } finally {
        neonConfig.pipelineConnect = "password";
        await client.end().catch(() => {});
        await rolePool.end();
      }
    }
  });

  it("Pool.query() with poolQueryViaFetch reaches the endpoint's own Postgres, though the driver sends no port", async () => {
    const forwarder = await countingForwarder();
    // An endpoint whose Postgres is reachable only through the forwarder's port.
    const own = await startNeonEndpoint({ port: 0, postgresPort: forwarder.port });
    const url = new URL(connStr);
    url.port = String(forwarder.port);
    const viaFetch = new Pool({ connectionString: url.toString() });
    try {
      neonConfig.fetchEndpoint = own.fetchEndpoint;
      neonConfig.poolQueryViaFetch = true;
      const result = await viaFetch.query<{ db: string; one: number }>("SELECT current_database() AS db, $1::int AS one", [1]);
      expect((result as { viaNeonFetch?: boolean }).viaNeonFetch).toBe(true);
      expect(result.rows).toEqual([{ db: dbName, one: 1 }]);
      expect(forwarder.connections()).toBeGreaterThan(0);
    } finally {
      neonConfig.poolQueryViaFetch = false;
      neonConfig.fetchEndpoint = endpoint.fetchEndpoint;
      await viaFetch.end();
      await own.close();
      await forwarder.close();
    }
  });
});

describe("neon() over HTTP", () => {
  it("runs tagged-template queries with params", async () => {
    const sql = neon(connStr);
    const rows = await sql`SELECT ${41}::int + 1 AS answer, ${"hi"}::text AS greeting`;
    expect(rows).toEqual([{ answer: 42, greeting: "hi" }]);
  });

  it("round-trips jsonb, int8, timestamptz, bytea and null through the driver's own parsers", async () => {
    const sql = neon(connStr);
    const doc = { a: 1, nested: { list: [1, "two", null], flag: true } };
    const when = new Date("2024-02-29T12:34:56.789Z");
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    const [row] = await sql`
      SELECT ${doc}::jsonb AS doc,
             9007199254740993::int8 AS big,
             ${when}::timestamptz AS at,
             ${bytes}::bytea AS bin,
             ${null}::text AS nothing,
             true AS yes,
             1.5::float8 AS half`;
    expect(row?.doc).toEqual(doc);
    // node-postgres (and so the driver) returns int8 as a string to keep precision.
    expect(row?.big).toBe("9007199254740993");
    expect(row?.at).toBeInstanceOf(Date);
    expect((row?.at as Date).toISOString()).toBe(when.toISOString());
    expect(row?.bin).toBeInstanceOf(Uint8Array);
    expect([...(row?.bin as Uint8Array)]).toEqual([...bytes]);
    expect(row?.nothing).toBeNull();
    expect(row?.yes).toBe(true);
    expect(row?.half).toBe(1.5);
  });

  it("runs /sql sessions in UTC", async () => {
    const sql = neon(connStr);
    const rows = await sql`SELECT setting, source FROM pg_settings WHERE name = 'TimeZone'`;
    // source 'client' proves the endpoint set it, rather than the server happening to default to UTC.
    expect(rows).toEqual([{ setting: "UTC", source: "client" }]);
  });

  it("honours arrayMode and fullResults", async () => {
    const arrays = neon(connStr, { arrayMode: true });
    expect(await arrays`SELECT 1 AS one, 'a' AS letter`).toEqual([[1, "a"]]);

    const full = neon(connStr, { fullResults: true });
    const result = await full`SELECT 1 AS one, 'a' AS letter`;
    expect(result.rows).toEqual([{ one: 1, letter: "a" }]);
    expect(result.command).toBe("SELECT");
    expect(result.rowCount).toBe(1);
    expect(result.rowAsArray).toBe(false);
    expect(result.fields.map((field) => [field.name, field.dataTypeID])).toEqual([
      ["one", 23],
      ["letter", 25],
    ]);

    const sql = neon(connStr);
    const both = await sql.query("SELECT $1::int AS n", [7], { arrayMode: true, fullResults: true });
    expect(both.rows).toEqual([[7]]);
    expect(both.rowAsArray).toBe(true);
  });

  it("reports rowCount for writes", async () => {
    const sql = neon(connStr, { fullResults: true });
    const result = await sql`INSERT INTO items (sku, qty) VALUES ('rc-1', 1), ('rc-2', 2)`;
    expect(result.command).toBe("INSERT");
    expect(result.rowCount).toBe(2);
  });

  it("commits every statement of a transaction()", async () => {
    const sql = neon(connStr);
    const [first, second] = await sql.transaction([
      sql`INSERT INTO items (sku, qty) VALUES ('tx-a', 1) RETURNING sku`,
      sql`INSERT INTO items (sku, qty) VALUES ('tx-b', 2) RETURNING sku`,
    ]);
    expect(first).toEqual([{ sku: "tx-a" }]);
    expect(second).toEqual([{ sku: "tx-b" }]);
    const rows = await sql`SELECT sku FROM items WHERE sku IN ('tx-a', 'tx-b') ORDER BY sku`;
    expect(rows).toEqual([{ sku: "tx-a" }, { sku: "tx-b" }]);
  });

  it("rolls a failing transaction() back entirely and surfaces code and constraint", async () => {
    const sql = neon(connStr);
    await sql`INSERT INTO items (sku, qty) VALUES ('dup', 1)`;
    const error = await rejection(
      sql.transaction([
        sql`INSERT INTO items (sku, qty) VALUES ('rolled-back', 1)`,
        sql`INSERT INTO items (sku, qty) VALUES ('dup', 2)`,
      ]),
    );
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code: "23505", constraint: "items_sku_key", table: "items", severity: "ERROR" });
    expect(await sql`SELECT 1 FROM items WHERE sku = 'rolled-back'`).toEqual([]);
  });

  it("applies isolation level and read-only transaction options", async () => {
    const sql = neon(connStr);
    const [rows] = await sql.transaction(
      [sql`SELECT current_setting('transaction_isolation') AS level, current_setting('transaction_read_only') AS ro`],
      { isolationLevel: "Serializable", readOnly: true, deferrable: true },
    );
    expect(rows).toEqual([{ level: "serializable", ro: "on" }]);

    const error = await rejection(
      sql.transaction([sql`INSERT INTO items (sku, qty) VALUES ('ro', 1)`], { readOnly: true }),
    );
    expect(error).toMatchObject({ code: "25006" });
  });

  it("surfaces a syntax error as code 42601", async () => {
    const sql = neon(connStr);
    const error = await rejection(sql.query("SELEC 1"));
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code: "42601", position: "1" });
  });

  it("handles concurrent requests beyond the server-side pool size", async () => {
    const sql = neon(connStr);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => sql`SELECT ${i}::int AS i`));
    expect(results.map((rows) => rows[0]?.i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it("reports an unreachable database without hanging", async () => {
    const sql = neon("postgresql://postgres@127.0.0.1:1/nowhere");
    const error = await rejection(sql`SELECT 1`);
    expect(error).toBeInstanceOf(NeonDbError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it("refuses a non-loopback database host over HTTP", async () => {
    const sql = neon("postgresql://postgres@10.0.0.1:5432/test");
    const started = Date.now();
    const error = await rejection(sql`SELECT 1`);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((error as Error).message).toMatch(/non-loopback/);
  });

  it("answers clients that ask for neither raw text nor array mode with JSON-native object rows", async () => {
    const response = await fetch(endpoint.fetchEndpoint, {
      method: "POST",
      headers: { "Neon-Connection-String": connStr },
      body: JSON.stringify({ query: "SELECT 1 AS n, true AS b, '{\"k\":1}'::jsonb AS j, 5::int8 AS big, $1::text AS t", params: ["x"] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      command: "SELECT",
      rowCount: 1,
      rowAsArray: false,
      rows: [{ n: 1, b: true, j: { k: 1 }, big: "5", t: "x" }],
    });
  });

  it("answers bad requests with HTTP 400 JSON", async () => {
    const badJson = await fetch(endpoint.fetchEndpoint, {
      method: "POST",
      headers: { "Neon-Connection-String": connStr },
      body: "{not json",
    });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({ message: expect.stringMatching(/JSON/) });

    const noConnection = await fetch(endpoint.fetchEndpoint, { method: "POST", body: '{"query":"SELECT 1"}' });
    expect(noConnection.status).toBe(400);
  });
});

describe("Pool and Client over WebSocket", () => {
  it("commits an interactive transaction with SELECT ... FOR UPDATE", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ balance: number }>("SELECT balance FROM accounts WHERE id = $1 FOR UPDATE", [1]);
      expect(rows).toEqual([{ balance: 100 }]);
      await client.query("UPDATE accounts SET balance = $1 WHERE id = $2", [(rows[0]?.balance ?? 0) - 30, 1]);
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const sql = neon(connStr);
    expect(await sql`SELECT balance FROM accounts WHERE id = 1`).toEqual([{ balance: 70 }]);
  });

  it("rolls an interactive transaction back", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT balance FROM accounts WHERE id = 2 FOR UPDATE");
      await client.query("UPDATE accounts SET balance = 0 WHERE id = 2");
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
    const { rows } = await pool.query("SELECT balance FROM accounts WHERE id = 2");
    expect(rows).toEqual([{ balance: 100 }]);
  });

  it("surfaces database errors with their code on a pooled client", async () => {
    const error = await rejection(pool.query("INSERT INTO accounts VALUES (1, 0)"));
    expect(error).toMatchObject({ code: "23505", constraint: "accounts_pkey" });
  });

  it("connects, queries and ends a Client, in UTC like /sql", async () => {
    const client = new Client(connStr);
    await client.connect();
    const { rows } = await client.query<{ tz: string; source: string; db: string; at: Date }>(
      `SELECT setting AS tz, source, current_database() AS db, $1::timestamptz AS at
         FROM pg_settings WHERE name = 'TimeZone'`,
      [new Date("2024-01-01T00:00:00Z")],
    );
    // source 'client': the relay injected the option into the startup message.
    expect(rows).toEqual([{ tz: "UTC", source: "client", db: dbName, at: new Date("2024-01-01T00:00:00Z") }]);
    await client.end();
  });

  it("lets a client's own options override the UTC default", async () => {
    const client = new Client({ connectionString: connStr, options: "-c TimeZone=Asia/Tokyo" });
    await client.connect();
    try {
      const { rows } = await client.query<{ tz: string }>("SELECT current_setting('TimeZone') AS tz");
      expect(rows).toEqual([{ tz: "Asia/Tokyo" }]);
    } finally {
      await client.end();
    }
  });

  it("refuses a non-loopback target before connecting to it", async () => {
    const started = Date.now();
    const status = await new Promise<number | string>((resolve) => {
      const ws = new WebSocket(`ws://${endpoint.wsProxy}?address=10.0.0.1:5432`);
      ws.once("unexpected-response", (_req, res) => {
        resolve(res.statusCode ?? "no status");
        ws.terminate();
      });
      ws.once("open", () => {
        resolve("open");
        ws.terminate();
      });
      ws.once("error", (error) => resolve(error.message));
    });
    expect(status).toBe(403);
    expect(Date.now() - started).toBeLessThan(1_000);

    const client = new Client("postgresql://postgres@10.0.0.1:5432/test");
    client.on("error", () => {});
    const refusedAt = Date.now();
    await expect(client.connect()).rejects.toBeDefined();
    expect(Date.now() - refusedAt).toBeLessThan(1_000);
  });

  it("fails the handshake for malformed or unreachable relay targets", async () => {
    const handshake = (query: string): Promise<number | string> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://${endpoint.wsProxy}?${query}`);
        ws.once("unexpected-response", (_req, res) => {
          resolve(res.statusCode ?? "no status");
          ws.terminate();
        });
        ws.once("open", () => {
          resolve("open");
          ws.terminate();
        });
        ws.once("error", (error) => resolve(error.message));
      });
    expect(await handshake("address=nonsense")).toBe(400);
    expect(await handshake("address=127.0.0.1:1")).toBe(502);
  });
});
