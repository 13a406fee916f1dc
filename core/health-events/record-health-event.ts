import type { Clock, IdGenerator } from "../clock";
import { errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import { redactSecrets } from "../observability/logger";
import { deliverAlert } from "./deliver-alerts";
import type { AlertDeliveryDeps } from "./deliver-alerts";
import { alertingLevels } from "./model";
import type { HealthEvent, HealthEventInput, HealthMetadata } from "./model";
import type { HealthLog, NewAlert } from "./ports";
import { alertDedupKey, renderAlert } from "./render";
import type { AlertLabel } from "./render";

export interface HealthEventOptions {
  /** Identical events (level + message) alert once per this many seconds. */
  readonly dedupSeconds: number;
  /** Names the service and stage in the alert's header. */
  readonly label: AlertLabel;
}

export interface HealthEventDeps extends AlertDeliveryDeps {
  readonly log: HealthLog;
  readonly ids: IdGenerator;
  readonly clock: Clock;
  readonly logger: LogPort;
  readonly events: HealthEventOptions;
  /**
   * Runs the alert's first delivery without the caller waiting for it (the cron retries what it
   * leaves pending); a failure there is the delivery's own business.
   */
  readonly background: (work: () => Promise<unknown>) => void;
}

const MESSAGE_LIMIT = 2_000;

/** JSON-safe metadata with secrets redacted at any depth and errors reduced to their message. */
export function redactMetadata(metadata: HealthMetadata): HealthMetadata {
  const text = JSON.stringify(metadata, (key, value: unknown) => (value instanceof Error ? errorMessage(value) : redactSecrets(key, value)));
  return JSON.parse(text ?? "{}") as HealthMetadata;
}

/**
 * Writes one row of system_health_logs; a CRITICAL or SWITCH event also queues an admin-chat
 * alert in the same transaction (unless an identical one was queued within the dedup window) and
 * starts sending it. Throws when the event cannot be stored (see tryRecordHealthEvent).
 */
export async function recordHealthEvent(deps: HealthEventDeps, input: HealthEventInput): Promise<HealthEvent> {
  const message = input.message.trim().slice(0, MESSAGE_LIMIT) || "(no message)";
  const event: HealthEvent = { id: deps.ids.uuid(), level: input.level, message, metadata: redactMetadata(input.metadata ?? {}), createdAt: deps.clock.now() };
  const alert: NewAlert | null = alertingLevels.has(event.level)
    ? { id: deps.ids.uuid(), dedupKey: alertDedupKey(event.level, event.message), text: renderAlert(event, deps.events.label) }
    : null;
  const queued = await deps.log.record(event, alert, deps.events.dedupSeconds);
  const line = { healthEventId: event.id, level: event.level, alert: alert === null ? "none" : queued ? "queued" : "deduplicated", ...event.metadata };
  if (event.level === "CRITICAL" || event.level === "ERROR") deps.logger.error(event.message, line);
  else if (event.level === "WARNING") deps.logger.warn(event.message, line);
  else deps.logger.info(event.message, line);
  if (queued) deps.background(() => deliverAlert(deps, queued.id));
  return event;
}

/** recordHealthEvent for callers whose own work must not fail with it: a failure is logged, never thrown. */
export async function tryRecordHealthEvent(deps: HealthEventDeps, input: HealthEventInput): Promise<HealthEvent | null> {
  try {
    return await recordHealthEvent(deps, input);
  } catch (error) {
    deps.logger.error("health event not recorded", { level: input.level, event: input.message, reason: errorMessage(error) });
    return null;
  }
}

export type HealthRecorder = (input: HealthEventInput) => Promise<HealthEvent | null>;

/** The never-throwing recorder other capabilities receive as a port. */
export function healthRecorder(deps: HealthEventDeps): HealthRecorder {
  return (input) => tryRecordHealthEvent(deps, input);
}
