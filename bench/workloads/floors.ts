import { runHttpLoad } from "../http-load";
import type { HttpLoad } from "../http-load";
import { measureSequential } from "../stats";
import type { BenchContext, Workload, WorkloadResult } from "../workload";

const FLOOR_KEY_VALUE = JSON.stringify({ telegramId: "7012345678", userId: "floor" });

/**
 * The open-loop shape the issue asks for: 100 virtual users, 500 requests started per second, 30 s
 * per route, in 6 alternating slices. BENCH_OPEN_RATE lowers the rate on a machine that cannot
 * keep 500/s (drops show it).
 */
export const OPEN_LOOP = {
  virtualUsers: 100,
  ratePerSecond: Number(process.env.BENCH_OPEN_RATE ?? 500),
  slices: (scale: number) => Math.max(2, Math.round(6 * scale)),
  sliceSeconds: 5,
};

/** Closed-loop HTTP load at 100 connections: a warm-up phase, then the measured one. */
export const HTTP_100 = { connections: 100, warmupSeconds: (scale: number) => Math.max(1, Math.round(3 * scale)), seconds: (scale: number) => Math.max(2, Math.round(8 * scale)) };

/** The key the bare GETs read (the redis-get floor and the floor route). */
const floorKey = ({ keys }: BenchContext) => keys.cacheEntry("bench-floor", "get");

export async function seedFloorKey(context: BenchContext): Promise<void> {
  await context.redis.set(floorKey(context), FLOOR_KEY_VALUE);
}

/** The bare calls the floors time: a GET of the seeded key, `SELECT 1`, a SET with EX. */
const bareGet = (context: BenchContext) => context.redis.get(floorKey(context));
const bareSelect = (context: BenchContext) => context.sql`SELECT 1`;
const bareSet = (context: BenchContext) => context.redis.set(context.keys.cacheEntry("bench-floor", "set"), FLOOR_KEY_VALUE, { ex: 60 });

/** What a cache miss cannot avoid, bare: read the cache, query the row, write the answer back (after seedFloorKey). */
export async function bareMissFloor(context: BenchContext): Promise<void> {
  await bareGet(context);
  await bareSelect(context);
  await bareSet(context);
}

/** Closed loop after a warm-up that must answer 2xx only (a floor that fails is no floor). */
export async function warmedHttpLoad(load: Omit<HttpLoad, "durationSeconds">, scale: number): Promise<WorkloadResult & { readonly cpuUsPerRequest: number }> {
  const warmup = await runHttpLoad({ ...load, durationSeconds: HTTP_100.warmupSeconds(scale) });
  if (warmup.errors > 0 || warmup.non2xx > 0) throw new Error(`${load.url} warm-up: ${warmup.errors} errors, ${warmup.non2xx} non-2xx`);
  const { non2xx, errors, cpuUsPerRequest, ...summary } = await runHttpLoad({ ...load, durationSeconds: HTTP_100.seconds(scale) });
  return { ...summary, cpuUsPerRequest, errors: non2xx + errors, extra: { "cpuUs/req": cpuUsPerRequest, ...(non2xx + errors > 0 ? { non2xx, errors } : {}) } };
}

/** The floor route: the lookup route's stack and auth, one bare Upstash GET. */
export function floorRouteLoad(context: BenchContext) {
  return { url: `${context.apiUrl}/bench/redis-get`, headers: { authorization: `Bearer ${context.serviceToken}` } };
}

export const floorWorkloads: readonly Workload[] = [
  {
    name: "redis-get",
    description: "bare @upstash/redis GET through the local Upstash endpoint",
    setup: seedFloorKey,
    run: async (context) => measureSequential(() => bareGet(context), Math.round(3000 * context.scale)),
  },
  {
    name: "redis-set",
    description: "bare @upstash/redis SET with EX through the local Upstash endpoint",
    run: async (context) => measureSequential(() => bareSet(context), Math.round(3000 * context.scale)),
  },
  {
    name: "neon-select-1",
    description: "bare Neon HTTP `SELECT 1` through the local SQL endpoint",
    run: async (context) => measureSequential(() => bareSelect(context), Math.round(2000 * context.scale)),
  },
  {
    name: "route-minimal-c1",
    description: "GET /bench/noop through the dev server, 1 connection: the HTTP stack alone",
    run: async ({ apiUrl, scale }) => runHttpLoad({ url: `${apiUrl}/bench/noop`, connections: 1, durationSeconds: Math.max(1, Math.round(5 * scale)) }),
  },
  {
    name: "route-minimal-c100",
    description: "GET /bench/noop through the dev server, 100 connections: the HTTP stack alone",
    run: async ({ apiUrl, scale }) => warmedHttpLoad({ url: `${apiUrl}/bench/noop`, connections: HTTP_100.connections }, scale),
  },
  {
    name: "route-redis-get-c100",
    description: "GET /bench/redis-get (same stack and auth as the lookup route, one bare Upstash GET), 100 connections",
    setup: seedFloorKey,
    run: async (context) => warmedHttpLoad({ ...floorRouteLoad(context), connections: HTTP_100.connections }, context.scale),
  },
];
