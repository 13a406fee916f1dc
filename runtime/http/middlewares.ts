import type middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { Clock } from "../../core/clock";
import { requireRole } from "../../core/auth/tokens";
import { VerifiedTokens } from "../../core/auth/verified-tokens";
import type { Principal, Role, TokenOptions } from "../../core/auth/tokens";
import { AppError, PayloadTooLargeError, UnauthorizedError, UnsupportedMediaTypeError, ValidationError } from "../../core/errors";
import type { Logger } from "../../core/observability/logger";
import { errorResult, httpStatusOf } from "./error-mapping";
import { toApiGatewayResult } from "./responses";

/** What the stack adds to the API Gateway event before the route runs. */
export interface HttpEvent extends Omit<APIGatewayProxyEventV2, "body"> {
  body: unknown;
  principal?: Principal;
}

type HttpMiddleware = middy.MiddlewareObj<HttpEvent, APIGatewayProxyStructuredResultV2>;

export function requestIdOf(event: { requestContext?: { requestId?: string } }, awsRequestId: string): string {
  return event.requestContext?.requestId ?? awsRequestId;
}

/** First in the stack so its onError sees every failure, including other middlewares'. */
export function errorResponder(logger: Logger): HttpMiddleware {
  return {
    onError: async (request) => {
      const requestId = requestIdOf(request.event, request.context.awsRequestId);
      const { error } = request;
      if (error instanceof AppError && error.expose) {
        logger.info("request rejected", { requestId, status: httpStatusOf(error), code: error.code, reason: error.message });
      } else {
        logger.error("request failed", { requestId, error: error ?? undefined });
      }
      request.response = toApiGatewayResult(errorResult(error, requestId));
    },
  };
}

/**
 * Bounded bodies of the route's content types (JSON by default, `+json` types included); a bad
 * body is a 400 naming `body`, a wrong content type a 415, never a 500.
 */
export function jsonBody(maxBytes: number, contentTypes: readonly string[] = ["application/json"]): HttpMiddleware {
  return {
    before: async (request) => {
      const raw = request.event.body;
      if (raw === undefined || raw === null || raw === "") {
        request.event.body = undefined;
        return;
      }
      if (typeof raw !== "string") return;
      const text = request.event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
      if (Buffer.byteLength(text, "utf8") > maxBytes) {
        throw new PayloadTooLargeError(`body exceeds ${maxBytes} bytes`);
      }
      const contentType = request.event.headers["content-type"];
      if (contentType !== undefined && !acceptsContentType(contentType, contentTypes)) {
        throw new UnsupportedMediaTypeError(`content-type must be ${contentTypes.join(" or ")}`);
      }
      try {
        request.event.body = JSON.parse(text) as unknown;
      } catch (error) {
        throw new ValidationError([{ field: "body", message: "is not valid JSON" }], { cause: error });
      }
    },
  };
}

function acceptsContentType(header: string, accepted: readonly string[]): boolean {
  const mediaType = header.split(";")[0]?.trim().toLowerCase() ?? "";
  return accepted.includes(mediaType) || (accepted.includes("application/json") && /^application\/[\w.-]+\+json$/.test(mediaType));
}

/**
 * Bearer JWT (HS256 only; exp, iat and the role's maximum lifetime enforced) and the route's role
 * gate. A token verified once is remembered until its `exp` (core/auth/verified-tokens.ts).
 */
export function authenticate(options: TokenOptions, allowed: readonly Role[], clock: Clock): HttpMiddleware {
  const tokens = new VerifiedTokens(options);
  return {
    before: async (request) => {
      const header = request.event.headers.authorization;
      const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!match?.[1]) throw new UnauthorizedError("missing bearer token");
      const principal = await tokens.verify(match[1], clock.now());
      requireRole(principal, allowed);
      request.event.principal = principal;
    },
  };
}
