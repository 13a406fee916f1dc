import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
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

/** Most specific route first (more literal segments), as API Gateway prefers. */
export function createRouter(routes: readonly RouteDecl[]): (method: string, path: string) => RouteMatch | "method-not-allowed" | undefined {
  const compiled = routes.map(compileRoute).sort((a, b) => b.literalSegments - a.literalSegments);
  return (method, path) => {
    let pathMatched = false;
    for (const candidate of compiled) {
      const match = candidate.pattern.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (candidate.route.method !== method && candidate.route.method !== "ANY") continue;
      const pathParameters: Record<string, string> = {};
      candidate.names.forEach((name, index) => {
        pathParameters[name] = decodeURIComponent(match[index + 1] ?? "");
      });
      return { route: candidate.route, pathParameters };
    }
    return pathMatched ? "method-not-allowed" : undefined;
  };
}

function toEvent(req: IncomingMessage, url: URL, body: Buffer, match: RouteMatch): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== "cookie") headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const contentType = headers["content-type"] ?? "";
  const textual = body.length === 0 || /json|text|xml|x-www-form-urlencoded/i.test(contentType) || contentType === "";
  const now = new Date();
  const routeKey = `${match.route.method} ${match.route.path}`;
  return {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(req.headers.cookie ? { cookies: req.headers.cookie.split(/;\s*/) } : {}),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    ...(Object.keys(match.pathParameters).length > 0 ? { pathParameters: match.pathParameters } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "127.0.0.1",
      domainPrefix: "local",
      http: {
        method: req.method ?? "GET",
        path: url.pathname,
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
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body);
}

/** Payload format 2.0: a structured result, or anything else as a JSON 200. */
function writeResult(res: ServerResponse, result: unknown): void {
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

/** Serves the declared routes by turning HTTP into API Gateway v2 events and back. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const route = createRouter(options.routes);
  const server = createServer((req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "http://local");
    const method = (req.method ?? "GET").toUpperCase();
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => {
      const finish = (status: number) =>
        options.log?.(`${method} ${url.pathname} ${status} ${(performance.now() - started).toFixed(1)}ms`);
      if (tooLarge) {
        send(res, 413, JSON.stringify({ message: "Request Entity Too Large" }));
        return finish(413);
      }
      if (method === "GET" && url.pathname === "/openapi.json" && options.openApi) {
        options.openApi().then(
          (document) => send(res, 200, JSON.stringify(document)),
          (error: unknown) => send(res, 500, JSON.stringify({ message: String(error) })),
        );
        return finish(200);
      }
      const match = route(method, url.pathname);
      if (match === undefined || match === "method-not-allowed") {
        send(res, 404, JSON.stringify({ message: "Not Found" }));
        return finish(404);
      }
      const event = toEvent(req, url, Buffer.concat(chunks), match);
      invokeFunction(match.route.function, event).then(
        (result) => {
          writeResult(res, result);
          finish(res.statusCode);
        },
        (error: unknown) => {
          // What API Gateway answers when the Lambda itself crashes or times out.
          console.error(`[dev-server] ${match.route.function.handler.spec} failed:`, error);
          send(res, 502, JSON.stringify({ message: "Internal Server Error" }));
          finish(502);
        },
      );
    });
  });
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
