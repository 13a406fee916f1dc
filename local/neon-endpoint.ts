import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { connect as netConnect, isIPv4, isIPv6 } from "node:net";
import type { Duplex } from "node:stream";
import pg from "pg";
import type { CustomTypesConfig, PoolClient, PoolConfig, QueryConfig, QueryResult } from "pg";
import { WebSocketServer } from "ws";
import { listenLocal } from "./listen";
import { relay } from "./neon-relay";

/**
 * A stand-in for Neon's serverless proxy in front of a plain PostgreSQL server, so the unmodified
 * @neondatabase/serverless driver (HTTP `neon()` and WebSocket `Pool`/`Client`) runs locally.
 */
export interface NeonEndpoint {
  /** e.g. http://127.0.0.1:PORT/sql — for neonConfig.fetchEndpoint / neon(..., { fetchEndpoint }) */
  readonly fetchEndpoint: string;
  /** e.g. 127.0.0.1:PORT/v2 — for neonConfig.wsProxy (the driver appends ?address=host:port) */
  readonly wsProxy: string;
  close(): Promise<void>;
}

const SQL_PATH = "/sql";
const WS_PATH = "/v2";
/** Neon computes run in UTC; tests and app code must see the same clock on both transports. */
const UTC_OPTION = "-c TimeZone=UTC";
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const POOL_MAX_CLIENTS = 10;
/** Each distinct connection string owns a pool; bound them so a stray loop cannot exhaust Postgres. */
const MAX_POOLS = 16;

const { Pool, DatabaseError } = pg;
type PgPool = InstanceType<typeof Pool>;

/** The driver runs its own type parsers over the Postgres text format, so values pass through untouched. */
const rawText: CustomTypesConfig = { getTypeParser: () => (value: string) => value };

/**
 * Without Neon-Raw-Text-Output, Neon answers with JSON-native values; this covers the common
 * scalars (int8 and numeric stay strings to keep their precision).
 */
const jsonValues: CustomTypesConfig = {
  getTypeParser: (oid: number) => {
    switch (oid) {
      case 16:
        return (value: string) => value === "t";
      case 21:
      case 23:
      case 26:
      case 700:
      case 701:
        return (value: string) => Number(value);
      case 114:
      case 3802:
        return (value: string): unknown => JSON.parse(value);
      default:
        return (value: string) => value;
    }
  },
};

const ISOLATION_LEVELS: Readonly<Record<string, string>> = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

const DB_ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

/** An error whose message is safe and useful to hand back to the caller verbatim. */
class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface QueryData {
  readonly query: string;
  readonly params: readonly unknown[];
}

interface Pools {
  readonly byConnectionString: Map<string, PgPool>;
  /** Where a connection string without a port points: this endpoint's own Postgres. */
  readonly defaultPort: number;
  /** Set by close(), so a request still in flight cannot open a pool nobody will end. */
  closed: boolean;
}

interface ResultMode {
  readonly arrayMode: boolean;
  readonly types: CustomTypesConfig;
}

export interface NeonEndpointOptions {
  readonly host?: string;
  readonly port?: number;
  /**
   * The port of the Postgres this endpoint fronts (default 5432). The driver leaves the port out
   * of the connection strings it sends (Pool.query with poolQueryViaFetch); Neon's proxy knows its
   * database by host, this endpoint by this port.
   */
  readonly postgresPort?: number;
}

export async function startNeonEndpoint(options: NeonEndpointOptions = {}): Promise<NeonEndpoint> {
  const host = options.host ?? "127.0.0.1";
  const pools: Pools = { byConnectionString: new Map(), defaultPort: options.postgresPort ?? 5432, closed: false };
  /** Upgraded and upgrading sockets, which the http server no longer tracks for closeAllConnections(). */
  const live = new Set<() => void>();
  const server = createServer((req, res) => serveSql(req, res, pools));
  // Above undici's 4s idle timeout, so the server never closes a socket the client is about to reuse.
  server.keepAliveTimeout = 65_000;
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleUpgrade(req, socket, head, wss, live);
  });
  const authority = await listenLocal(server, host, options.port);

  let closing: Promise<void> | undefined;
  return {
    fetchEndpoint: `http://${authority}${SQL_PATH}`,
    wsProxy: `${authority}${WS_PATH}`,
    close() {
      closing ??= closeEndpoint(server, wss, live, pools);
      return closing;
    },
  };
}

function serveSql(req: IncomingMessage, res: ServerResponse, pools: Pools): void {
  const path = pathOf(req.url);
  if (path !== SQL_PATH) {
    sendJson(res, 404, { message: `Not found: ${path}` });
    return;
  }
  if (req.method !== "POST") {
    res.setHeader("Allow", "POST");
    sendJson(res, 405, { message: "Use POST" });
    return;
  }
  handleSql(req, pools).then(
    (payload) => sendJson(res, 200, payload),
    (error: unknown) => {
      const { status, body } = describeError(error);
      sendJson(res, status, body);
    },
  );
}

