import { AsyncLocalStorage } from "node:async_hooks";
import { createHash, timingSafeEqual } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { BotError, webhookCallback } from "grammy/web";
import type { Bot } from "grammy/web";
import * as z from "zod/mini";
import { errorCodeOf, errorMessage } from "../../core/errors";
import type { LogPort } from "../../core/observability/log-port";
import { withTimeout } from "../../core/resilience/timeout";
import { telegramDispositionOf } from "./error-mapping";
import { lazy } from "../../core/validation/lazy";

export const SECRET_HEADER = "x-telegram-bot-api-secret-token";

/** Kept back from the Lambda's remaining time, so the function answers before it is killed. */
const LAMBDA_RESERVE_MS = 500;

export type WebhookHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface WebhookOptions {
  readonly bot: Bot;
  readonly secret: string;
  /** Longest one update may take (under Telegram's timeout and the function's). */
  readonly budgetMs: number;
  readonly log: LogPort;
  /** Where the deadline of the update being handled is kept for the commands (`remainingMs`). */
  readonly deadlines: AsyncLocalStorage<number>;
}

/** The smallest update Telegram can send: anything else is malformed. */
const updateEnvelope = /* @__PURE__ */ lazy(() => z.looseObject({ update_id: z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)) }));

/** Digests of equal length, so neither the content nor the length of the secret leaks through timing. */
export function secretMatches(received: string | undefined, expected: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  return timingSafeEqual(digest(received ?? ""), digest(expected)) && received !== undefined;
}

const status = (statusCode: number, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 => ({ statusCode, headers, body: "" });

function bodyOf(event: APIGatewayProxyEventV2): string {
  const body = event.body ?? "";
  return event.isBase64Encoded ? Buffer.from(body, "base64").toString("utf8") : body;
}

/** The update's id and kinds, for logs: never its content (a /setapi message carries keys). */
function parseUpdate(body: string): { ok: true; updateId: number } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: "body is not JSON" };
  }
  const parsed = updateEnvelope().safeParse(json);
  return parsed.success ? { ok: true, updateId: parsed.data.update_id } : { ok: false, reason: "no valid update_id" };
}

/**
 * POST /telegram/webhook through grammY's webhook adapter for Lambda behind API Gateway:
 * a wrong or missing secret token is a 401 before anything runs; a malformed update is
 * acknowledged (200) and logged, so Telegram does not redeliver it forever; an update that failed
 * transiently, or ran out of its budget, is a 503 so Telegram redelivers it; everything else 200.
 */
export function createWebhookHandler(options: WebhookOptions): WebhookHandler {
  const { log } = options;
  const callback = webhookCallback(options.bot, "aws-lambda-async", { secretToken: options.secret, timeoutMilliseconds: Number.POSITIVE_INFINITY });
  return async (event, context) => {
    if (!secretMatches(event.headers?.[SECRET_HEADER], options.secret)) {
      log.warn("telegram webhook: missing or wrong secret token", { sourceIp: event.requestContext?.http?.sourceIp });
      return status(401);
    }
    const body = bodyOf(event);
    const update = parseUpdate(body);
    if (!update.ok) {
      log.warn("telegram webhook: malformed update acknowledged", { reason: update.reason, bytes: body.length });
      return status(200);
    }
    const budgetMs = Math.max(1, Math.min(options.budgetMs, context.getRemainingTimeInMillis() - LAMBDA_RESERVE_MS));
    try {
      // The adapter resolves with its own `{statusCode: 200}` once the update is handled.
      const handled = options.deadlines.run(Date.now() + budgetMs, () => callback({ body, headers: event.headers ?? {} }, context) as unknown as Promise<APIGatewayProxyStructuredResultV2 | undefined>);
      return (await withTimeout(handled, budgetMs, `telegram update ${update.updateId}`)) ?? status(200);
    } catch (failure) {
      const error = failure instanceof BotError ? failure.error : failure;
      if (telegramDispositionOf(error).kind === "retry") {
        log.warn("telegram webhook: transient failure, Telegram will redeliver", { updateId: update.updateId, reason: errorMessage(error) });
        return status(503, { "retry-after": "1" });
      }
      log.error("telegram webhook: update failed, acknowledged", { updateId: update.updateId, code: errorCodeOf(error), reason: errorMessage(error) });
      return status(200);
    }
  };
}
