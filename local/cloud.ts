import { randomBytes } from "node:crypto";
import pg from "pg";
import { startBackingServers } from "./backing";
import type { BackingServers, EmbeddedMode } from "./backing";
import { startNeonEndpoint } from "./neon-endpoint";
import type { NeonEndpoint } from "./neon-endpoint";
import { createMemoryRedisBackend } from "./redis-memory-backend";
import { connectRedisBackend } from "./redis-server-backend";
import type { RedisBackend } from "./redis-backend";
import { startLocalSqs } from "./sqs";
import type { LocalSqs } from "./sqs";
import { queueUrlEnvName } from "./sst-manifest";
import type { QueueDecl } from "./sst-manifest";
import { startUpstashEndpoint } from "./upstash-endpoint";
import type { UpstashEndpoint } from "./upstash-endpoint";

/** Env lines that point the production clients at the local cloud (DATABASE_URL is per database). */
export interface LocalCloudEnv {
  readonly UPSTASH_REDIS_REST_URL: string;
  readonly UPSTASH_REDIS_REST_TOKEN: string;
  readonly NEON_FETCH_ENDPOINT: string;
  readonly NEON_WS_PROXY: string;
  readonly SQS_ENDPOINT: string;
  readonly AWS_REGION: string;
  readonly [queueUrl: `${string}_URL`]: string;
}

export interface LocalCloud {
  readonly env: LocalCloudEnv;
  readonly backing: BackingServers;
  readonly redisBackend: RedisBackend;
  readonly sqs: LocalSqs;
  /** Queue name -> URL, for every queue declared in sst.config.ts (and any extra). */
  readonly queueUrls: Readonly<Record<string, string>>;
  /** Connection string of `name` on the backing Postgres, creating the database if needed. */
  ensureDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export interface LocalCloudOptions {
  readonly queues?: readonly QueueDecl[];
  readonly forceEmbedded?: EmbeddedMode;
  readonly log?: (line: string) => void;
  /** Fixed ports for `npm start`; tests leave them to the OS. */
  readonly ports?: { readonly upstash?: number; readonly neon?: number; readonly sqs?: number };
  /** Aborting (Ctrl-C) stops the start-up after the step in progress and stops what it started. */
  readonly signal?: AbortSignal;
}

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function databaseUrl(maintenanceUrl: string, name: string): string {
  const url = new URL(maintenanceUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** What a start-up has started so far, stopped in reverse order (by stop() or a failed start). */
class StartedParts {
  private readonly steps: (() => Promise<void>)[] = [];

  constructor(private readonly signal: AbortSignal | undefined) {}

  /** Records how to stop a part just started; an abort (Ctrl-C) then ends the start-up here. */
  add<T>(part: T, stop: (part: T) => Promise<void>): T {
    this.steps.push(() => stop(part));
    this.signal?.throwIfAborted();
    return part;
  }

  readonly stopAll = async (): Promise<void> => {
    for (const step of this.steps.splice(0).reverse()) await step().catch(() => undefined);
  };
}

/**
 * Starts, on 127.0.0.1, everything the production clients talk to: an Upstash REST endpoint and a
 * Neon SQL/WebSocket endpoint in front of real Redis and Postgres, and an SQS emulator with the
 * declared queues. Whatever it started, stop() stops, in reverse order.
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const parts = new StartedParts(options.signal);
  try {
    const backing = parts.add(await startBackingServers(backingOptions(options)), (started) => started.stop());
    const redisBackend = parts.add(backing.redisUrl ? await connectRedisBackend(backing.redisUrl) : createMemoryRedisBackend(), (started) => started.close());
    const upstash = parts.add(await startUpstashEndpoint({ backend: redisBackend, token: randomBytes(24).toString("base64url"), ...portOption(options.ports?.upstash) }), (started) => started.close());
    const neon = parts.add(
      await startNeonEndpoint({ postgresPort: Number(new URL(backing.databaseUrl).port || 5432), ...portOption(options.ports?.neon) }),
      (started) => started.close(),
    );
    const sqs = parts.add(await startLocalSqs(portOption(options.ports?.sqs)), (started) => started.close());
    const queueUrls = await sqs.createQueues((options.queues ?? []).map(queueOptions));
    const admin = parts.add(adminPool(backing.databaseUrl), (pool) => pool.end());
    const env = cloudEnvOf(upstash, neon, sqs, queueUrls);
    return { env, backing, redisBackend, sqs, queueUrls, ensureDatabase: (name) => ensureDatabase(admin, backing.databaseUrl, name), stop: parts.stopAll };
  } catch (error) {
    await parts.stopAll();
    throw error;
  }
}

function backingOptions(options: LocalCloudOptions): Parameters<typeof startBackingServers>[0] {
  return {
    ...(options.forceEmbedded !== undefined ? { forceEmbedded: options.forceEmbedded } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

function portOption(port: number | undefined): { port?: number } {
  return port !== undefined ? { port } : {};
}

function queueOptions(queue: QueueDecl) {
  return { name: queue.name, visibilityTimeoutSeconds: queue.visibilityTimeoutSeconds, ...(queue.dlq ? { dlq: queue.dlq } : {}) };
}

function cloudEnvOf(upstash: UpstashEndpoint, neon: NeonEndpoint, sqs: { endpoint: string; region: string }, queueUrls: Record<string, string>): LocalCloudEnv {
  return {
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    NEON_FETCH_ENDPOINT: neon.fetchEndpoint,
    NEON_WS_PROXY: neon.wsProxy,
    SQS_ENDPOINT: sqs.endpoint,
    AWS_REGION: sqs.region,
    ...Object.fromEntries(Object.entries(queueUrls).map(([name, url]) => [queueUrlEnvName(name), url])),
  };
}

function adminPool(maintenanceUrl: string): pg.Pool {
  const admin = new pg.Pool({ connectionString: maintenanceUrl, max: 2, idleTimeoutMillis: 1_000 });
  // An idle client dies when Postgres stops (Ctrl-C reaches the embedded server too); the pool
  // drops it, and without a listener the 'error' event would take the process down.
  admin.on("error", () => {});
  return admin;
}

async function ensureDatabase(admin: pg.Pool, maintenanceUrl: string, name: string): Promise<string> {
  if (!DATABASE_NAME.test(name)) throw new Error(`invalid database name: ${name}`);
  const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
  if (!rowCount) {
    await admin.query(`CREATE DATABASE "${name}"`).catch((error: { code?: string }) => {
      // Another process created it between our check and our CREATE.
      if (error.code !== "42P04" && error.code !== "23505") throw error;
    });
  }
  return databaseUrl(maintenanceUrl, name);
}
