import middy from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { safeParse } from "zod/mini";
import type * as z from "zod/mini";
import type { Principal, Role } from "../../core/auth/tokens";
import { authConfigSchema, httpConfigSchema, maxTokenAgeSeconds } from "../../core/config";
import { ValidationError } from "../../core/errors";
import type { FieldIssue } from "../../core/errors";
import type { Lazy } from "../../core/validation/lazy";
import { configFor } from "../config";
import { platform } from "../platform";
import { authenticate, errorResponder, jsonBody, requestIdOf } from "./middlewares";
import type { HttpEvent } from "./middlewares";
import { toApiGatewayResult } from "./responses";
import type { HttpResult } from "./responses";

/** Any zod schema (zod/mini is what this codebase writes; see core/validation/zod-locale.ts). */
type Schema = z.core.$ZodType;
/**
 * A route's schemas are declared lazily (core/validation/lazy.ts): the stack builds those it
 * validates with on the first invocation, and response schemas are only built for OpenAPI.
 */
export type RouteSchema = Lazy<Schema>;
type Parsed<S> = S extends Lazy<infer Built extends Schema> ? z.output<Built> : undefined;

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * What a route is, declared beside its handler: the OpenAPI document (runtime/http/openapi.ts) is
 * generated from these, and a test checks them against the routes infra/ declares.
 */
export interface RouteContract {
  readonly method: HttpMethod;
  /** API Gateway path, e.g. `/v1/lookups/{identifier}`. */
  readonly path: string;
  readonly summary: string;
  /** `public`, or the roles allowed to call (checked after the token is verified). */
  readonly auth: "public" | readonly Role[];
  readonly params?: RouteSchema | undefined;
  readonly query?: RouteSchema | undefined;
  /**
   * Request headers the route relies on (an object schema, lower-case names, e.g. `if-match`):
   * checked like the query (a 400 names `headers.<name>`) and documented as header parameters.
   */
  readonly requestHeaders?: RouteSchema | undefined;
  readonly body?: RouteSchema | undefined;
  /** Status -> body schema (null: no body). */
  readonly responses: Readonly<Record<number, RouteSchema | null>>;
  /** Content types the body may have (default: JSON); checked before the body is parsed. */
  readonly bodyContentTypes?: readonly string[];
  /** A tighter body limit than HTTP_MAX_BODY_BYTES for this route (413 above it). */
  readonly maxBodyBytes?: number;
}

export interface RouteSpec<P extends RouteSchema | undefined, Q extends RouteSchema | undefined, B extends RouteSchema | undefined, A extends "public" | readonly Role[]> extends RouteContract {
  readonly auth: A;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** Extra middlewares (e.g. metrics flushing), after auth; built on the first invocation. */
  readonly middlewares?: () => readonly middy.MiddlewareObj[];
}

export interface RouteRequest<P, Q, B, A> {
  readonly params: Parsed<P>;
  readonly query: Parsed<Q>;
  readonly body: Parsed<B>;
  readonly principal: A extends "public" ? undefined : Principal;
  /** Request headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly requestId: string;
  /** Milliseconds left before Lambda kills this invocation; deadlines derive from it. */
  readonly remainingTimeMs: () => number;
}

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
export type RouteHandler = ApiHandler & { readonly route: RouteContract };

/**
 * The one middy composition every API route uses: errors mapped once, logging context, header
 * normalisation, JWT auth with roles, then a bounded JSON body, then zod validation of params,
 * query and body with field-level 400s. The route function receives typed input and returns status
 * and body. The stack (and the config it needs) is built on the first invocation, so importing a
 * handler module (OpenAPI generation, tests) builds no client.
 */
export function httpRoute<
  P extends RouteSchema | undefined = undefined,
  Q extends RouteSchema | undefined = undefined,
  B extends RouteSchema | undefined = undefined,
  const A extends "public" | readonly Role[] = "public",
>(spec: RouteSpec<P, Q, B, A>, run: (request: RouteRequest<P, Q, B, A>) => Promise<HttpResult>): RouteHandler {
  let built: ApiHandler | undefined;
  const handler: ApiHandler = (event, context) => {
    built ??= buildStack(spec, run);
    return built(event, context);
  };
  const { middlewares: _middlewares, ...contract } = spec;
  return Object.assign(handler, { route: contract as RouteContract });
}

function buildStack<P extends RouteSchema | undefined, Q extends RouteSchema | undefined, B extends RouteSchema | undefined, A extends "public" | readonly Role[]>(
  spec: RouteSpec<P, Q, B, A>,
  run: (request: RouteRequest<P, Q, B, A>) => Promise<HttpResult>,
): ApiHandler {
  const { logger, clock } = platform();
  const stack = middy<HttpEvent, APIGatewayProxyStructuredResultV2>()
    .use(errorResponder(logger))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer());
  if (spec.auth !== "public") {
    const auth = configFor(authConfigSchema);
    const tokenOptions = { secret: auth.JWT_SECRET, issuer: auth.JWT_ISSUER, maxAgeSeconds: maxTokenAgeSeconds(auth) };
    stack.use(authenticate(tokenOptions, spec.auth as readonly Role[], clock));
  }
  // After authentication: an anonymous caller never gets a body parsed.
  const maxBodyBytes = Math.min(spec.maxBodyBytes ?? Number.POSITIVE_INFINITY, configFor(httpConfigSchema).HTTP_MAX_BODY_BYTES);
  stack.use(jsonBody(maxBodyBytes, spec.bodyContentTypes));
  for (const middleware of spec.middlewares?.() ?? []) stack.use(middleware as middy.MiddlewareObj<HttpEvent, APIGatewayProxyStructuredResultV2>);
  const [paramsSchema, querySchema, headersSchema, bodySchema] = [spec.params, spec.query, spec.requestHeaders, spec.body].map((schema) => schema?.());
  const handler = stack.handler(async (event, context) => {
    const requestId = requestIdOf(event, context.awsRequestId);
    logger.appendKeys({ requestId });
    const issues: FieldIssue[] = [];
    const params = validatePart(paramsSchema, "path", event.pathParameters ?? {}, issues);
    const query = validatePart(querySchema, "query", event.queryStringParameters ?? {}, issues);
    validatePart(headersSchema, "headers", event.headers, issues);
    const body = validatePart(bodySchema, "body", event.body, issues);
    if (issues.length > 0) throw new ValidationError(issues);
    const result = await run({
      params,
      query,
      body,
      principal: event.principal as RouteRequest<P, Q, B, A>["principal"],
      headers: event.headers,
      requestId,
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
    } as RouteRequest<P, Q, B, A>);
    return toApiGatewayResult(result);
  });
  return handler as unknown as ApiHandler;
}

function validatePart(schema: Schema | undefined, part: string, value: unknown, issues: FieldIssue[]): never {
  if (!schema) return undefined as never;
  const parsed = safeParse(schema, value);
  if (parsed.success) return parsed.data as never;
  for (const issue of parsed.error.issues) {
    issues.push({ field: [part, ...issue.path.map(String)].join("."), message: issue.message });
  }
  return undefined as never;
}
