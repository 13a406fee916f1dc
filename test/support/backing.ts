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
