import { describe, expect, it } from "vitest";
import {
  ConfigError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  RateLimitedError,
  UnauthorizedError,
  UnavailableError,
  UnprocessableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../../core/errors";
import { cronDispositionOf } from "../../runtime/cron/error-mapping";
import { errorResult } from "../../runtime/http/error-mapping";
import { sqsDispositionOf } from "../../runtime/sqs/error-mapping";
import { telegramDispositionOf } from "../../runtime/telegram/error-mapping";

const cases = [
  [ValidationError.field("body.x", "bad"), 400, "poison", "continue", "reply"],
  [new UnauthorizedError("no token"), 401, "poison", "fail", "acknowledge"],
  [new ForbiddenError("no"), 403, "poison", "fail", "reply"],
  [new NotFoundError("none"), 404, "poison", "continue", "reply"],
  [new ConflictError("taken"), 409, "poison", "continue", "reply"],
  [new PreconditionFailedError("moved on"), 412, "poison", "continue", "reply"],
  [new PayloadTooLargeError("big"), 413, "poison", "continue", "reply"],
  [new UnsupportedMediaTypeError("xml"), 415, "poison", "fail", "reply"],
  [UnprocessableError.field("body.leverage", "must be at most 125"), 422, "poison", "continue", "reply"],
  [new RateLimitedError("slow down", { retryAfterSeconds: 7 }), 429, "retry", "fail", "reply"],
  [new UnavailableError("postgres timed out"), 503, "retry", "fail", "retry"],
  [new ConfigError("JWT_SECRET is missing"), 500, "retry", "fail", "acknowledge"],
  [new Error("bug"), 500, "retry", "fail", "acknowledge"],
] as const;

describe("error mappings, one per trigger", () => {
  it.each(cases)("%s -> HTTP %i, SQS %s, cron %s, Telegram %s", (error, status, sqs, cron, telegram) => {
    expect(errorResult(error, "req-1").status).toBe(status);
    expect(sqsDispositionOf(error)).toBe(sqs);
    expect(cronDispositionOf(error)).toBe(cron);
    expect(telegramDispositionOf(error).kind).toBe(telegram);
  });

  it("HTTP: field errors name their fields; Retry-After where a retry helps", () => {
    const invalid = errorResult(UnprocessableError.field("body.leverage", "must be at most 125"), "r");
    expect(invalid.body).toMatchObject({ error: { code: "unprocessable", fields: [{ field: "body.leverage", message: "must be at most 125" }], requestId: "r" } });
    expect(errorResult(new RateLimitedError("slow down", { retryAfterSeconds: 7 }), "r").headers).toEqual({ "retry-after": "7" });
    expect(errorResult(new ConflictError("in progress", { retryAfterSeconds: 2 }), "r").headers).toEqual({ "retry-after": "2" });
  });

  it("HTTP: a dependency failure hides its details and says whether the change was applied", () => {
    const notApplied = errorResult(new UnavailableError("connection to 10.0.0.7 refused"), "r");
    expect(notApplied.headers).toEqual({ "retry-after": "1" });
    expect(JSON.stringify(notApplied.body)).not.toContain("10.0.0.7");
    expect(notApplied.body).toMatchObject({ error: { code: "unavailable", outcome: "not_applied" } });
    const unknown = errorResult(new UnavailableError("commit timed out", { outcome: "unknown", retryAfterSeconds: 3 }), "r");
    expect(unknown.headers).toEqual({ "retry-after": "3" });
    expect(unknown.body).toMatchObject({ error: { code: "unavailable", outcome: "unknown" } });
  });

  it("HTTP: an unexpected error is a 500 with the request id and nothing else", () => {
    const result = errorResult(new Error("password=hunter2"), "req-9");
    expect(result.body).toEqual({ error: { code: "internal", message: "Internal server error", requestId: "req-9" } });
  });

  it("Telegram: a reply carries the code and the message the user can act on", () => {
    expect(telegramDispositionOf(UnprocessableError.field("leverage", "must be at most 125"))).toEqual({
      kind: "reply",
      code: "unprocessable",
      message: "leverage: must be at most 125",
    });
  });
});
