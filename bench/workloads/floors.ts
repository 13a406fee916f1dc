import { runHttpLoad } from "../http-load";
import { measureSequential } from "../stats";
import type { Workload } from "../workload";

const FLOOR_KEY_VALUE = JSON.stringify({ telegramId: "7012345678", userId: "floor" });

export const floorWorkloads: readonly Workload[] = [
  {
    name: "redis-get",
    description: "bare @upstash/redis GET through the local Upstash endpoint",
    run: async ({ redis, keys, scale }) => {
      const key = keys.lookup("floor", "get");
      await redis.set(key, FLOOR_KEY_VALUE);
      return measureSequential(() => redis.get(key), Math.round(3000 * scale));
    },
  },
  {
    name: "redis-set",
    description: "bare @upstash/redis SET with EX through the local Upstash endpoint",
    run: async ({ redis, keys, scale }) => {
      const key = keys.lookup("floor", "set");
      return measureSequential(() => redis.set(key, FLOOR_KEY_VALUE, { ex: 60 }), Math.round(3000 * scale));
    },
  },
  {
    name: "neon-select-1",
    description: "bare Neon HTTP `SELECT 1` through the local SQL endpoint",
    run: async ({ sql, scale }) => measureSequential(() => sql`SELECT 1`, Math.round(2000 * scale)),
  },
  {
    name: "route-minimal-c1",
    description: "GET /bench/noop through the dev server, 1 connection",
    run: async ({ apiUrl, scale }) =>
      runHttpLoad({ url: `${apiUrl}/bench/noop`, connections: 1, durationSeconds: Math.max(1, Math.round(5 * scale)) }),
  },
  {
    name: "route-minimal-c100",
    description: "GET /bench/noop through the dev server, 100 connections",
    run: async ({ apiUrl, scale }) =>
      runHttpLoad({ url: `${apiUrl}/bench/noop`, connections: 100, durationSeconds: Math.max(2, Math.round(8 * scale)) }),
  },
];
