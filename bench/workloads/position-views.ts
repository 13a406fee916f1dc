import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PositionKeys } from "../../core/redis/keys";
import type { Database } from "../../core/db/database";
import type { CacheMetricsSnapshot } from "../../core/cache/metrics";
import { runInterleavedOpenLoads } from "../open-loop";
import { summarize } from "../stats";
import type { BenchContext, Workload } from "../workload";
import { floorRouteLoad, OPEN_LOOP } from "./floors";
import { LOOKUP_USERS, mulberry32, openRow, seedLookupUsers, userIdOf, zipfSampler } from "./lookups";

/**
 * `positions-open-loop` (issue #10): 100 virtual users at a fixed arrival rate, 60 % position
 * lists, 20 % reconciliation summaries, 20 % drawdown guards, over the 10,000 seeded users with
 * Zipf(s=1) popularity, against the `route-redis-get` floor in alternating slices of the same shape.
 * Every user has one open position (Redis), three reconciliation events and two equity snapshots.
 */

let seeding: Promise<void> | undefined;

function seedViews(context: BenchContext): Promise<void> {
  seeding ??= (async () => {
    await seedLookupUsers(context);
    await seedHistory(context);
    await seedPositions(context);
  })();
  return seeding;
}

/** Idempotent: a user that already has events is left alone. */
async function seedHistory({ sql }: BenchContext): Promise<void> {
  const users = `SELECT ('b0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid AS id, i FROM generate_series(0, $1::int - 1) AS i`;
  await sql.transaction([
    sql.query(
      `INSERT INTO reconciliation_logs (user_id, exchange, kind, symbol, side, expected, actual, created_at)
       SELECT u.id, 'okx', k.kind, k.symbol, k.side, k.expected, k.actual, now() - k.ago
       FROM (${users}) u
       CROSS JOIN (VALUES ('sync', NULL, NULL, NULL::jsonb, NULL::jsonb, interval '3 hours'),
                          ('divergence', 'BTC-USDT-SWAP', 'long', '{"size": 1}'::jsonb, '{"size": 0.5}'::jsonb, interval '2 hours'),
                          ('sync', NULL, NULL, NULL, NULL, interval '1 hour')) AS k(kind, symbol, side, expected, actual, ago)
       WHERE NOT EXISTS (SELECT 1 FROM reconciliation_logs r WHERE r.user_id = u.id)`,
      [LOOKUP_USERS],
    ),
    sql.query(
      `INSERT INTO equity_snapshots (user_id, exchange, equity, taken_at)
       SELECT u.id, 'okx', e.equity - (u.i % 200), now() - e.ago
       FROM (${users}) u
       CROSS JOIN (VALUES (1000, interval '2 days'), (900, interval '1 hour')) AS e(equity, ago)
       WHERE NOT EXISTS (SELECT 1 FROM equity_snapshots s WHERE s.user_id = u.id)`,
      [LOOKUP_USERS],
    ),
  ]);
}

/** One open position per user, written as core/positions stores it (hash, index member, exchange). */
async function seedPositions({ redis, keys: redisKeys }: BenchContext): Promise<void> {
  const keys = new PositionKeys(redisKeys.prefix);
  const at = new Date().toISOString();
  for (let start = 0; start < LOOKUP_USERS; start += 500) {
    const pipeline = redis.pipeline();
    for (let index = start; index < Math.min(LOOKUP_USERS, start + 500); index += 1) {
      const user = userIdOf(index);
      const id = `c0000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`;
      pipeline.hset(keys.position(user, "okx", "BTC-USDT-SWAP", "long"), { id, opened_at: at, updated_at: at, size: "1", entry_price: "65000", leverage: "10" });
      pipeline.sadd(keys.positionIndex(user, "okx"), keys.positionIndexMember("BTC-USDT-SWAP", "long"));
      pipeline.sadd(keys.positionExchanges(user), "okx");
    }
    await pipeline.exec();
  }
}

