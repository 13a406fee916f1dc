import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { issueAccessToken } from "../core/auth/tokens";
import { createSql } from "../core/db/neon";
import { RedisKeys } from "../core/redis/keys";
import { createUpstashRedis } from "../core/redis/upstash";
import { embeddedModeFromEnv } from "../local/backing";
import { startLocalCloud } from "../local/cloud";
import type { LocalCloud } from "../local/cloud";
import { migrateDatabase } from "../local/database";
import { startDevServer } from "../local/dev-server";
import type { DevServer } from "../local/dev-server";
import { loadSstManifest, resolveHandler } from "../local/sst-manifest";
import type { RouteDecl, SstManifest } from "../local/sst-manifest";
import { formatTable } from "../scripts/text-table";
import type { BenchContext, Details, Workload, WorkloadResult } from "./workload";
import { floorWorkloads } from "./workloads/floors";
import { importWorkloads } from "./workloads/imports";
import { importScaleWorkloads } from "./workloads/import-scale";
import { lookupWorkloads } from "./workloads/lookups";
import { positionViewWorkloads } from "./workloads/position-views";
import { positionWorkloads } from "./workloads/positions";
import { provisioningWorkloads } from "./workloads/provisioning";
import { settingsWorkloads } from "./workloads/settings";
import { syncWorkloads } from "./workloads/sync";

/** Every workload, floors first so ratios can be computed in the same run. */
const workloads: readonly Workload[] = [...floorWorkloads, ...lookupWorkloads, ...provisioningWorkloads, ...positionViewWorkloads, ...positionWorkloads, ...settingsWorkloads, ...syncWorkloads, ...importWorkloads, ...importScaleWorkloads];

const JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123";

/**
 * Every key a run writes starts with this (`bench:` by default); runs by two people on one shared
 * Redis give different prefixes, or each one's clean-up deletes the other's seeded keys.
 */
const KEY_PREFIX = process.env.BENCH_KEY_PREFIX ?? "bench:";

interface Row extends WorkloadResult {
  readonly name: string;
  readonly floor: string | null;
  readonly floorMedianMs: number | null;
  readonly ratio: number | null;
  readonly targetRatio: number | null;
  readonly verdict: "ok" | "MISS" | "-";
}

/** Routes that exist only in the bench: the floors of the HTTP workloads. */
function benchRoutes(): RouteDecl[] {
  const route = (path: string, spec: string): RouteDecl => ({
    method: "GET",
    path,
    function: { handler: resolveHandler(resolve("."), spec), timeoutSeconds: 10, memoryMb: 512, environment: {} },
  });
  return [route("/bench/noop", "bench/fixtures/noop-route.handler"), route("/bench/redis-get", "bench/fixtures/redis-get-route.handler")];
}

/** The environment the in-process handlers read, as a deployed stage would give it (plus bench-only knobs). */
async function prepareEnvironment(cloud: LocalCloud): Promise<string> {
  const databaseUrl = await cloud.ensureDatabase("botstate_bench");
  await migrateDatabase(cloud.env, databaseUrl);
  // One Node process here plays what Lambda spreads over up to 100 containers: at 100 connections
  // its event loop queues for tens of ms, which a 100 ms Redis timeout would misread as Redis being
  // slow (opening the cache breaker). The production default stays 100 ms; override to compare.
  process.env.LOOKUP_CACHE_TIMEOUT_MS ??= "1000";
  // The same for the shared read-through cache (core/cache; production default 200 ms).
  process.env.CACHE_STORE_TIMEOUT_MS ??= "1000";
  // EMF lines go to CloudWatch in AWS; here they would only flood the terminal.
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  Object.assign(process.env, cloud.env, {
    DATABASE_URL: databaseUrl,
    JWT_SECRET,
    LOG_LEVEL: "ERROR",
    REDIS_KEY_PREFIX: KEY_PREFIX,
    PROVISIONING_QUEUE_URL: cloud.queueUrls.ProvisioningQueue ?? "",
  });
  return databaseUrl;
}

async function benchContext(cloud: LocalCloud, server: DevServer, manifest: SstManifest, databaseUrl: string, scale: number): Promise<BenchContext> {
  const tokenOptions = { secret: JWT_SECRET, issuer: "botstate" };
  return {
    apiUrl: server.url,
    redis: createUpstashRedis({ url: cloud.env.UPSTASH_REDIS_REST_URL, token: cloud.env.UPSTASH_REDIS_REST_TOKEN, retries: 0 }),
    sql: createSql({ databaseUrl, fetchEndpoint: cloud.env.NEON_FETCH_ENDPOINT, wsProxy: cloud.env.NEON_WS_PROXY }),
    keys: new RedisKeys(KEY_PREFIX),
    serviceToken: await issueAccessToken(tokenOptions, { role: "service", subject: "bench", ttlSeconds: 3600 }, new Date()),
    adminToken: await issueAccessToken(tokenOptions, { role: "admin", subject: "bench", ttlSeconds: 3600 }, new Date()),
    manifest,
    scale,
  };
}

