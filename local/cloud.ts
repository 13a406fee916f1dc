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

/**
 * Starts, on 127.0.0.1, everything the production clients talk to: an Upstash REST endpoint and a
 * Neon SQL/WebSocket endpoint in front of real Redis and Postgres, and an SQS emulator with the
 * declared queues. Whatever it started, stop() stops, in reverse order.
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const stack: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stack.splice(0).reverse()) await step().catch(() => undefined);
  };
  const { signal } = options;
  try {
    const backing = await startBackingServers({
      ...(options.forceEmbedded !== undefined ? { forceEmbedded: options.forceEmbedded } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(signal ? { signal } : {}),
    });
    stack.push(() => backing.stop());
    signal?.throwIfAborted();

    const redisBackend = backing.redisUrl ? await connectRedisBackend(backing.redisUrl) : createMemoryRedisBackend();
    stack.push(() => redisBackend.close());
    const upstash: UpstashEndpoint = await startUpstashEndpoint({
      backend: redisBackend,
      token: randomBytes(24).toString("base64url"),
      ...(options.ports?.upstash !== undefined ? { port: options.ports.upstash } : {}),
    });
    stack.push(() => upstash.close());
    signal?.throwIfAborted();

    const neon: NeonEndpoint = await startNeonEndpoint({
      postgresPort: Number(new URL(backing.databaseUrl).port || 5432),
      ...(options.ports?.neon !== undefined ? { port: options.ports.neon } : {}),
    });
    stack.push(() => neon.close());
    signal?.throwIfAborted();

    const sqs = await startLocalSqs(options.ports?.sqs !== undefined ? { port: options.ports.sqs } : {});
    stack.push(() => sqs.close());
    signal?.throwIfAborted();
    const queueUrls = await sqs.createQueues(
      (options.queues ?? []).map((queue) => ({
        name: queue.name,
        visibilityTimeoutSeconds: queue.visibilityTimeoutSeconds,
        ...(queue.dlq ? { dlq: queue.dlq } : {}),
      })),
    );

    const env: LocalCloudEnv = {
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      NEON_FETCH_ENDPOINT: neon.fetchEndpoint,
      NEON_WS_PROXY: neon.wsProxy,
      SQS_ENDPOINT: sqs.endpoint,
      AWS_REGION: sqs.region,
      ...Object.fromEntries(Object.entries(queueUrls).map(([name, url]) => [queueUrlEnvName(name), url])),
    };

    const admin = new pg.Pool({ connectionString: backing.databaseUrl, max: 2, idleTimeoutMillis: 1_000 });
    // An idle client dies when Postgres stops (Ctrl-C reaches the embedded server too); the pool
    // drops it, and without a listener the 'error' event would take the process down.
    admin.on("error", () => {});
    stack.push(() => admin.end());
    signal?.throwIfAborted();
    return {
      env,
      backing,
      redisBackend,
      sqs,
      queueUrls,
      ensureDatabase: async (name) => {
        if (!DATABASE_NAME.test(name)) throw new Error(`invalid database name: ${name}`);
        const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
        if (!rowCount) {
          await admin.query(`CREATE DATABASE "${name}"`).catch((error: { code?: string }) => {
            // Another process created it between our check and our CREATE.
            if (error.code !== "42P04" && error.code !== "23505") throw error;
          });
        }
        return databaseUrl(backing.databaseUrl, name);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
