import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { invokeFunction } from "./lambda-runtime";
import { listenLocal } from "./listen";
import type { RouteDecl } from "./sst-manifest";

/** API Gateway's own limit on request payloads. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

interface CompiledRoute {
  readonly route: RouteDecl;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly literalSegments: number;
}

/** `/v1/lookups/{identifier}` and `/files/{proxy+}` as API Gateway matches them. */
export function compileRoute(route: RouteDecl): CompiledRoute {
  const names: string[] = [];
  let literalSegments = 0;
  const source = route.path
    .split("/")
    .map((segment) => {
      const greedy = /^\{(\w+)\+\}$/.exec(segment);
      if (greedy?.[1]) {
        names.push(greedy[1]);
        return "(.+)";
      }
      const param = /^\{(\w+)\}$/.exec(segment);
      if (param?.[1]) {
        names.push(param[1]);
        return "([^/]+)";
      }
      literalSegments += 1;
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { route, pattern: new RegExp(`^${source}$`), names, literalSegments };
}

export interface RouteMatch {
  readonly route: RouteDecl;
  readonly pathParameters: Record<string, string>;
}

export type RouteLookup = RouteMatch | "method-not-allowed" | "malformed-parameter" | undefined;

/**
 * Most specific route first (more literal segments), as API Gateway prefers. A path parameter whose
 * percent-encoding does not decode to UTF-8 (a lone `%`, `%E0%A4%A`, an encoded surrogate or an
 * overlong sequence) is "malformed-parameter": API Gateway answers those 400 before any function runs.
 */
export function createRouter(routes: readonly RouteDecl[]): (method: string, path: string) => RouteLookup {
  const compiled = routes.map(compileRoute).sort((a, b) => b.literalSegments - a.literalSegments);
  return (method, path) => {
    let pathMatched = false;
    for (const candidate of compiled) {
      const match = candidate.pattern.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (candidate.route.method !== method && candidate.route.method !== "ANY") continue;
      const pathParameters: Record<string, string> = {};
      for (const [index, name] of candidate.names.entries()) {
        const value = decodeParameter(match[index + 1] ?? "");
        if (value === undefined) return "malformed-parameter";
        pathParameters[name] = value;
      }
      return { route: candidate.route, pathParameters };
    }
    return pathMatched ? "method-not-allowed" : undefined;
  };
}

function decodeParameter(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** The path and query of a request target, as API Gateway receives them. */
export interface RequestTarget {
  /** Still percent-encoded, like `rawPath`. */
  readonly path: string;
  /** Without the `?`, like `rawQueryString`. */
  readonly query: string;
}

/** RFC 3986 `pchar`s and `/`: what a path may hold unencoded. */
const PATH_CHARACTERS = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const BROKEN_PERCENT_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/**
 * The request target in origin form (`/path?query`) or absolute form (`http://host/path?query`),
 * or undefined when it is malformed: not parseable (`http://[`), a path starting with `//`
 * (`//[::1`), characters a path may not hold unencoded, or a `%` not followed by two hex digits.
 */
export function parseRequestTarget(target: string): RequestTarget | undefined {
  let pathAndQuery = target;
  if (/^https?:\/\//i.test(target)) {
    try {
      const url = new URL(target);
      pathAndQuery = url.pathname + url.search;
    } catch {
      return undefined;
    }
  }
  if (!pathAndQuery.startsWith("/") || pathAndQuery.startsWith("//")) return undefined;
  const queryAt = pathAndQuery.indexOf("?");
  const path = queryAt < 0 ? pathAndQuery : pathAndQuery.slice(0, queryAt);
  const query = queryAt < 0 ? "" : pathAndQuery.slice(queryAt + 1);
  if (!PATH_CHARACTERS.test(path) || BROKEN_PERCENT_ESCAPE.test(path) || BROKEN_PERCENT_ESCAPE.test(query)) return undefined;
  return { path, query };
}

function toEvent(req: IncomingMessage, target: RequestTarget, body: Buffer, match: RouteMatch): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== "cookie") headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(target.query)) query[name] = name in query ? `${query[name]},${value}` : value;
  const contentType = headers["content-type"] ?? "";
  const textual = body.length === 0 || /json|text|xml|x-www-form-urlencoded/i.test(contentType) || contentType === "";
  const now = new Date();
  const routeKey = `${match.route.method} ${match.route.path}`;
  return {
    version: "2.0",
    routeKey,
    rawPath: target.path,
    rawQueryString: target.query,
    ...(req.headers.cookie ? { cookies: req.headers.cookie.split(/;\s*/) } : {}),
    headers,
    ...(target.query ? { queryStringParameters: query } : {}),
    ...(Object.keys(match.pathParameters).length > 0 ? { pathParameters: match.pathParameters } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "127.0.0.1",
      domainPrefix: "local",
      http: {
        method: req.method ?? "GET",
        path: target.path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey,
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: textual ? body.toString("utf8") : body.toString("base64") } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string | number | boolean> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

function handleRequest(req: IncomingMessage, res: ServerResponse, route: Router, options: DevServerOptions): void {
  const started = performance.now();
  const method = (req.method ?? "GET").toUpperCase();
  const target = parseRequestTarget(req.url ?? "/");
  const finish = (status: number): void =>
    options.log?.(`${method} ${target?.path ?? "(malformed target)"} ${status} ${(performance.now() - started).toFixed(1)}ms`);
  // A client going away mid-body makes the request emit 'error', which unhandled would end the process.
  req.on("error", () => {});
  if (!target) {
    send(res, 400, BAD_REQUEST, { connection: "close" });
    return finish(400);
  }
  if (Number(req.headers["content-length"]) > MAX_PAYLOAD_BYTES) {
    send(res, 413, TOO_LARGE, { connection: "close" });
    return finish(413);
  }
  readBody(req).then(
    (body) => {
      if (body === undefined) {
        send(res, 413, TOO_LARGE, { connection: "close" });
        return finish(413);
      }
      dispatch({ req, res, route, options, method, target, body, finish });
    },
    () => res.destroy(),
  );
}

interface Dispatch {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Router;
  readonly options: DevServerOptions;
  readonly method: string;
  readonly target: RequestTarget;
  readonly body: Buffer;
  readonly finish: (status: number) => void;
}

function dispatch({ req, res, route, options, method, target, body, finish }: Dispatch): void {
  if (method === "GET" && target.path === "/openapi.json" && options.openApi) {
    options.openApi().then(
      (document) => send(res, 200, JSON.stringify(document)),
      (error: unknown) => failRequest(res, error),
    );
    return finish(200);
  }
  const match = route(method, target.path);
  if (match === "malformed-parameter") {
    send(res, 400, BAD_REQUEST);
    return finish(400);
  }
  if (match === undefined || match === "method-not-allowed") {
    send(res, 404, NOT_FOUND);
    return finish(404);
  }
  const event = toEvent(req, target, body, match);
  invokeFunction(match.route.function, event)
    .then((result) => writeResult(res, result))
    .catch((error: unknown) => {
      // What API Gateway answers when the Lambda itself crashes, times out or returns what it cannot send.
      console.error(`[dev-server] ${match.route.function.handler.spec} failed:`, error);
      send(res, 502, INTERNAL_ERROR);
    })
    .finally(() => finish(res.statusCode));
}

/** The body, or undefined once it exceeds API Gateway's payload limit (the rest is discarded). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_PAYLOAD_BYTES) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_PAYLOAD_BYTES ? undefined : Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

/** A bug of the dev server itself: answered like an integration failure, never the end of the process. */
function failRequest(res: ServerResponse, error: unknown): void {
  console.error("[dev-server] request failed:", error);
  send(res, 500, INTERNAL_ERROR);
}

/** How long a closing connection keeps reading what its client still sends before it is dropped. */
const LINGER_MS = 5_000;

/**
 * Requests Node's HTTP parser refuses (bad header, bad method, oversized head, bytes after a
 * body): answered, then closed. A response already under way on the connection (the request
 * before the bad bytes) is finished first and is then the last answer, as Node's own handler
 * does; a connection already closing has sent its answer. Either way it lingers (below).
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  // The parser may refuse every later chunk as well: the first refusal decides, the rest are dropped.
  if (lingering.has(socket)) return;
  linger(socket);
  if (!socket.writable) return;
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight && !inFlight.writableFinished) {
    inFlight.once("finish", () => socket.end());
    inFlight.once("close", () => socket.end());
    return;
  }
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const reason = { 400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large" }[status];
  const body = JSON.stringify({ message: reason });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

const lingering = new WeakSet<Duplex>();

/**
 * Lingering close (RFC 9112, 9.6): a connection the server ends after an answer (the client asked
 * to close, or sent bytes it refuses) stays open to read and drop what the client still sends,
 * until the client closes or LINGER_MS pass. Destroying it at once, as Node does, resets it with
 * bytes unread, and the client loses the answer it was sent.
 */
function linger(socket: Duplex): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  socket.on("data", () => {});
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once("close", () => clearTimeout(timer));
}

/** Node ends a connection it does not keep alive with destroySoon(): lingering instead. */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = () => {
    linger(socket);
    socket.end();
  };
}

/** Payload format 2.0: a structured result, or anything else as a JSON 200. */
function writeResult(res: ServerResponse, result: unknown): void {
  if (res.destroyed) return; // the client left
  if (result && typeof result === "object" && "statusCode" in result) {
    const structured = result as APIGatewayProxyStructuredResultV2;
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(structured.headers ?? {})) headers[name] = String(value);
    if (structured.cookies?.length) headers["set-cookie"] = structured.cookies;
    res.writeHead(structured.statusCode ?? 200, headers);
    const body = structured.body ?? "";
    res.end(structured.isBase64Encoded ? Buffer.from(body, "base64") : body);
    return;
  }
  send(res, 200, typeof result === "string" ? result : JSON.stringify(result ?? null));
}

