import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { startEmbeddedPostgres } from "./embedded-postgres";
import { createTail, findOnPath, freePort, sleep, withTimeout } from "./processes";

export interface BackingServers {
  /** redis:// URL of a real Redis, or null => caller uses the in-process engine (ioredis-mock, owned by another module) */
  readonly redisUrl: string | null;
  readonly redisSource: "env" | "local" | "spawned" | "memory";
  /** postgres:// URL of a maintenance database on a real PostgreSQL server, superuser-capable (CREATE DATABASE allowed) */
  readonly databaseUrl: string;
  readonly postgresSource: "env" | "local" | "embedded";
  /** Stops only what this call started; idempotent. */
  stop(): Promise<void>;
}

/**
 * - `true`: ignore REDIS_URL/DATABASE_URL and servers already on :6379/:5432, so a fresh machine is
 *   reproduced anywhere: embedded PostgreSQL, plus a spawned redis-server (in-process engine if none on PATH).
 * - `"memory"`: the same, but Redis is always the in-process engine, to exercise that engine on purpose.
 */
export type EmbeddedMode = boolean | "memory";

export interface StartBackingOptions {
  /** Defaults to {@link embeddedModeFromEnv}(env), i.e. BOTSTATE_EMBEDDED=1 or =memory. */
  forceEmbedded?: EmbeddedMode;
  /** Parent directory for embedded data directories; defaults to `<project>/.local` (git-ignored). */
  dataDir?: string;
  log?: (line: string) => void;
  /** Where REDIS_URL, DATABASE_URL, BOTSTATE_EMBEDDED and PATH are read; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Aborting (Ctrl-C during `npm start`) stops the start-up after the step in progress and removes what it created. */
  signal?: AbortSignal;
}

/** BOTSTATE_EMBEDDED: "1"/"true" => true, "memory" => "memory", anything else => false. */
export function embeddedModeFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): EmbeddedMode {
  const raw = env.BOTSTATE_EMBEDDED?.trim().toLowerCase();
  if (raw === "memory") return "memory";
  return raw === "1" || raw === "true" || raw === "yes";
}

const LOOPBACK = "127.0.0.1";
const DEFAULT_REDIS_PORT = 6379;
const DEFAULT_PG_PORT = 5432;
const PROBE_TIMEOUT_MS = 300;
const REDIS_READY_TIMEOUT_MS = 10_000;
const PROCESS_EXIT_TIMEOUT_MS = 10_000;
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface Started<Source extends string> {
  readonly url: string | null;
  readonly source: Source;
  stop(): Promise<void>;
}

const nothingToStop = async (): Promise<void> => {};

export async function startBackingServers(options: StartBackingOptions = {}): Promise<BackingServers> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const mode = options.forceEmbedded ?? embeddedModeFromEnv(env);
  const dataDir = options.dataDir ?? join(PROJECT_ROOT, ".local");

  // Started side by side: initdb dominates, and a spawned redis-server is ready long before it.
  const [redis, postgres] = await Promise.allSettled([
    chooseRedis(env, mode, log),
    choosePostgres(env, mode, log, { parentDir: dataDir, log, path: env.PATH ?? process.env.PATH, signal: options.signal }),
  ]);
  if (redis.status === "rejected" || postgres.status === "rejected") {
    await Promise.allSettled([redis, postgres].map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw redis.status === "rejected" ? redis.reason : postgres.status === "rejected" ? postgres.reason : undefined;
  }
  if (options.signal?.aborted) {
    await Promise.allSettled([redis.value.stop(), postgres.value.stop()]);
    throw options.signal.reason;
  }
  const databaseUrl = postgres.value.url;
  if (databaseUrl === null) throw new Error("unreachable: postgres always has a URL");

  let stopping: Promise<void> | undefined;
  return {
    redisUrl: redis.value.url,
    redisSource: redis.value.source,
    databaseUrl,
    postgresSource: postgres.value.source,
    stop() {
      stopping ??= Promise.allSettled([redis.value.stop(), postgres.value.stop()]).then((results) => {
        const failed = results.find((r) => r.status === "rejected");
        if (failed) throw failed.reason;
      });
      return stopping;
    },
  };
}

// ---------------------------------------------------------------------------------------------- redis

/**
 * Redis alone, chosen as {@link startBackingServers} chooses it: for what needs no Postgres (the
 * @upstash/redis yardstick). `url` null means the in-process engine.
 */
export async function startRedisBacking(
  options: Pick<StartBackingOptions, "forceEmbedded" | "log" | "env"> = {},
): Promise<{ readonly url: string | null; readonly source: BackingServers["redisSource"]; stop(): Promise<void> }> {
  const env = options.env ?? process.env;
  return chooseRedis(env, options.forceEmbedded ?? embeddedModeFromEnv(env), options.log ?? (() => {}));
}

