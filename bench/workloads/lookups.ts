import { identifierKey } from "../../core/lookups/identifier";
import { LOOKUP_CACHE } from "../../core/lookups/invalidation";
import type { LookupContext } from "../../core/lookups/lookup-service";
import type { LookupStatsSnapshot } from "../../core/lookups/stats";
import type { LookupModule } from "../../runtime/lookups";
import { runHttpLoad } from "../http-load";
import { runInterleavedOpenLoads } from "../open-loop";
import type { OpenLoadResult } from "../open-loop";
import { bareMissFloor, floorRouteLoad, HTTP_100, OPEN_LOOP, seedFloorKey } from "./floors";
import { measureAlternating, measureSequential, summarize } from "../stats";
import type { BenchContext, Workload } from "../workload";

/**
 * Identifier lookups: the in-process service (cache hit, cold miss, stampede of one cold
 * identifier) and the HTTP route under 100 connections with Zipf-distributed identifiers.
 *
 * 10,000 seeded users, deterministic so the seed is idempotent across runs:
 *   user i: id b0000000-0000-4000-8000-<i as 12 hex digits>, telegram id 6,000,000,000 + i (> 2^31),
 *   okx uid 700000000000000000 + i (18 digits, beyond 2^53: built as strings / bigint in SQL).
 */
export const LOOKUP_USERS = 10_000;
const TELEGRAM_BASE = 6_000_000_000;
const OKX_BASE = 700_000_000_000_000_000n;
const USER_ID_PREFIX = "b0000000-0000-4000-8000-";

/** App user id of seeded user `index`. */
export const userIdOf = (index: number): string => `${USER_ID_PREFIX}${index.toString(16).padStart(12, "0")}`;

/** OKX uid of seeded user `index`, as the API receives it. */
export const okxUidOf = (index: number): string => (OKX_BASE + BigInt(index)).toString();
const seededOkxUids: readonly string[] = Array.from({ length: LOOKUP_USERS }, (_, index) => okxUidOf(index));

/** What a Lambda would pass; the lookup only uses it to bound the legacy tier (disabled here). */
const lookupContext: LookupContext = { remainingTimeMs: () => 10_000 };

/** Disjoint slices of the seeded users, so one workload's cache state never helps another. */
const SLICES = { hit: 0, stampede: 100, miss: 1_000 } as const;

// ---------------------------------------------------------------------------------------------
// Seeding and helpers

let seeding: Promise<void> | undefined;

/** Bulk, idempotent seed of app_users + user_identifier_mappings; once per bench run. */
export function seedLookupUsers(context: BenchContext): Promise<void> {
  seeding ??= seed(context);
  return seeding;
}

async function seed({ sql }: BenchContext): Promise<void> {
  const started = performance.now();
  const params = [USER_ID_PREFIX, TELEGRAM_BASE, OKX_BASE.toString(), LOOKUP_USERS];
  const series = `FROM generate_series(0, $4::int - 1) AS i`;
  const userId = `($1::text || lpad(to_hex(i), 12, '0'))::uuid`;
  await sql.transaction([
    sql.query(
      `INSERT INTO app_users (id, telegram_id, okx_uid, is_active)
       SELECT ${userId}, $2::bigint + i, ($3::bigint + i)::text, true ${series}
       ON CONFLICT DO NOTHING`,
      params,
    ),
    sql.query(
      `INSERT INTO user_identifier_mappings (user_id, telegram_id, okx_uid, is_active, source)
       SELECT ${userId}, $2::bigint + i, ($3::bigint + i)::text, true, 'import' ${series}
       ON CONFLICT DO NOTHING`,
      params,
    ),
  ]);
  // All 18-digit strings, so the text range is the numeric range.
  const rows = await sql.query(
    `SELECT count(*)::int AS n FROM user_identifier_mappings WHERE is_active AND okx_uid BETWEEN $1 AND $2`,
    [okxUidOf(0), okxUidOf(LOOKUP_USERS - 1)],
  );
  const count = Number(rows[0]?.n ?? 0);
  if (count !== LOOKUP_USERS) throw new Error(`lookup seed: expected ${LOOKUP_USERS} active mappings, found ${count}`);
  process.stderr.write(`bench: seeded ${LOOKUP_USERS} users in ${(performance.now() - started).toFixed(0)} ms\n`);
}

/** Imported on first use: runtime config is read from process.env, which run.ts fills first. */
async function lookupModule(): Promise<LookupModule> {
  const { lookups } = await import("../../runtime/lookups");
  return lookups();
}