export interface DevServer {
  readonly url: string;
  close(): Promise<void>;
}

export interface DevServerOptions {
  readonly routes: readonly RouteDecl[];
  readonly host?: string;
  readonly port?: number;
  /** Served at GET /openapi.json (the API's own description); absent: 404. */
  readonly openApi?: () => Promise<unknown>;
  /** One line per request; off for benchmarks. */
  readonly log?: ((line: string) => void) | undefined;
}

/** API Gateway's bodies for what it refuses itself. */
const BAD_REQUEST = JSON.stringify({ message: "Bad Request" });
const NOT_FOUND = JSON.stringify({ message: "Not Found" });
const TOO_LARGE = JSON.stringify({ message: "Request Entity Too Large" });
const INTERNAL_ERROR = JSON.stringify({ message: "Internal Server Error" });

type Router = ReturnType<typeof createRouter>;

/**
 * Serves the declared routes by turning HTTP into API Gateway v2 events and back. What API Gateway
 * refuses before invoking a function (malformed targets, undecodable path parameters, oversized
 * payloads, unparseable HTTP) is refused here the same way, and no request can stop the server.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const route = createRouter(options.routes);
  const server = createServer((req, res) => {
    try {
      handleRequest(req, res, route, options);
    } catch (error) {
      failRequest(res, error);
    }
  });
  server.on("clientError", answerClientError);
  server.on("connection", lingerOnClose);
  server.keepAliveTimeout = 65_000;
  const authority = await listenLocal(server, options.host ?? "127.0.0.1", options.port);
  return {
    url: `http://${authority}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
