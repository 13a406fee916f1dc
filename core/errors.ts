/**
 * Every error the core raises on purpose: a code, a message and a cause, nothing about transport.
 * Each trigger maps codes once, in runtime/: HTTP status and body (runtime/http/error-mapping.ts),
 * SQS retry or poison (runtime/sqs/error-mapping.ts), cron fail or continue
 * (runtime/cron/error-mapping.ts), Telegram reply or acknowledge (runtime/telegram/error-mapping.ts).
 */
export const errorCodes = [
  /** The request is malformed (syntax, type, shape): the caller must change it. */
  "invalid",
  /** Well-formed, but breaks a rule of the domain (a range, a cross-field rule). */
  "unprocessable",
  "unauthorized",
  "forbidden",
  "not_found",
  /** Clashes with existing state (a unique identifier, a twin request still in progress). */
  "conflict",
  /** A condition the caller set (If-Match) no longer holds. */
  "precondition_failed",
  "too_large",
  "unsupported_media_type",
  "rate_limited",
  /** A dependency (database, cache, queue, remote service) failed or ran out of time: retry later. */
  "unavailable",
  /** Configuration is missing or malformed (a cold start names the variable). */
  "config",
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `body.identifiers.3`. */
  readonly field: string;
  readonly message: string;
}

export interface AppErrorOptions {
  readonly cause?: unknown;
  /** When a retry makes sense, how long to wait first. */
  readonly retryAfterSeconds?: number;
}

export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  /** Whether the message is safe to show to the caller (dependency failures keep theirs in the logs). */
  readonly expose: boolean = true;
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Errors that name the fields at fault. */
abstract class FieldError extends AppError {
  constructor(
    readonly issues: readonly FieldIssue[],
    options?: AppErrorOptions,
  ) {
    super(issues.map((issue) => `${issue.field}: ${issue.message}`).join("; "), options);
  }
}

export class ValidationError extends FieldError {
  readonly code = "invalid";
  static field(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }]);
  }
}

export class UnprocessableError extends FieldError {
  readonly code = "unprocessable";
  static field(field: string, message: string): UnprocessableError {
    return new UnprocessableError([{ field, message }]);
  }
}

export class UnauthorizedError extends AppError {
  readonly code = "unauthorized";
}

export class ForbiddenError extends AppError {
  readonly code = "forbidden";
}

export class NotFoundError extends AppError {
  readonly code = "not_found";
}

export class ConflictError extends AppError {
  readonly code = "conflict";
}

export class PreconditionFailedError extends AppError {
  readonly code = "precondition_failed";
}

export class PayloadTooLargeError extends AppError {
  readonly code = "too_large";
}

export class UnsupportedMediaTypeError extends AppError {
  readonly code = "unsupported_media_type";
}

export class RateLimitedError extends AppError {
  readonly code = "rate_limited";
}

/**
 * A dependency failed; details stay in the logs. `outcome` says whether the change may have
 * happened: `not_applied` (safe to retry, nothing changed) or `unknown` (retry is safe only because
 * the operation is idempotent; the caller is told so).
 */
export class UnavailableError extends AppError {
  readonly code = "unavailable";
  override readonly expose = false;
  readonly outcome: "not_applied" | "unknown";
  constructor(message: string, options: AppErrorOptions & { readonly outcome?: "not_applied" | "unknown" } = {}) {
    super(message, { retryAfterSeconds: 1, ...options });
    this.outcome = options.outcome ?? "not_applied";
  }
}

/** Configuration is missing or malformed: raised at cold start, names the variable. */
export class ConfigError extends AppError {
  readonly code = "config";
  override readonly expose = false;
}

/** The message of anything thrown, for logs and operator output. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The code of an error, `internal` when it is not one of ours (a bug or an unexpected failure). */
export function errorCodeOf(error: unknown): ErrorCode | "internal" {
  return error instanceof AppError ? error.code : "internal";
}
