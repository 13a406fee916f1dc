import { deliverDueAlerts } from "../core/health-events/deliver-alerts";
import type { DueAlertsReport } from "../core/health-events/deliver-alerts";
import { healthEvents } from "../runtime/health-events";
import { platform } from "../runtime/platform";

/** Alerts one run sends at most: Telegram allows about one message per second per chat. */
const BATCH = 20;

/**
 * Scheduled: sends admin alerts whose first delivery failed (Telegram down, rate limited) once
 * their next attempt is due. A database failure fails the run (it shows in the error metrics, the
 * next run starts over); a Telegram failure is the row's own business.
 */
export const handler = async (): Promise<DueAlertsReport> => {
  const report = await deliverDueAlerts(healthEvents(), { limit: BATCH });
  if (report.sent + report.retry + report.failed + report.skipped > 0) platform().logger.info("admin alerts retried", { ...report });
  return report;
};