async function chooseRedis(
  env: Readonly<Record<string, string | undefined>>,
  mode: EmbeddedMode,
  log: (line: string) => void,
): Promise<Started<BackingServers["redisSource"]>> {
  if (mode === "memory") {
    log("redis: BOTSTATE_EMBEDDED=memory, using the in-process engine");
    return { url: null, source: "memory", stop: nothingToStop };
  }
  if (!mode) {
    const fromEnv = nonEmpty(env.REDIS_URL);
    if (fromEnv) {
      log(`redis: using REDIS_URL ${redact(fromEnv)}`);
      return { url: fromEnv, source: "env", stop: nothingToStop };
    }
    if (await redisAnswers(LOOPBACK, DEFAULT_REDIS_PORT, PROBE_TIMEOUT_MS)) {
      const url = `redis://${LOOPBACK}:${DEFAULT_REDIS_PORT}`;
      log(`redis: using the server already listening on ${url}`);
      return { url, source: "local", stop: nothingToStop };
    }
  }
  const binary = await findOnPath("redis-server", env.PATH ?? process.env.PATH);
  if (binary === null) {
    log("redis: no server found and no redis-server on PATH, using the in-process engine");
    return { url: null, source: "memory", stop: nothingToStop };
  }
  const spawned = await spawnRedisRetrying(binary);
  log(`redis: started ${binary} (pid ${spawned.pid}) on ${spawned.url}`);
  return { url: spawned.url, source: "spawned", stop: spawned.stop };
}

/** freePort() releases the port before redis-server binds it; another process can win that race, so retry. */
async function spawnRedisRetrying(binary: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnRedis(binary);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

async function spawnRedis(binary: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    binary,
    // No persistence: it's a scratch server, and RDB/AOF files would land in the working directory.
    ["--port", String(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
    // cwd "/": it writes nothing, and os.tmpdir() may point into a cluster folder meanwhile (embedded-postgres.ts).
    { stdio: ["ignore", "pipe", "pipe"], cwd: "/" },
  );
  const output = captureTail(child);
  const exited = exitPromise(child);
  const pid = child.pid;
  if (pid === undefined) {
    await exited;
    throw new Error(`redis-server failed to spawn: ${output()}`);
  }
  // Node does not take children down with it; without this a crashed dev server leaks redis-servers.
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener("exit", killOnExit);
    await terminate(child, exited, "SIGTERM");
  };

  const deadline = Date.now() + REDIS_READY_TIMEOUT_MS;
  while (!(await redisAnswers(LOOPBACK, port, PROBE_TIMEOUT_MS))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${port} did not answer PING: ${output()}`);
    }
    await sleep(20);
  }
  return { url: `redis://${LOOPBACK}:${port}`, pid, stop };
}

/** True when a RESP PING gets +PONG back; -NOAUTH and friends count as unusable, since we'd hand out a URL without a password. */
function redisAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolvePing) => {
    const socket = connect({ host, port });
    let reply = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolvePing(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("*1\r\n$4\r\nPING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.once("end", () => done(false));
  });
}

// ------------------------------------------------------------------------------------------- postgres

async function choosePostgres(
  env: Readonly<Record<string, string | undefined>>,
  mode: EmbeddedMode,
  log: (line: string) => void,
  embeddedOptions: Parameters<typeof startEmbeddedPostgres>[0],
): Promise<Started<BackingServers["postgresSource"]>> {
  if (!mode) {
    const fromEnv = nonEmpty(env.DATABASE_URL);
    if (fromEnv) {
      log(`postgres: using DATABASE_URL ${redact(fromEnv)}`);
      return { url: fromEnv, source: "env", stop: nothingToStop };
    }
    const local = await probeLocalPostgres();
    if (local !== null) {
      log(`postgres: using the server already listening on ${local}`);
      return { url: local, source: "local", stop: nothingToStop };
    }
  }
  const started = Date.now();
  const embedded = await startEmbeddedPostgres(embeddedOptions);
  log(
    `postgres: started embedded PostgreSQL on ${LOOPBACK}:${embedded.port}` +
      ` (data ${embedded.dir}${embedded.runAs ? `, running as OS user ${embedded.runAs}` : ""}, ${Date.now() - started} ms)`,
  );
  return { url: embedded.url, source: "embedded", stop: embedded.stop };
}

/** A server on :5432 only counts if we can log in as postgres without a password and may create databases. */
async function probeLocalPostgres(): Promise<string | null> {
  if (!(await tcpOpen(LOOPBACK, DEFAULT_PG_PORT, PROBE_TIMEOUT_MS))) return null;
  for (const database of ["postgres", "test"]) {
    const url = `postgres://postgres@${LOOPBACK}:${DEFAULT_PG_PORT}/${database}`;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    // An auth failure surfaces both as a rejected connect() and as an 'error' event; the latter must not crash us.
    client.on("error", () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>(
        "SELECT 1 AS one, (rolsuper OR rolcreatedb) AS ok FROM pg_roles WHERE rolname = current_user",
      );
      if (rows[0]?.ok === true) return url;
    } catch {
      // Try the next database; none answering means we embed.
    } finally {
      await client.end().catch(() => {});
    }
  }
  return null;
}

// -------------------------------------------------------------------------------------------- helpers

function nonEmpty(value: string | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}

function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = connect({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolveOpen(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Drains the child's pipes (a full pipe would block it) and keeps the end for error messages. */
function captureTail(child: ChildProcess): () => string {
  const tail = createTail();
  child.stdout?.on("data", (chunk: Buffer) => tail.push(chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => tail.push(chunk.toString("utf8")));
  child.once("error", (error) => tail.push(error.message));
  return tail.text;
}

function exitPromise(child: ChildProcess): Promise<void> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveExit();
    child.once("exit", () => resolveExit());
    // 'exit' never fires when spawning itself failed.
    child.once("error", () => {
      if (child.pid === undefined) resolveExit();
    });
  });
}

async function terminate(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill(signal);
  if (!(await withTimeout(exited, PROCESS_EXIT_TIMEOUT_MS))) {
    child.kill("SIGKILL");
    await exited;
  }
}
