import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { AppError, ValidationError } from "../../core/errors";

export interface HttpResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

export function toApiGatewayResult(result: HttpResult): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: result.status,
    headers: { ...JSON_HEADERS, ...result.headers },
    body: result.body === undefined ? "" : JSON.stringify(result.body),
  };
}

/**
 * The single mapping from errors to HTTP: an AppError that may be exposed keeps its status and
 * message; anything else is a 500 whose details stay in the logs, findable by the request id.
 */
export function errorResult(error: unknown, requestId: string): HttpResult {
  if (error instanceof AppError && error.expose) {
    return {
      status: error.status,
      body: {
        error: {
          code: error.code,
          message: error.message,
          ...(error instanceof ValidationError ? { fields: error.issues } : {}),
          requestId,
        },
      },
    };
  }
  const status = error instanceof AppError ? error.status : 500;
  return {
    status,
    body: {
      error: {
        code: status === 503 ? "dependency_unavailable" : "internal_error",
        message: status === 503 ? "A dependency is unavailable; try again shortly" : "Internal server error",
        requestId,
      },
    },
  };
}