/** Drops cached answers and fill locks of these okx uids, in a few DEL calls. */
async function dropCacheEntries({ redis, keys }: BenchContext, okxUids: readonly string[]): Promise<void> {
  const all = okxUids.flatMap((uid) => {
    const key = identifierKey({ kind: "okx_uid", value: uid });
    return [keys.cacheEntry(LOOKUP_CACHE, key), keys.cacheFillLock(LOOKUP_CACHE, key)];
  });
  for (let start = 0; start < all.length; start += 1_000) await redis.del(...all.slice(start, start + 1_000));
}

const delta = (before: LookupStatsSnapshot, after: LookupStatsSnapshot) => ({
  lookups: after.lookups - before.lookups,
  cacheAnswers: after.byTier.cache + after.negativeHits - (before.byTier.cache + before.negativeHits),
  databaseQueries: after.databaseQueries - before.databaseQueries,
  cacheErrors: after.cacheErrors - before.cacheErrors,
});

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// Zipf sampling for the HTTP workload

/** mulberry32: tiny, fast, good enough to draw identifiers. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Draws ranks 0..n-1 with P(rank k) proportional to 1/(k+1)^s: precomputed CDF + binary search. */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k += 1) {
    total += 1 / (k + 1) ** s;
    cdf[k] = total;
  }
  return () => {
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((cdf[mid] ?? total) < target) low = mid + 1;
      else high = mid;
    }
    return low;
  };
}

interface AdminStats {
  readonly lookups: LookupStatsSnapshot;
  readonly breakers: { readonly cache: string; readonly legacy: string };
}

/** GET /v1/admin/stats: the counters of the dev server's (single) lookup container. */
async function adminStats(context: BenchContext): Promise<AdminStats> {
  const response = await fetch(`${context.apiUrl}/v1/admin/stats`, { headers: { authorization: `Bearer ${context.adminToken}` } });
  if (!response.ok) throw new Error(`GET /v1/admin/stats answered ${response.status}`);
  return (await response.json()) as AdminStats;
}

// ---------------------------------------------------------------------------------------------
// Workloads

const lookupHit: Workload = {
  name: "lookup-hit",
  description: "in-process LookupService.resolve(okxUid) of a cached identifier (one MGET behind the cache breaker)",
  floor: ["redis-get"],
  targetRatio: 1.25,
  setup: seedLookupUsers,
  run: async (context) => {
    const module = await lookupModule();
    const okxUid = okxUidOf(SLICES.hit);
    await module.service.resolve(okxUid, lookupContext);
    const before = module.stats.snapshot();
    const summary = await measureSequential(() => module.service.resolve(okxUid, lookupContext), Math.round(3000 * context.scale));
    const moved = delta(before, module.stats.snapshot());
    return {
      ...summary,
      extra: { hitRate: round(moved.cacheAnswers / Math.max(1, moved.lookups), 4), dbQueries: moved.databaseQueries },
    };
  },
};

const lookupMiss: Workload = {
  name: "lookup-miss",
  description: "in-process resolve of a cold identifier (cache miss, fill lock, SQL, cache write, unlock), alternated with its floor: a bare GET, SELECT 1 and SET EX",
  // What a miss cannot avoid, measured at the same moments as the misses (the machine's pace drifts between workloads).
  ownFloor: true,
  targetRatio: 1.25,
  setup: async (context) => {
    await seedLookupUsers(context);
    await seedFloorKey(context);
  },
  run: async (context) => {
    const module = await lookupModule();
    const iterations = Math.round(2000 * context.scale);
    const warmup = Math.ceil(iterations / 10);
    const okxUids = seededOkxUids.slice(SLICES.miss, SLICES.miss + iterations + warmup);
    if (okxUids.length < iterations + warmup) throw new Error("lookup-miss: not enough seeded users for this scale");
    await dropCacheEntries(context, okxUids);
    let next = 0;
    let notFromDatabase = 0;
    const before = module.stats.snapshot();
    const miss = async () => {
      const result = await module.service.resolve(okxUids[next++] ?? "", lookupContext);
      if (result.source !== "database") notFromDatabase += 1;
    };
    const measured = await measureAlternating(miss, () => bareMissFloor(context), iterations);
    const moved = delta(before, module.stats.snapshot());
    return {
      ...measured.subject,
      measuredFloor: { name: "redis-get + neon-select-1 + redis-set (alternated)", medianMs: measured.floor.medianMs },
      extra: { dbQueriesPerOp: round(moved.databaseQueries / okxUids.length, 3), notFromDb: notFromDatabase },
    };
  },
};

