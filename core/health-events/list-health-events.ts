import type { HealthEvent } from "./model";
import type { HealthEventFilter, HealthLog } from "./ports";

/** GET /v1/admin/health-events: newest first, filtered by level and time. */
export function listHealthEvents(log: Pick<HealthLog, "list">, filter: HealthEventFilter): Promise<HealthEvent[]> {
  return log.list(filter);
}
