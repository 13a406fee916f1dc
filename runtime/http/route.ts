import middy from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { z } from "zod";
import type { Principal, Role } from "../../core/auth/tokens";
import { ValidationError } from "../../core/errors";
import type { FieldIssue } from "../../core/errors";
import { container } from "../container";
import type { Container } from "../container";
import { authenticate, errorResponder, jsonBody, requestIdOf } from "./middlewares";
import type { HttpEvent } from "./middlewares";
import { toApiGatewayResult } from "./responses";
import type { HttpResult } from "./responses";

type Schema = z.ZodType;
type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteSpec<P, Q, B> {
  /** `public`, or the roles allowed to call (checked after the token is verified). */
  readonly auth: "public" | readonly Role[];
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** Extra middlewares for this route (e.g. metrics flushing), after auth. */
  readonly middlewares?: readonly middy.MiddlewareObj[];
}

export interface RouteRequest<P, Q, B, A> {
  readonly params: Parsed<P>;
  readonly query: Parsed<Q>;
  readonly body: Parsed<B>;
  readonly principal: A extends "public" ? undefined : Principal;
  readonly requestId: string;
  /** Milliseconds left before Lambda kills this invocation; deadlines derive from it. */
  readonly remainingTimeMs: () => number;
  readonly deps: Container;
}

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The one middy composition every API route uses: errors mapped once, logging context, header
 * normalisation, bounded JSON bodies, JWT auth with roles, and zod validation of params, query and
 * body with field-level 400s. The route function receives typed input and returns status + body.
 */
export function httpRoute<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
  const A extends "public" | readonly Role[] = "public",
>(spec: RouteSpec<P, Q, B> & { readonly auth: A }, run: (request: RouteRequest<P, Q, B, A>) => Promise<HttpResult>): ApiHandler {
  const deps = container();
  const { config, logger, clock } = deps;
  const stack = middy<HttpEvent, APIGatewayProxyStructuredResultV2>()
    .use(errorResponder(logger))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer())
    .use(jsonBody(config.HTTP_MAX_BODY_BYTES));
  if (spec.auth !== "public") {
    stack.use(authenticate({ secret: config.JWT_SECRET, issuer: config.JWT_ISSUER }, spec.auth, clock));
  }
  for (const middleware of spec.middlewares ?? []) stack.use(middleware as middy.MiddlewareObj<HttpEvent, APIGatewayProxyStructuredResultV2>);
  const handler = stack.handler(async (event, context) => {
    const requestId = requestIdOf(event, context.awsRequestId);
    logger.appendKeys({ requestId });
    const issues: FieldIssue[] = [];
    const params = validatePart(spec.params, "path", event.pathParameters ?? {}, issues);
    const query = validatePart(spec.query, "query", event.queryStringParameters ?? {}, issues);
    const body = validatePart(spec.body, "body", event.body, issues);
    if (issues.length > 0) throw new ValidationError(issues);
    const result = await run({
      params,
      query,
      body,
      principal: event.principal as RouteRequest<P, Q, B, A>["principal"],
      requestId,
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      deps,
    } as RouteRequest<P, Q, B, A>);
    return toApiGatewayResult(result);
  });
  return handler as unknown as ApiHandler;
}

function validatePart(schema: Schema | undefined, part: string, value: unknown, issues: FieldIssue[]): never {
  if (!schema) return undefined as never;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as never;
  for (const issue of parsed.error.issues) {
    issues.push({ field: [part, ...issue.path.map(String)].join("."), message: issue.message });
  }
  return undefined as never;
}