const STAMPEDE = 100;

const lookupStampede: Workload = {
  name: "lookup-stampede",
  description: "100 concurrent in-process resolves of one cold identifier; database queries per stampede",
  // A cold lookup's floor, for scale; the target is one query per stampede, not a ratio.
  floor: ["redis-get", "neon-select-1", "redis-set"],
  setup: seedLookupUsers,
  run: async (context) => {
    const module = await lookupModule();
    const rounds = Math.max(3, Math.round(10 * context.scale));
    const latencies: number[] = [];
    const queriesPerRound: number[] = [];
    let elapsed = 0;
    // Round 0 warms the code path and is not recorded.
    for (let roundIndex = 0; roundIndex <= rounds; roundIndex += 1) {
      const okxUid = okxUidOf(SLICES.stampede + roundIndex);
      await dropCacheEntries(context, [okxUid]);
      const before = module.stats.snapshot();
      const started = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: STAMPEDE }, async () => {
          const t0 = performance.now();
          const result = await module.service.resolve(okxUid, lookupContext);
          return { ms: performance.now() - t0, telegramId: result.telegramId };
        }),
      );
      const took = performance.now() - started;
      const expected = String(TELEGRAM_BASE + SLICES.stampede + roundIndex);
      if (outcomes.some((outcome) => outcome.telegramId !== expected)) throw new Error("lookup-stampede: wrong telegram id");
      if (roundIndex === 0) continue;
      elapsed += took;
      latencies.push(...outcomes.map((outcome) => outcome.ms));
      queriesPerRound.push(delta(before, module.stats.snapshot()).databaseQueries);
    }
    const dbQueriesPerStampede = Math.max(...queriesPerRound);
    return {
      ...summarize(latencies, elapsed),
      ownTarget: { label: "1 query/stampede", met: dbQueriesPerStampede <= 1 },
      extra: { dbQueriesPerStampede, stampedes: rounds },
    };
  },
};

/** Steady state, as after the first hour of traffic: every seeded user cached (filled through the batch route). */
async function cacheEveryUser(context: BenchContext): Promise<void> {
  await dropCacheEntries(context, seededOkxUids);
  for (let start = 0; start < seededOkxUids.length; start += 100) {
    const response = await fetch(`${context.apiUrl}/v1/lookups/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${context.serviceToken}`, "content-type": "application/json" },
      body: JSON.stringify({ identifiers: seededOkxUids.slice(start, start + 100) }),
    });
    if (!response.ok) throw new Error(`lookup cache fill: batch answered ${response.status}`);
    await response.arrayBuffer();
  }
}

/** GET /v1/lookups/{okxUid} with Zipf(s=1) popularity; rank k is user (k * 7919) mod N, so popular users are spread out. */
function zipfLookupLoad(context: BenchContext) {
  const rank = zipfSampler(LOOKUP_USERS, 1.0, mulberry32(0x5eed));
  const paths = Array.from({ length: LOOKUP_USERS }, (_, k) => `/v1/lookups/${okxUidOf((k * 7919) % LOOKUP_USERS)}`);
  return {
    url: `${context.apiUrl}/v1/lookups/${okxUidOf(0)}`,
    headers: { authorization: `Bearer ${context.serviceToken}` },
    nextPath: () => paths[rank()] ?? "/",
  };
}

/** The dev server's counters once the last requests of a load have finished (unchanged between two reads). */
async function settledStats(context: BenchContext): Promise<AdminStats> {
  const deadline = Date.now() + 5_000;
  let previous = await adminStats(context);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const current = await adminStats(context);
    if (current.lookups.lookups === previous.lookups.lookups || Date.now() > deadline) return current;
    previous = current;
  }
}

/** Hit rate and database queries of the lookups served between two reads of the counters. */
function cacheFigures(before: AdminStats, after: AdminStats, requests: number) {
  const moved = delta(before.lookups, after.lookups);
  const misses = moved.lookups - moved.cacheAnswers;
  const extra: Record<string, number | string> = {
    hitRate: round(moved.cacheAnswers / Math.max(1, moved.lookups), 4),
    "dbQ/1kReq": round((moved.databaseQueries * 1000) / Math.max(1, requests), 1),
    misses,
    dbQueries: moved.databaseQueries,
  };
  // Cache calls that timed out / were short-circuited by the breaker (the lookup then asks Postgres).
  if (moved.cacheErrors > 0) extra.cacheErrors = moved.cacheErrors;
  if (after.breakers.cache !== "closed") extra.cacheBreaker = after.breakers.cache;
  return { extra, hitsQueryNothing: moved.databaseQueries <= misses };
}

