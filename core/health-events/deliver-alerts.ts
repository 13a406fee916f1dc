import type { Clock } from "../clock";
import { errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import type { AdminAlert } from "./model";
import type { AdminChat, AlertFailure, AlertOutbox, ChatSendResult } from "./ports";

export interface AlertDeliveryOptions {
  /** How long a sender owns a claimed alert before another may retry it. */
  readonly leaseMs: number;
  /** A 429 asking to wait at most this long is waited out in place; longer waits go to the cron. */
  readonly inlineRetryMaxSeconds: number;
  /** Attempts after which a failing alert is given up (status failed). */
  readonly maxAttempts: number;
}

export interface AlertDeliveryDeps {
  readonly outbox: AlertOutbox;
  readonly chat: AdminChat;
  readonly clock: Clock;
  readonly logger: LogPort;
  readonly sleep: (ms: number) => Promise<void>;
  readonly delivery: AlertDeliveryOptions;
}

export type DeliveryOutcome = "sent" | "retry" | "failed" | "skipped" | "not_claimed";

export const defaultAlertDeliveryOptions: AlertDeliveryOptions = { leaseMs: 30_000, inlineRetryMaxSeconds: 5, maxAttempts: 12 };

/** 1, 2, 4 ... minutes between attempts, at most an hour. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(60 * 2 ** Math.max(0, attempts - 1), 3_600);
}

async function sendSafely(chat: AdminChat, text: string): Promise<ChatSendResult> {
  try {
    return await chat.send(text);
  } catch (error) {
    return { kind: "failed", retryable: true, reason: errorMessage(error) };
  }
}

function failureOf(deps: AlertDeliveryDeps, alert: AdminAlert, result: Exclude<ChatSendResult, { kind: "sent" }>): AlertFailure {
  const now = deps.clock.now().getTime();
  if (result.kind === "rate_limited") {
    return { kind: "retry", at: new Date(now + result.retryAfterSeconds * 1000), error: `rate limited: retry after ${result.retryAfterSeconds}s` };
  }
  const attempts = alert.attempts + 1;
  if (!result.retryable || attempts >= deps.delivery.maxAttempts) return { kind: "give_up", error: result.reason };
  return { kind: "retry", at: new Date(now + retryDelaySeconds(attempts) * 1000), error: result.reason };
}

export interface DeliveryResult {
  readonly outcome: DeliveryOutcome;
  /** Set after a 429: nothing should be sent to Telegram before this. */
  readonly rateLimitedUntil?: Date;
}

/**
 * Sends one claimed alert and settles its row. A 429 is honoured: the next attempt is never before
 * Telegram's retry_after (waited out here when short and `waitInline`, else left to the cron).
 */
export async function sendClaimedAlert(deps: AlertDeliveryDeps, alert: AdminAlert, waitInline: boolean): Promise<DeliveryResult> {
  if (!deps.chat.configured) {
    await deps.outbox.markSkipped(alert.id, "no bot token or admin chat configured");
    return { outcome: "skipped" };
  }
  let result = await sendSafely(deps.chat, alert.text);
  if (result.kind === "rate_limited" && waitInline && result.retryAfterSeconds <= deps.delivery.inlineRetryMaxSeconds) {
    await deps.sleep(result.retryAfterSeconds * 1000);
    result = await sendSafely(deps.chat, alert.text);
  }
  if (result.kind === "sent") {
    await deps.outbox.markSent(alert.id, deps.clock.now());
    return { outcome: "sent" };
  }
  const failure = failureOf(deps, alert, result);
  deps.logger.warn("admin alert not delivered", { alertId: alert.id, attempts: alert.attempts + 1, next: failure.kind, reason: failure.error });
  await deps.outbox.markFailed(alert.id, failure);
  if (failure.kind === "give_up") return { outcome: "failed" };
  return result.kind === "rate_limited" && failure.kind === "retry" ? { outcome: "retry", rateLimitedUntil: failure.at } : { outcome: "retry" };
}

/** The first delivery, right after the event was stored. Never throws: the cron retries. */
export async function deliverAlert(deps: AlertDeliveryDeps, alertId: string): Promise<DeliveryOutcome> {
  try {
    const alert = await deps.outbox.claim(alertId, deps.clock.now(), deps.delivery.leaseMs);
    return alert ? (await sendClaimedAlert(deps, alert, true)).outcome : "not_claimed";
  } catch (error) {
    deps.logger.warn("admin alert delivery deferred to the retry cron", { alertId, reason: errorMessage(error) });
    return "retry";
  }
}

export type DueAlertsReport = Readonly<Record<Exclude<DeliveryOutcome, "not_claimed">, number>>;

/**
 * The retry cron: sends alerts whose next attempt is due, oldest first. After a 429 the rest of
 * the batch waits as long as Telegram asked, without an attempt counted against them.
 */
export async function deliverDueAlerts(deps: AlertDeliveryDeps, options: { readonly limit: number }): Promise<DueAlertsReport> {
  const report = { sent: 0, retry: 0, failed: 0, skipped: 0 };
  const due = await deps.outbox.claimDue(deps.clock.now(), options.limit, deps.delivery.leaseMs);
  for (const [index, alert] of due.entries()) {
    const { outcome, rateLimitedUntil } = await sendClaimedAlert(deps, alert, false);
    report[outcome === "not_claimed" ? "retry" : outcome] += 1;
    if (rateLimitedUntil) {
      const rest = due.slice(index + 1);
      for (const waiting of rest) await deps.outbox.markFailed(waiting.id, { kind: "postpone", at: rateLimitedUntil, error: "postponed: Telegram rate limit" });
      report.retry += rest.length;
      break;
    }
  }
  return report;
}
