import { createRequire } from "node:module";
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import type { NeonQueryFunction } from "@neondatabase/serverless";

export type Sql = NeonQueryFunction<false, false>;

export interface NeonOptions {
  readonly databaseUrl: string;
  /** Local cloud: replaces https://<host>/sql. */
  readonly fetchEndpoint?: string | undefined;
  /** Local cloud: host:port/path of a plain (non-TLS) WebSocket relay. */
  readonly wsProxy?: string | undefined;
}

/**
 * The driver keeps its endpoints in process-wide `neonConfig`, so it is set once per container
 * from config rather than per query.
 */
function configureDriver(options: NeonOptions): void {
  if (options.fetchEndpoint) neonConfig.fetchEndpoint = options.fetchEndpoint;
  if (options.wsProxy) {
    const proxy = options.wsProxy;
    neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
    // The local relay speaks plain ws:// and Postgres behind it has no TLS.
    neonConfig.useSecureWebSocket = false;
    neonConfig.forceDisablePgSSL = true;
  }
  // Node 22 (Lambda) has a global WebSocket; Node 20 (local tools) needs the ws package. Loaded
  // with a runtime require so that bundlers leave it out of the Lambda bundles (50 KB).
  if (typeof globalThis.WebSocket === "undefined") {
    neonConfig.webSocketConstructor = (createRequire(import.meta.url)("ws") as typeof import("ws")).WebSocket;
  }
}

/** Neon over HTTP: one round trip per statement or per non-interactive transaction(). */
export function createSql(options: NeonOptions): Sql {
  configureDriver(options);
  return neon(options.databaseUrl);
}

/**
 * Neon over WebSocket, for the few places that need an interactive transaction or a session
 * (migrations under an advisory lock). Callers must `end()` it.
 */
export function createPool(options: NeonOptions, max = 2): Pool {
  configureDriver(options);
  return new Pool({ connectionString: options.databaseUrl, max });
}
