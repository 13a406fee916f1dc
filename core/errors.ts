/**
 * Every error the core raises on purpose. The HTTP layer maps them to responses in one place
 * (runtime/http/errors-middleware.ts): `expose` errors show their message, the rest become a
 * generic 500 tied to the request id.
 */
export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `body.identifiers.3`. */
  readonly field: string;
  readonly message: string;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Whether the message is safe to show to the caller. */
  readonly expose: boolean = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  readonly status = 400;
  readonly code = "validation_failed";
  constructor(
    readonly issues: readonly FieldIssue[],
    options?: { cause?: unknown },
  ) {
    super(issues.map((issue) => `${issue.field}: ${issue.message}`).join("; "), options);
  }
  static field(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }]);
  }
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly code = "payload_too_large";
}

export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly code = "unauthorized";
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly code = "forbidden";
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly code = "not_found";
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly code = "conflict";
}

/** A dependency (database, cache, queue, legacy service) failed; details stay in the logs. */
export class DependencyError extends AppError {
  readonly status = 503;
  readonly code = "dependency_unavailable";
  override readonly expose = false;
}

/** Configuration is missing or malformed: raised at cold start, names the variable. */
export class ConfigError extends AppError {
  readonly status = 500;
  readonly code = "config_invalid";
  override readonly expose = false;
}
