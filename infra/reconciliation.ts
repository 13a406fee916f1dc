import { lambda } from "./platform";
import type { Platform } from "./platform";

/**
 * Reconciliation events and drawdown guards (issue #10, system E): bots report events and equity
 * (service role); users, bots and admins read the cached views. The equity POST may record a
 * CRITICAL health event, which alerts the admin chat.
 */
export function reconciliationInfra({ api, secrets, redis, postgres }: Platform) {
  const alerting = [secrets.telegramBotToken, secrets.telegramAdminChatId];
  const fn = (handler: string, extra: readonly unknown[] = []) => lambda(handler, { link: [secrets.jwt, ...redis, ...postgres, ...extra], memory: "256 MB" });
  api.route("POST /v1/users/{ref}/reconciliation-events", fn("functions/reconciliation-event-post.handler"));
  api.route("GET /v1/users/{ref}/reconciliation", fn("functions/reconciliation-get.handler"));
  api.route("POST /v1/users/{ref}/equity", fn("functions/guards-equity-post.handler", alerting));
  api.route("GET /v1/users/{ref}/guards", fn("functions/guards-get.handler"));
}
