import * as z from "zod/mini";
import { AppError, UnavailableError } from "../../core/errors";
import type { ErrorCode, FieldIssue } from "../../core/errors";
import type { HttpResult } from "./responses";
import { lazy } from "../../core/validation/lazy";

const STATUS: Record<ErrorCode, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
  config: 500,
};

export function httpStatusOf(error: unknown): number {
  return error instanceof AppError ? STATUS[error.code] : 500;
}

/**
 * The single mapping from errors to HTTP: an error we may expose keeps its code, message and
 * fields; a dependency failure is a 503 with Retry-After that says whether the change was applied;
 * anything else is a 500 whose details stay in the logs, findable by the request id.
 */
export function errorResult(error: unknown, requestId: string): HttpResult {
  const status = httpStatusOf(error);
  const retryAfter = error instanceof AppError && error.retryAfterSeconds !== undefined ? { "retry-after": String(error.retryAfterSeconds) } : undefined;
  if (error instanceof UnavailableError) {
    return {
      status,
      headers: { "retry-after": String(error.retryAfterSeconds ?? 1) },
      body: {
        error: {
          code: error.code,
          message:
            error.outcome === "unknown"
              ? "A dependency did not answer in time; the change may or may not have been applied, and retrying is safe"
              : "A dependency is unavailable; nothing was changed, try again shortly",
          outcome: error.outcome,
          requestId,
        },
      },
    };
  }
  if (error instanceof AppError && error.expose) {
    const fields: readonly FieldIssue[] | undefined = "issues" in error ? (error.issues as readonly FieldIssue[]) : undefined;
    return {
      status,
      ...(retryAfter ? { headers: retryAfter } : {}),
      body: { error: { code: error.code, message: error.message, ...(fields ? { fields } : {}), requestId } },
    };
  }
  return { status, body: { error: { code: "internal", message: "Internal server error", requestId } } };
}

/** The error body above, for every route's 4xx/5xx in the OpenAPI document. */
export const errorResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.optional(z.array(z.object({ field: z.string(), message: z.string() }))),
    outcome: z.optional(z.enum(["not_applied", "unknown"])),
    requestId: z.string(),
  }),
}));
