import { lambda } from "./platform";
import type { Platform } from "./platform";

/** Receives before SQS parks a provisioning message in the DLQ; the consumer reads the same number. */
export const PROVISIONING_MAX_RECEIVES = 5;

/**
 * User provisioning (system D): POST /v1/users, the queue and its consumer (retried by SQS, parked
 * in the DLQ after 5 failed receives), the system-mode switch, health events and admin alerts.
 */
export function provisioningInfra({ api, secrets, redis, postgres }: Platform) {
  const dlq = new sst.aws.Queue("ProvisioningDlq", {
    transform: { queue: { messageRetentionSeconds: 14 * 24 * 3600 } },
  });
  // Visibility 6x the consumer's timeout, as AWS advises for Lambda event sources.
  const queue = new sst.aws.Queue("ProvisioningQueue", {
    visibilityTimeout: "60 seconds",
    dlq: { queue: dlq.arn, retry: PROVISIONING_MAX_RECEIVES },
  });
  const environment = { PROVISIONING_MAX_RECEIVE_COUNT: String(PROVISIONING_MAX_RECEIVES), ...alertEnvironment() };
  // Every provisioning function may record a CRITICAL / SWITCH event, which alerts the admin chat.
  const alerting = [secrets.telegramBotToken, secrets.telegramAdminChatId];
  const link = [secrets.jwt, ...redis, ...postgres, ...alerting];
  const fn = (handler: string, extraLink: readonly unknown[] = []) => lambda(handler, { link: [...link, ...extraLink], environment });

  api.route("POST /v1/users", fn("functions/provisioning-create-user.handler", [queue]));
  api.route("GET /v1/provisioning/{id}", fn("functions/provisioning-get.handler"));
  api.route("GET /v1/admin/system-mode", fn("functions/provisioning-mode-get.handler"));
  api.route("PUT /v1/admin/system-mode", fn("functions/provisioning-mode-put.handler"));
  api.route("GET /v1/admin/health-events", fn("functions/health-events-list.handler"));

  queue.subscribe(
    lambda("functions/provisioning-worker.handler", { link: [...redis, ...postgres, ...alerting], environment, timeout: "10 seconds" }),
    { batch: { size: 10, window: "1 second", partialResponses: true } },
  );

  // The safety net of the alert outbox: requests send their alert at once, this retries failures.
  new sst.aws.Cron("AdminAlertsRetry", {
    schedule: "rate(1 minute)",
    function: lambda("functions/health-events-alerts-cron.handler", { link: [...postgres, ...alerting], environment, timeout: "30 seconds", memory: "256 MB" }),
  });
  new sst.aws.Cron("IdempotencyKeysPurge", {
    schedule: "rate(1 hour)",
    function: lambda("functions/provisioning-purge-keys-cron.handler", { link: [...postgres], timeout: "30 seconds", memory: "256 MB" }),
  });
  return { queue, dlq };
}

/** The Bot API root, overridable at deploy time (e.g. a staging fake); default api.telegram.org. */
function alertEnvironment(): Record<string, string> {
  return process.env.TELEGRAM_API_ROOT ? { TELEGRAM_API_ROOT: process.env.TELEGRAM_API_ROOT } : {};
}
