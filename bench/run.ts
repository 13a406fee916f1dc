import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { issueAccessToken } from "../core/auth/tokens";
import { createSql } from "../core/db/neon";
import { RedisKeys } from "../core/redis/keys";
import { createUpstashRedis } from "../core/redis/upstash";
import { embeddedModeFromEnv } from "../local/backing";
import { startLocalCloud } from "../local/cloud";
import { migrateDatabase } from "../local/database";
import { startDevServer } from "../local/dev-server";
import { loadSstManifest, resolveHandler } from "../local/sst-manifest";
import type { BenchContext, Workload, WorkloadResult } from "./workload";
import { floorWorkloads } from "./workloads/floors";
import { lookupWorkloads } from "./workloads/lookups";
import { provisioningWorkloads } from "./workloads/provisioning";

/** Every workload, floors first so ratios can be computed in the same run. */
const workloads: readonly Workload[] = [...floorWorkloads, ...lookupWorkloads, ...provisioningWorkloads];

interface Row extends WorkloadResult {
  readonly name: string;
  readonly floor: string | null;
  readonly floorMedianMs: number | null;
  readonly ratio: number | null;
  readonly targetRatio: number | null;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));
  const selected = only.length > 0 ? workloads.filter((w) => only.includes(w.name) || (w.floor ?? []).length === 0) : workloads;
  const scale = Number(process.env.BENCH_SCALE ?? 1);

  const manifest = await loadSstManifest();
  const cloud = await startLocalCloud({ queues: manifest.queues, forceEmbedded: embeddedModeFromEnv(), log: (line) => console.error(line) });
  try {
    const databaseUrl = await cloud.ensureDatabase("botstate_bench");
    await migrateDatabase(cloud.env, databaseUrl);
    const jwtSecret = "bench-secret-bench-secret-bench-secret-0123";
    // One Node process here plays what Lambda spreads over up to 100 containers: at 100 connections
    // its event loop queues for tens of ms, which a 100 ms Redis timeout would misread as Redis being
    // slow (opening the cache breaker). The production default stays 100 ms; override to compare.
    process.env.LOOKUP_CACHE_TIMEOUT_MS ??= "1000";
    // EMF lines go to CloudWatch in AWS; here they would only flood the terminal.
    process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
    Object.assign(process.env, cloud.env, {
      DATABASE_URL: databaseUrl,
      JWT_SECRET: jwtSecret,
      LOG_LEVEL: "ERROR",
      REDIS_KEY_PREFIX: "bench:",
      PROVISIONING_QUEUE_URL: cloud.queueUrls.ProvisioningQueue ?? "",
    });
    const noop = {
      method: "GET",
      path: "/bench/noop",
      function: { handler: resolveHandler(resolve("."), "bench/fixtures/noop-route.handler"), timeoutSeconds: 10, memoryMb: 512, environment: {} },
    };
    const server = await startDevServer({ routes: [...manifest.routes, noop] });
    const tokenOptions = { secret: jwtSecret, issuer: "botstate" };
    const context: BenchContext = {
      apiUrl: server.url,
      redis: createUpstashRedis({ url: cloud.env.UPSTASH_REDIS_REST_URL, token: cloud.env.UPSTASH_REDIS_REST_TOKEN, retries: 0 }),
      sql: createSql({ databaseUrl, fetchEndpoint: cloud.env.NEON_FETCH_ENDPOINT, wsProxy: cloud.env.NEON_WS_PROXY }),
      keys: new RedisKeys("bench:"),
      serviceToken: await issueAccessToken(tokenOptions, { role: "service", subject: "bench", ttlSeconds: 3600 }, new Date()),
      adminToken: await issueAccessToken(tokenOptions, { role: "admin", subject: "bench", ttlSeconds: 3600 }, new Date()),
      scale,
    };

    const results = new Map<string, WorkloadResult>();
    const rows: Row[] = [];
    for (const workload of selected) {
      if (workload.setup) {
        process.stderr.write(`bench: ${workload.name} setup ...\n`);
        await workload.setup(context);
      }
      process.stderr.write(`bench: ${workload.name} ...\n`);
      const result = await workload.run(context);
      results.set(workload.name, result);
      const floorNames = workload.floor ?? [];
      const floorMedians = floorNames.map((name) => results.get(name)?.medianMs);
      const floorMedianMs = floorNames.length > 0 && floorMedians.every((m) => m !== undefined)
        ? floorMedians.reduce<number>((sum, m) => sum + (m ?? 0), 0)
        : null;
      rows.push({
        name: workload.name,
        ...result,
        floor: floorNames.length > 0 ? floorNames.join(" + ") : null,
        floorMedianMs,
        ratio: floorMedianMs ? Math.round((result.medianMs / floorMedianMs) * 100) / 100 : null,
        targetRatio: workload.targetRatio ?? null,
      });
    }
    await server.close();
    await removeBenchKeys(context);

    printTable(rows);
    await mkdir(resolve("bench"), { recursive: true });
    await writeFile(
      resolve("bench/results.json"),
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, scale, redis: cloud.backing.redisSource, postgres: cloud.backing.postgresSource, workloads: rows }, null, 2)}\n`,
    );
    console.log("\nwritten: bench/results.json");
  } finally {
    await cloud.stop();
  }
}

/** Leaves the shared Redis as it was found: the seeded lookups would otherwise slow every SCAN. */
async function removeBenchKeys({ redis, keys }: BenchContext): Promise<void> {
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, { match: keys.everythingPattern(), count: 1000 });
    if (found.length > 0) await redis.del(...found);
    cursor = String(next);
  } while (cursor !== "0");
}

function printTable(rows: readonly Row[]): void {
  const header = ["workload", "median ms", "p95 ms", "p99 ms", "ops/s", "floor", "ratio", "target", "extra"];
  const lines = rows.map((row) => [
    row.name,
    row.medianMs.toFixed(3),
    row.p95Ms.toFixed(3),
    row.p99Ms.toFixed(3),
    String(row.opsPerSec),
    row.floor ?? "-",
    row.ratio === null ? "-" : `${row.ratio.toFixed(2)}x`,
    row.targetRatio === null ? "-" : `<= ${row.targetRatio}x`,
    Object.entries(row.extra ?? {}).map(([key, value]) => `${key}=${value}`).join(" "),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? "").length)));
  const format = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ");
  console.log(format(header));
  console.log(widths.map((width) => "-".repeat(width)).join("  "));
  for (const line of lines) console.log(format(line));
}

await main();