const lookupHttp100: Workload = {
  name: "lookup-http-100",
  description: "GET /v1/lookups/{okxUid}, 100 connections, Zipf(s=1) over 10,000 users, steady state (all cached) after a warm-up phase",
  floor: ["route-redis-get-c100"],
  targetRatio: 1.5,
  setup: async (context) => {
    await seedLookupUsers(context);
    await cacheEveryUser(context);
  },
  run: async (context) => {
    const load = { ...zipfLookupLoad(context), connections: HTTP_100.connections };
    const warmup = await runHttpLoad({ ...load, durationSeconds: HTTP_100.warmupSeconds(context.scale) });
    if (warmup.errors > 0 || warmup.non2xx > 0) throw new Error(`lookup-http-100 warm-up: ${warmup.errors} errors, ${warmup.non2xx} non-2xx`);
    const before = await settledStats(context);
    const { non2xx, errors, cpuUsPerRequest, ...summary } = await runHttpLoad({ ...load, durationSeconds: HTTP_100.seconds(context.scale) });
    const { extra, hitsQueryNothing } = cacheFigures(before, await settledStats(context), summary.samples);
    return {
      ...summary,
      errors: non2xx + errors,
      ownTarget: { label: "0 dbQ on hits", met: hitsQueryNothing },
      extra: { ...extra, "cpuUs/req": cpuUsPerRequest, ...(non2xx + errors > 0 ? { non2xx, errors } : {}) },
    };
  },
};

export function openRow(name: string, result: OpenLoadResult): string[] {
  const { medianMs, p95Ms, p99Ms, achievedRate, sent, dropped, failed, non2xx, cpuUsPerRequest } = result;
  return [name, medianMs.toFixed(3), p95Ms.toFixed(3), p99Ms.toFixed(3), `${achievedRate}/${OPEN_LOOP.ratePerSecond}`, String(sent), String(dropped), String(failed + non2xx), String(cpuUsPerRequest)];
}

const lookupOpen: Workload = {
  name: "lookup-open",
  description: "GET /v1/lookups/{okxUid} (Zipf, all cached) and its floor route, open loop: 100 virtual users, 500 requests started per second, in alternating slices",
  // The same route and floor as lookup-http-100, at a fixed load instead of saturation.
  targetRatio: 1.5,
  setup: async (context) => {
    await seedLookupUsers(context);
    await cacheEveryUser(context);
  },
  run: async (context) => {
    const before = await settledStats(context);
    const shape = { ratePerSecond: OPEN_LOOP.ratePerSecond, virtualUsers: OPEN_LOOP.virtualUsers };
    const [floor, lookups] = await runInterleavedOpenLoads([{ ...floorRouteLoad(context), ...shape }, { ...zipfLookupLoad(context), ...shape }], {
      slices: OPEN_LOOP.slices(context.scale),
      sliceSeconds: OPEN_LOOP.sliceSeconds,
    });
    if (!floor || !lookups) throw new Error("lookup-open: a load did not run");
    const { extra, hitsQueryNothing } = cacheFigures(before, await settledStats(context), lookups.samples);
    const { latenciesMs: _latencies, sent, dropped, failed, non2xx, achievedRate, ...summary } = lookups;
    return {
      ...summary,
      // Drops or failures on either side: the machine did not keep the rate, the comparison does not hold.
      errors: dropped + failed + non2xx + floor.dropped + floor.failed + floor.non2xx,
      measuredFloor: { name: "route-redis-get (open, same slices)", medianMs: floor.medianMs },
      ownTarget: { label: "0 dbQ on hits", met: hitsQueryNothing },
      extra: { rate: `${achievedRate}/${OPEN_LOOP.ratePerSecond} req/s`, sent, dropped, failed, non2xx, ...extra },
      details: {
        title: `open loop: ${OPEN_LOOP.virtualUsers} virtual users, ${OPEN_LOOP.ratePerSecond} requests started per second, latency from each request's due time`,
        header: ["route", "p50 ms", "p95 ms", "p99 ms", "req/s", "sent", "dropped", "errors", "cpuUs/req"],
        rows: [openRow("GET /bench/redis-get (floor)", floor), openRow("GET /v1/lookups/{okxUid}", lookups)],
      },
    };
  },
};

export const lookupWorkloads: readonly Workload[] = [lookupHit, lookupMiss, lookupStampede, lookupHttp100, lookupOpen];
