import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import type { NeonQueryFunction } from "@neondatabase/serverless";
import { WebSocket as WsWebSocket } from "ws";

export type Sql = NeonQueryFunction<false, false>;

export interface NeonSettings {
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
function configureDriver(settings: NeonSettings): void {
  if (settings.fetchEndpoint) neonConfig.fetchEndpoint = settings.fetchEndpoint;
  if (settings.wsProxy) {
    const proxy = settings.wsProxy;
    neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
    // The local relay speaks plain ws:// and Postgres behind it has no TLS.
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    neonConfig.forceDisablePgSSL = true;
  }
  // Node 22 (Lambda) has a global WebSocket; Node 20 (local) needs the ws package.
  if (typeof globalThis.WebSocket === "undefined") neonConfig.webSocketConstructor = WsWebSocket;
}

/** Neon over HTTP: one round trip per statement or per non-interactive transaction(). */
export function createSql(settings: NeonSettings): Sql {
  configureDriver(settings);
  return neon(settings.databaseUrl);
}

/**
 * Neon over WebSocket, for the few places that need an interactive transaction or a session
 * (migrations under an advisory lock). Callers must `end()` it.
 */
export function createPool(settings: NeonSettings, max = 2): Pool {
  configureDriver(settings);
  return new Pool({ connectionString: settings.databaseUrl, max });
}