/** A workload's row: its floor (named, or measured as it ran), the ratio and the verdict. */
function toRow(workload: Workload, result: WorkloadResult, earlier: ReadonlyMap<string, WorkloadResult>): Row {
  const floorNames = workload.floor ?? [];
  const floorMedians = floorNames.map((name) => earlier.get(name)?.medianMs);
  const namedFloor = floorNames.length > 0 && floorMedians.every((median) => median !== undefined)
    ? { name: floorNames.join(" + "), medianMs: floorMedians.reduce<number>((sum, median) => sum + (median ?? 0), 0) }
    : null;
  const floor = result.measuredFloor ?? namedFloor;
  const ratio = floor ? Math.round((result.medianMs / floor.medianMs) * 100) / 100 : null;
  const targetRatio = workload.targetRatio ?? null;
  const checks = [...(targetRatio !== null && ratio !== null ? [ratio <= targetRatio] : []), ...(result.ownTarget ? [result.ownTarget.met] : [])];
  const verdict = checks.length === 0 ? "-" : checks.every(Boolean) && (result.errors ?? 0) === 0 ? "ok" : "MISS";
  return { name: workload.name, ...result, floor: floor?.name ?? null, floorMedianMs: floor?.medianMs ?? null, ratio, targetRatio, verdict };
}

async function runWorkloads(selected: readonly Workload[], context: BenchContext): Promise<Row[]> {
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
    rows.push(toRow(workload, result, results));
  }
  return rows;
}

function targetText(row: Row): string {
  const parts = [...(row.targetRatio === null ? [] : [`<= ${row.targetRatio}x`]), ...(row.ownTarget ? [row.ownTarget.label] : [])];
  return parts.length > 0 ? parts.join(", ") : "-";
}

function printTables(rows: readonly Row[]): void {
  const header = ["workload", "median ms", "p95 ms", "p99 ms", "ops/s", "floor", "ratio", "target", "verdict", "extra"];
  const lines = rows.map((row) => [
    row.name,
    row.medianMs.toFixed(3),
    row.p95Ms.toFixed(3),
    row.p99Ms.toFixed(3),
    String(row.opsPerSec),
    row.floor ?? "-",
    row.ratio === null ? "-" : `${row.ratio.toFixed(2)}x`,
    targetText(row),
    row.verdict,
    Object.entries(row.extra ?? {}).map(([key, value]) => `${key}=${value}`).join(" "),
  ]);
  console.log(formatTable(header, lines).join("\n"));
  for (const details of rows.map((row) => row.details).filter((entry): entry is Details => entry !== undefined)) {
    console.log(`\n${details.title}\n${formatTable(details.header, details.rows).join("\n")}`);
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

async function writeResults(cloud: LocalCloud, scale: number, rows: readonly Row[]): Promise<void> {
  const results = { date: new Date().toISOString(), node: process.version, scale, redis: cloud.backing.redisSource, postgres: cloud.backing.postgresSource, workloads: rows };
  await mkdir(resolve("bench"), { recursive: true });
  await writeFile(resolve("bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log("\nwritten: bench/results.json");
}

/** `npm run bench [-- [--no-floors] name ...]`: the named workloads (and every floor), or all of them. */
async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));
  // A floor is a workload with neither a floor nor a target of its own; every run measures them all.
  const isFloor = (w: Workload) => (w.floor ?? []).length === 0 && w.targetRatio === undefined && w.ownFloor !== true;
  // --no-floors: only the named workloads (for those that measure their own floor as they run).
  const floors = !process.argv.includes("--no-floors");
  const selected = only.length > 0 ? workloads.filter((w) => only.includes(w.name) || (floors && isFloor(w))) : workloads;
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  const manifest = await loadSstManifest();
  const cloud = await startLocalCloud({ queues: manifest.queues, forceEmbedded: embeddedModeFromEnv(), log: (line) => console.error(line) });
  try {
    const databaseUrl = await prepareEnvironment(cloud);
    const server = await startDevServer({ routes: [...manifest.routes, ...benchRoutes()] });
    const context = await benchContext(cloud, server, manifest, databaseUrl, scale);
    const rows = await runWorkloads(selected, context);
    await server.close();
    await removeBenchKeys(context);
    printTables(rows);
    await writeResults(cloud, scale, rows);
  } finally {
    await cloud.stop();
  }
}

await main();