/** Counts every database round trip of the process (the dev server's handlers share its Database). */
async function countingDatabase(): Promise<{ readonly count: () => number }> {
  const { database } = await import("../../runtime/clients/postgres");
  const db: Database = database();
  const state = db as Database & { benchQueries?: number };
  if (state.benchQueries === undefined) {
    state.benchQueries = 0;
    const query = db.query.bind(db);
    const transaction = db.transaction.bind(db);
    db.query = (...args) => ((state.benchQueries = (state.benchQueries ?? 0) + 1), query(...args));
    db.transaction = (...args) => ((state.benchQueries = (state.benchQueries ?? 0) + 1), transaction(...args));
  }
  return { count: () => state.benchQueries ?? 0 };
}

async function cacheTotals(): Promise<{ reads: number; hits: number; byCache: CacheMetricsSnapshot[] }> {
  const { cacheSnapshots } = await import("../../runtime/cache");
  const byCache = cacheSnapshots();
  return { reads: byCache.reduce((sum, s) => sum + s.reads, 0), hits: byCache.reduce((sum, s) => sum + s.hits, 0), byCache };
}

/** 60 / 20 / 20 over Zipf-ranked users; rank k is user (k * 7919) mod N, as in the lookup rows. */
function mixedLoad(context: BenchContext) {
  const rank = zipfSampler(LOOKUP_USERS, 1.0, mulberry32(0x90517));
  const pick = mulberry32(0x7e57);
  const users = Array.from({ length: LOOKUP_USERS }, (_, k) => userIdOf((k * 7919) % LOOKUP_USERS));
  const counts = { lists: 0, reconciliation: 0, guards: 0 };
  const nextPath = () => {
    const user = users[rank()] ?? users[0];
    const draw = pick();
    if (draw < 0.6) return (counts.lists += 1), `/v1/users/${user}/positions`;
    if (draw < 0.8) return (counts.reconciliation += 1), `/v1/users/${user}/reconciliation`;
    return (counts.guards += 1), `/v1/users/${user}/guards`;
  };
  const labelOf = (path: string) => `GET …/${path.slice(path.lastIndexOf("/") + 1)}`;
  return { load: { url: `${context.apiUrl}/v1/users/${users[0]}/positions`, headers: { authorization: `Bearer ${context.serviceToken}` }, nextPath, labelOf }, counts };
}

/** Each cache's hits / reads between two snapshots. */
function perCache(before: readonly CacheMetricsSnapshot[], after: readonly CacheMetricsSnapshot[]): string {
  return after
    .map((now) => {
      const then = before.find((snapshot) => snapshot.cache === now.cache);
      const reads = now.reads - (then?.reads ?? 0);
      return `${now.cache} ${reads === 0 ? "-" : round((now.hits - (then?.hits ?? 0)) / reads, 4)} of ${reads}`;
    })
    .join(", ");
}

/** p50 / p95 / p99 of each route within the mix (the mix's own slices, so no rate or CPU of their own). */
function labelRows(byLabel: ReadonlyMap<string, readonly number[]>): string[][] {
  return [...byLabel].map(([label, latencies]) => {
    const { medianMs, p95Ms, p99Ms, samples } = summarize(latencies, 1);
    return [`  ${label}`, medianMs.toFixed(3), p95Ms.toFixed(3), p99Ms.toFixed(3), "-", String(samples), "-", "-", "-"];
  });
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * Steady state, as after the first hours of traffic: every user's reconciliation and guard views
 * read once (50 at a time), which also caches every `{ref}`; views older than their TTL by the
 * time the load runs are refilled by it, as they would be in production.
 */
async function warmOne(context: BenchContext, path: string): Promise<void> {
  // A 503 under the warm-up's burst (the one process is saturated) is retried; the load counts its own.
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(context.apiUrl + path, { headers: { authorization: `Bearer ${context.serviceToken}` } });
    await response.arrayBuffer();
    if (response.ok) return;
    if (response.status !== 503 || attempt === 3) throw new Error(`positions-open-loop warm-up: ${path} answered ${response.status}`);
  }
}

