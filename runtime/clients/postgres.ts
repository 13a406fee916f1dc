import type { Pool } from "@neondatabase/serverless";
import { postgresConfigSchema } from "../../core/config";
import { createPool, createSql } from "../../core/db/neon";
import type { NeonOptions, Sql } from "../../core/db/neon";
import { configFor, once } from "../config";

function neonOptions(): NeonOptions {
  const config = configFor(postgresConfigSchema);
  return { databaseUrl: config.DATABASE_URL, fetchEndpoint: config.NEON_FETCH_ENDPOINT, wsProxy: config.NEON_WS_PROXY };
}

/** Neon over HTTP (one round trip per statement or transaction), built on first use. */
export function sqlClient(): Sql {
  return once(createSql, () => createSql(neonOptions()));
}

/** A Neon WebSocket pool for interactive transactions and sessions; the caller ends it. */
export function openPool(max = 2): Pool {
  return createPool(neonOptions(), max);
}