async function closeEndpoint(server: Server, wss: WebSocketServer, live: Set<() => void>, pools: Pools): Promise<void> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  for (const destroy of live) destroy();
  wss.close();
  pools.closed = true;
  await Promise.all([stopped, ...[...pools.byConnectionString.values()].map((pool) => pool.end())]);
  pools.byConnectionString.clear();
}

// ---------------------------------------------------------------------------------------------
// POST /sql

async function handleSql(req: IncomingMessage, pools: Pools): Promise<unknown> {
  const connectionString = header(req, "neon-connection-string");
  if (!connectionString) throw new RequestError(400, "Missing Neon-Connection-String header");
  const mode: ResultMode = {
    arrayMode: header(req, "neon-array-mode") === "true",
    types: header(req, "neon-raw-text-output") === "true" ? rawText : jsonValues,
  };
  const body = parseBody(await readBody(req));
  const pool = poolFor(pools, connectionString);

  if ("queries" in body) {
    const begin = beginStatement(req);
    const client = await pool.connect();
    let broken: Error | undefined;
    // A checked-out client has no pool listener: a session killed mid-transaction (DROP DATABASE
    // ... FORCE, a server restart) would otherwise emit an unhandled 'error' and end the process.
    const onSessionError = (error: Error) => {
      broken = error;
    };
    client.on("error", onSessionError);
    try {
      await client.query(begin);
      const results: unknown[] = [];
      for (const query of body.queries) results.push(toPayload(await runQuery(client, query, mode), mode));
      await client.query("COMMIT");
      return { results };
    } catch (error) {
      await client.query("ROLLBACK").catch((rollbackError: unknown) => {
        // A session that cannot roll back is in an unknown state; never hand it out again.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.off("error", onSessionError);
      client.release(broken);
    }
  }
  return toPayload(await runQuery(pool, body, mode), mode);
}

function runQuery(target: PgPool | PoolClient, query: QueryData, mode: ResultMode): Promise<QueryResult> {
  // Extended protocol even without params, like Neon: one statement per query, and no
  // multi-statement strings sneaking through the simple-query path.
  const config: QueryConfig & { queryMode: "extended"; rowMode?: "array" } = {
    text: query.query,
    values: [...query.params],
    types: mode.types,
    queryMode: "extended",
  };
  if (mode.arrayMode) config.rowMode = "array";
  return target.query(config);
}

function toPayload(result: QueryResult, mode: ResultMode): unknown {
  return {
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    fields: result.fields.map((field) => ({
      name: field.name,
      tableID: field.tableID,
      columnID: field.columnID,
      dataTypeID: field.dataTypeID,
      dataTypeSize: field.dataTypeSize,
      dataTypeModifier: field.dataTypeModifier,
      format: field.format,
    })),
    rowAsArray: mode.arrayMode,
  };
}

function beginStatement(req: IncomingMessage): string {
  const parts: string[] = [];
  const isolation = header(req, "neon-batch-isolation-level");
  if (isolation !== undefined) {
    const level = ISOLATION_LEVELS[isolation];
    if (!level) throw new RequestError(400, `Invalid Neon-Batch-Isolation-Level: ${isolation}`);
    parts.push(`ISOLATION LEVEL ${level}`);
  }
  const readOnly = booleanHeader(req, "neon-batch-read-only");
  if (readOnly !== undefined) parts.push(readOnly ? "READ ONLY" : "READ WRITE");
  const deferrable = booleanHeader(req, "neon-batch-deferrable");
  if (deferrable !== undefined) parts.push(deferrable ? "DEFERRABLE" : "NOT DEFERRABLE");
  return parts.length === 0 ? "BEGIN" : `BEGIN ${parts.join(", ")}`;
}

function poolFor(pools: Pools, connectionString: string): PgPool {
  const existing = pools.byConnectionString.get(connectionString);
  if (existing) return existing;
  if (pools.closed) throw new RequestError(503, "Endpoint is shutting down");

  const pool = new Pool({
    ...poolConfigFrom(connectionString, pools.defaultPort),
    options: UTC_OPTION,
    max: POOL_MAX_CLIENTS,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    allowExitOnIdle: true,
  });
  // Idle clients can die (server restart, DROP DATABASE ... FORCE); the pool discards them, and an
  // unhandled 'error' event would otherwise take the whole process down.
  pool.on("error", () => {});
  const cache = pools.byConnectionString;
  if (cache.size >= MAX_POOLS) {
    const oldest = cache.keys().next();
    if (!oldest.done) {
      // end() lets checked-out clients finish their work before closing them.
      void cache.get(oldest.value)?.end().catch(() => {});
      cache.delete(oldest.value);
    }
  }
  cache.set(connectionString, pool);
  return pool;
}

/**
 * Only host, port, credentials, database and application_name are honoured: sslmode and Neon's
 * `options=endpoint%3D...` make sense to Neon's proxy, not to a plain local server.
 */
function poolConfigFrom(connectionString: string, defaultPort: number): PoolConfig {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    throw new RequestError(400, "Neon-Connection-String is not a valid URL");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new RequestError(400, "Neon-Connection-String must use the postgres:// or postgresql:// scheme");
  }
  const host = unbracket(url.hostname);
  if (!isLoopback(host)) {
    throw new RequestError(400, `Refusing to connect to non-loopback host ${host}`);
  }
  const config: PoolConfig = {
    host,
    port: url.port ? Number(url.port) : defaultPort,
    user: decodeURIComponent(url.username),
    database: decodeURIComponent(url.pathname.slice(1)),
  };
  if (url.password) config.password = decodeURIComponent(url.password);
  const applicationName = url.searchParams.get("application_name");
  if (applicationName) config.application_name = applicationName;
  return config;
}

function parseBody(text: string): QueryData | { queries: QueryData[] } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RequestError(400, "Request body is not valid JSON");
  }
  if (isRecord(body) && Array.isArray(body.queries)) {
    return { queries: body.queries.map((query: unknown) => toQueryData(query)) };
  }
  return toQueryData(body);
}

