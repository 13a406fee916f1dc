import { existsSync } from "node:fs";
import { connect } from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { embeddedModeFromEnv, startBackingServers } from "../../local/backing.js";
import { findOnPath } from "../../local/processes.js";

/** Sends a raw RESP command and returns the first reply line, or the socket error code. */
function resp(port: number, command: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (result: string): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(2_000, () => done("TIMEOUT"));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    socket.once("connect", () => socket.write(command));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("latin1");
      const end = reply.indexOf("\r\n");
      if (end >= 0) done(reply.slice(0, end));
    });
  });
}

/** "open" or the connect error code (ECONNREFUSED once nothing listens). */
function tcpState(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve("TIMEOUT");
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve("open");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function selectOne(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ one: number }>("SELECT 1 AS one");
    return rows[0]?.one;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A machine with only Node and npm has none: the in-process engine stands in for it. */
const redisServerOnPath = (await findOnPath("redis-server", process.env.PATH)) !== null;
const localRedis = (await resp(6379, "*1\r\n$4\r\nPING\r\n")) === "+PONG";
const localPostgres = await selectOne("postgres://postgres@127.0.0.1:5432/postgres").then(
  (one) => one === 1,
  () => false,
);

describe("embeddedModeFromEnv", () => {
  it("maps BOTSTATE_EMBEDDED", () => {
    expect(embeddedModeFromEnv({})).toBe(false);
    expect(embeddedModeFromEnv({ BOTSTATE_EMBEDDED: "0" })).toBe(false);
    expect(embeddedModeFromEnv({ BOTSTATE_EMBEDDED: "1" })).toBe(true);
    expect(embeddedModeFromEnv({ BOTSTATE_EMBEDDED: "true" })).toBe(true);
    expect(embeddedModeFromEnv({ BOTSTATE_EMBEDDED: "memory" })).toBe("memory");
  });
});

describe("startBackingServers", () => {
  it("uses REDIS_URL and DATABASE_URL as given, without touching the network", async () => {
    const lines: string[] = [];
    const env = {
      REDIS_URL: "redis://:secret@redis.invalid:6390/2",
      DATABASE_URL: "postgres://app:hunter2@db.invalid:5433/maint",
    };
    const servers = await startBackingServers({ env, log: (line) => lines.push(line) });
    expect(servers.redisUrl).toBe(env.REDIS_URL);
    expect(servers.redisSource).toBe("env");
    expect(servers.databaseUrl).toBe(env.DATABASE_URL);
    expect(servers.postgresSource).toBe("env");
    expect(lines).toHaveLength(2);
    expect(lines.join("\n")).not.toMatch(/secret|hunter2/);
    await servers.stop();
    await servers.stop();
  });

  it.runIf(localRedis && localPostgres)("finds the servers already listening on 6379 and 5432", async () => {
    const lines: string[] = [];
    const servers = await startBackingServers({ env: {}, log: (line) => lines.push(line) });
    try {
      expect(servers.redisSource).toBe("local");
      expect(servers.redisUrl).toBe("redis://127.0.0.1:6379");
      expect(servers.postgresSource).toBe("local");
      expect(servers.databaseUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:5432\/(postgres|test)$/);
      expect(await selectOne(servers.databaseUrl)).toBe(1);
      expect(lines).toHaveLength(2);
    } finally {
      await servers.stop();
    }
  });

  it("forceEmbedded starts embedded PostgreSQL and a redis-server (the in-process engine without one on PATH), and stop() leaves nothing behind", { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const servers = await startBackingServers({
      forceEmbedded: true,
      // Would be used if forceEmbedded did not skip it.
      env: { DATABASE_URL: "postgres://nobody@db.invalid/x", REDIS_URL: "redis://redis.invalid" },
      log: (line) => lines.push(line),
    });
    let stopped = false;
    try {
      expect(servers.postgresSource).toBe("embedded");
      expect(servers.redisSource).toBe(redisServerOnPath ? "spawned" : "memory");
      expect(lines).toHaveLength(2);
      const pgPort = Number(new URL(servers.databaseUrl).port);
      expect(pgPort).not.toBe(5432);
      const redisPort = servers.redisUrl === null ? null : Number(new URL(servers.redisUrl).port);
      if (redisServerOnPath) expect(redisPort).not.toBe(6379);
      else expect(lines.join("\n")).toMatch(/no redis-server on PATH, using the in-process engine/);

      expect(await selectOne(servers.databaseUrl)).toBe(1);
      // The maintenance URL must allow CREATE DATABASE: tests give every file its own database.
      const admin = new pg.Client({ connectionString: servers.databaseUrl });
      await admin.connect();
      try {
        await admin.query("CREATE DATABASE backing_probe");
        await admin.query("DROP DATABASE backing_probe");
      } finally {
        await admin.end();
      }
      if (redisPort !== null) expect(await resp(redisPort, "*1\r\n$4\r\nPING\r\n")).toBe("+PONG");

      const dataDir = /\(data (\S+?)[,)]/.exec(lines.join("\n"))?.[1];
      expect(dataDir).toMatch(new RegExp(`pg-${pgPort}$`));
      expect(existsSync(dataDir ?? "")).toBe(true);

      await servers.stop();
      stopped = true;
      expect(await tcpState(pgPort)).toBe("ECONNREFUSED");
      if (redisPort !== null) expect(await tcpState(redisPort)).toBe("ECONNREFUSED");
      expect(existsSync(dataDir ?? "")).toBe(false);
      await servers.stop();
    } finally {
      if (!stopped) await servers.stop();
    }
  });
});
