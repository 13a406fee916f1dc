import { alertConfigSchema } from "../core/config";
import { PostgresHealthLog } from "../core/health-events/adapters/postgres-health-log";
import { TelegramAdminChat } from "../core/health-events/adapters/http-telegram-admin-chat";
import { defaultAlertDeliveryOptions } from "../core/health-events/deliver-alerts";
import { healthRecorder } from "../core/health-events/record-health-event";
import type { HealthEventDeps, HealthRecorder } from "../core/health-events/record-health-event";
import { sleep } from "../core/resilience/timeout";
import { backgroundTasks } from "./background";
import { database } from "./clients/postgres";
import { configFor, once } from "./config";
import { platform } from "./platform";

/** Health events and admin alerts of this container (Postgres log + outbox, Telegram Bot API). */
export function healthEvents(): HealthEventDeps {
  return once(healthEvents, () => {
    const config = configFor(alertConfigSchema);
    const { logger, clock, ids, config: platformConfig } = platform();
    const log = new PostgresHealthLog(database());
    const background = backgroundTasks();
    return {
      log,
      outbox: log,
      chat: new TelegramAdminChat({
        apiRoot: config.TELEGRAM_API_ROOT,
        botToken: config.TELEGRAM_BOT_TOKEN,
        chatId: config.TELEGRAM_ADMIN_CHAT_ID,
        timeoutMs: config.ALERT_SEND_TIMEOUT_MS,
      }),
      clock,
      ids,
      logger,
      sleep,
      delivery: defaultAlertDeliveryOptions,
      events: { dedupSeconds: config.ALERT_DEDUP_SECONDS, label: { service: platformConfig.SERVICE_NAME, stage: platformConfig.STAGE } },
      background: (work) => background.run(work),
    };
  });
}

/** What other capabilities call to record an event: never throws (positions' guard, provisioning). */
export function recordHealth(): HealthRecorder {
  return once(recordHealth, () => healthRecorder(healthEvents()));
}