function toQueryData(value: unknown): QueryData {
  if (!isRecord(value) || typeof value.query !== "string") {
    throw new RequestError(400, 'Expected {"query": string, "params": [...]} or {"queries": [...]}');
  }
  const params = value.params ?? [];
  if (!Array.isArray(params)) throw new RequestError(400, "params must be an array");
  return { query: value.query, params };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RequestError(413, "Request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks, size).toString("utf8")));
    req.on("error", reject);
  });
}

function describeError(error: unknown): { status: number; body: Record<string, unknown> } {
  if (error instanceof DatabaseError) {
    const body: Record<string, unknown> = { message: error.message };
    for (const field of DB_ERROR_FIELDS) {
      if (error[field] !== undefined) body[field] = error[field];
    }
    return { status: 400, body };
  }
  if (error instanceof RequestError) return { status: error.status, body: { message: error.message } };
  // Anything else means Postgres was unreachable or the session broke: a gateway failure.
  const message = error instanceof Error ? error.message : String(error);
  const code = isRecord(error) && typeof error.code === "string" ? error.code : undefined;
  return { status: 502, body: code ? { message, code } : { message } };
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

// ---------------------------------------------------------------------------------------------
// WebSocket relay at /v2?address=host:port

function handleUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  wss: WebSocketServer,
  live: Set<() => void>,
): void {
  socket.on("error", () => socket.destroy());
  const url = new URL(req.url ?? "/", "http://relay");
  if (url.pathname !== WS_PATH) {
    rejectUpgrade(socket, 404, `Not found: ${url.pathname}`);
    return;
  }
  const target = parseAddress(url.searchParams.get("address"));
  if (!target) {
    rejectUpgrade(socket, 400, "Expected ?address=host:port");
    return;
  }
  // Checked before any connection attempt: this relay must never become a path off the machine.
  if (!isLoopback(target.host)) {
    rejectUpgrade(socket, 403, `Refusing to relay to non-loopback address ${target.host}`);
    return;
  }

  // Connect first so an unreachable database fails the handshake instead of opening a dead socket.
  const tcp = netConnect({ host: target.host, port: target.port });
  tcp.setNoDelay(true);
  let upgraded = false;
  const destroy = (): void => {
    socket.destroy();
    tcp.destroy();
  };
  live.add(destroy);
  // Also covers ws refusing a malformed handshake, in which case its callback never runs.
  socket.once("close", () => {
    if (!upgraded) tcp.destroy();
    live.delete(destroy);
  });
  tcp.once("error", (error) => {
    if (upgraded || socket.destroyed) return;
    rejectUpgrade(socket, 502, `Cannot reach ${target.host}:${target.port}: ${error.message}`);
  });
  tcp.once("connect", () => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      relay(ws, tcp);
    });
  });
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const reasons: Readonly<Record<number, string>> = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 502: "Bad Gateway" };
  const reason = reasons[status] ?? "Error";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

/** The driver writes `${host}:${port}` unbracketed, so an IPv6 host is everything before the last colon. */
function parseAddress(address: string | null): { host: string; port: number } | undefined {
  if (!address) return undefined;
  const colon = address.lastIndexOf(":");
  if (colon <= 0) return undefined;
  const host = unbracket(address.slice(0, colon));
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

function isLoopback(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === "localhost") return true;
  if (isIPv4(lower)) return lower.startsWith("127.");
  if (isIPv6(lower)) {
    // Let URL canonicalise the many spellings of ::1 and of IPv4-mapped 127.x addresses.
    const canonical = unbracket(new URL(`http://[${lower}]/`).hostname);
    return canonical === "::1" || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
  }
  return false;
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function booleanHeader(req: IncomingMessage, name: string): boolean | undefined {
  const value = header(req, name);
  if (value === undefined) return undefined;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new RequestError(400, `Invalid ${name} header: expected true or false`);
}

function pathOf(url: string | undefined): string {
  if (!url) return "/";
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