async function warmUp(context: BenchContext): Promise<void> {
  const started = performance.now();
  const paths = Array.from({ length: LOOKUP_USERS }, (_, index) => [`/v1/users/${userIdOf(index)}/reconciliation`, `/v1/users/${userIdOf(index)}/guards`]).flat();
  let next = 0;
  const worker = async () => {
    for (let path = paths[next++]; path !== undefined; path = paths[next++]) {
      await warmOne(context, path);
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  process.stderr.write(`bench: warmed ${paths.length} views in ${(performance.now() - started).toFixed(0)} ms\n`);
}

export const positionsOpenLoop: Workload = {
  name: "positions-open-loop",
  ownFloor: true,
  description: "GET positions (60 %), reconciliation (20 %), guards (20 %) over 10,000 Zipf users, and the route-redis-get floor, open loop: 100 virtual users at the open-loop rate, in alternating slices",
  setup: async (context) => {
    await seedViews(context);
    await warmUp(context);
  },
  run: async (context) => {
    const queries = await countingDatabase();
    const { load, counts } = mixedLoad(context);
    const cacheBefore = await cacheTotals();
    const queriesBefore = queries.count();
    const shape = { ratePerSecond: OPEN_LOOP.ratePerSecond, virtualUsers: OPEN_LOOP.virtualUsers };
    const [floor, mix] = await runInterleavedOpenLoads([{ ...floorRouteLoad(context), ...shape }, { ...load, ...shape }], {
      slices: OPEN_LOOP.slices(context.scale),
      sliceSeconds: OPEN_LOOP.sliceSeconds,
    });
    if (!floor || !mix) throw new Error("positions-open-loop: a load did not run");
    const cacheAfter = await cacheTotals();
    const dbQueries = queries.count() - queriesBefore;
    const reads = cacheAfter.reads - cacheBefore.reads;
    const hitRate = round((cacheAfter.hits - cacheBefore.hits) / Math.max(1, reads), 4);
    const dbPer1k = round((dbQueries * 1000) / Math.max(1, mix.samples), 1);
    const p99Ratio = round(mix.p99Ms / floor.p99Ms, 2);
    const errors = mix.dropped + mix.failed + mix.non2xx + floor.dropped + floor.failed + floor.non2xx;
    const { latenciesMs: _latencies, latenciesByLabel, sent, dropped, failed, non2xx, achievedRate, cpuUs: _cpu, cpuUsPerRequest, ...summary } = mix;
    return {
      ...summary,
      errors,
      measuredFloor: { name: "route-redis-get (open, same slices)", medianMs: floor.medianMs },
      ownTarget: { label: "p99 <= 1.5x floor p99, hit >= 95 %, <= 10 dbQ/1k", met: p99Ratio <= 1.5 && hitRate >= 0.95 && dbPer1k <= 10 },
      extra: { p99Ratio, hitRate, "dbQ/1kReq": dbPer1k, dbQueries, "cpuUs/req": cpuUsPerRequest, "floor cpuUs/req": floor.cpuUsPerRequest, rate: `${achievedRate}/${OPEN_LOOP.ratePerSecond} req/s`, sent, dropped, failed, non2xx, mix: `${counts.lists}/${counts.reconciliation}/${counts.guards}` },
      details: {
        title: `positions open loop: ${OPEN_LOOP.virtualUsers} virtual users, ${OPEN_LOOP.ratePerSecond} requests started per second; hit rate during the load: ${perCache(cacheBefore.byCache, cacheAfter.byCache)}`,
        header: ["route", "p50 ms", "p95 ms", "p99 ms", "req/s", "sent", "dropped", "errors", "cpuUs/req"],
        rows: [openRow("GET /bench/redis-get (floor)", floor), openRow("GET positions / reconciliation / guards (60/20/20)", mix), ...labelRows(latenciesByLabel)],
      },
    };
  },
};

/** Users the per-route row reads (the Zipf head: ranks 0-199 carry about 60 % of the mix's traffic). */
const HOT_USERS = 200;
const ROUTES = ["positions", "reconciliation", "guards"] as const;

/**
 * While BENCH_CPU_PROFILE names a folder, each route's load is profiled (V8 CPU profile, the
 * whole process: load generator, dev server, handlers, local Upstash endpoint) into
 * `<folder>/<route>.cpuprofile`, for Chrome DevTools or speedscope.
 */
async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  const folder = process.env.BENCH_CPU_PROFILE;
  if (!folder) return work();
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/**
 * `positions-route-cpu`: what each route of the mix costs on its own, beside the floor route, at
 * the open-loop rate over the 200 hottest users (every view cached): process CPU per request
 * (µs) and latency. On a saturated process p99 follows CPU per request, so this is where the
 * open-loop ratio comes from.
 */
export const positionsRouteCpu: Workload = {
  name: "positions-route-cpu",
  ownFloor: true,
  description: "GET /bench/redis-get (floor), positions, reconciliation, guards each alone, open loop over the 200 hottest users (cached): CPU µs per request",
  setup: async (context) => {
    await seedViews(context);
    for (const path of Array.from({ length: HOT_USERS }, (_, index) => ROUTES.map((route) => `/v1/users/${userIdOf(index)}/${route}`)).flat()) await warmOne(context, path);
  },
  run: async (context) => {
    const shape = { ratePerSecond: OPEN_LOOP.ratePerSecond, virtualUsers: OPEN_LOOP.virtualUsers };
    const headers = { authorization: `Bearer ${context.serviceToken}` };
    const pick = mulberry32(0xc9b);
    const routeLoad = (route: string) => ({ ...shape, url: `${context.apiUrl}/v1/users/${userIdOf(0)}/${route}`, headers, nextPath: () => `/v1/users/${userIdOf(Math.floor(pick() * HOT_USERS))}/${route}` });
    const plan = { slices: OPEN_LOOP.slices(context.scale), sliceSeconds: OPEN_LOOP.sliceSeconds };
    const floor = (await profiled("floor", () => runInterleavedOpenLoads([{ ...floorRouteLoad(context), ...shape }], plan)))[0];
    const routes = [];
    for (const route of ROUTES) routes.push([route, (await profiled(route, () => runInterleavedOpenLoads([routeLoad(route)], plan)))[0]] as const);
    if (!floor || routes.some(([, result]) => !result)) throw new Error("positions-route-cpu: a load did not run");
    const rows = routes.flatMap(([route, result]) => (result ? [[route, result] as const] : []));
    const errors = [floor, ...rows.map(([, result]) => result)].reduce((sum, r) => sum + r.dropped + r.failed + r.non2xx, 0);
    const { latenciesMs: _l, latenciesByLabel: _b, sent: _s, dropped: _d, failed: _f, non2xx: _n, achievedRate: _a, cpuUs: _c, cpuUsPerRequest: _u, ...summary } = floor;
    return {
      ...summary,
      errors,
      extra: Object.fromEntries([["floor cpuUs/req", floor.cpuUsPerRequest], ...rows.map(([route, result]) => [`${route} cpuUs/req`, result.cpuUsPerRequest])]),
      details: {
        title: `each route alone, ${OPEN_LOOP.ratePerSecond} requests started per second, ${plan.slices} x ${plan.sliceSeconds} s, ${HOT_USERS} users (cached); the main row is the floor`,
        header: ["route", "p50 ms", "p95 ms", "p99 ms", "req/s", "sent", "dropped", "errors", "cpuUs/req"],
        rows: [openRow("GET /bench/redis-get (floor)", floor), ...rows.map(([route, result]) => openRow(`GET /v1/users/{ref}/${route}`, result))],
      },
    };
  },
};

export const positionViewWorkloads: readonly Workload[] = [positionsOpenLoop, positionsRouteCpu];
