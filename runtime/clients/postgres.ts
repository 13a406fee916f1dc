import type { Pool } from "@neondatabase/serverless";
import { postgresConfigSchema } from "../../core/config";
import { Database } from "../../core/db/database";
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

/** The same connection with every call bounded below the function timeout (core/db/database.ts). */
export function database(): Database {
  return once(Database, () => {
    const config = configFor(postgresConfigSchema);
    const statementTimeoutMs = config.DATABASE_STATEMENT_TIMEOUT_MS;
    // The server's own cancellation must normally answer first: that is the "certainly not applied" case.
    const requestTimeoutMs = Math.max(config.DATABASE_REQUEST_TIMEOUT_MS, statementTimeoutMs + 500);
    return new Database(sqlClient(), { statementTimeoutMs, requestTimeoutMs });
  });
}

/** A Neon WebSocket pool for interactive transactions and sessions; the caller ends it. */
export function openPool(max = 2): Pool {
  return createPool(neonOptions(), max);
}
