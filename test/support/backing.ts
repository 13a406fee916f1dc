import { inject } from "vitest";

/** Backing servers chosen by the global setup (see local/backing.ts for the order). */
export interface BackingInfo {
  /** redis:// URL of a real Redis server, or null when the in-process engine is the fallback. */
  redisUrl: string | null;
  /** postgres:// URL of the maintenance database of a real PostgreSQL server. */
  databaseUrl: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    backing: BackingInfo;
  }
}

export function backing(): BackingInfo {
  return inject("backing");
}

/**
 * True on the in-process Redis engine (BOTSTATE_EMBEDDED=memory, a machine with only Node and npm).
 * Its Lua (ioredis-mock on fengari) fails on the positions scripts (migrate-keys' compare-and-move,
 * the open-position list through EVALSHA) and its SCAN paging differs from Redis' where the settings
 * sync and the Redis mapping import walk mixed key types. The tests that depend on those run
 * against a Redis server (CI's main and embedded passes) and are skipped on this engine only.
 */
export function onInProcessRedis(): boolean {
  return backing().redisUrl === null;
}
