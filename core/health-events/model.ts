export const healthLevels = ["INFO", "WARNING", "ERROR", "SWITCH", "CRITICAL"] as const;
export type HealthLevel = (typeof healthLevels)[number];

/** Levels that also alert the admin chat: a fallback or breakage, and an operator's mode switch. */
export const alertingLevels: ReadonlySet<HealthLevel> = new Set(["CRITICAL", "SWITCH"]);

export type HealthMetadata = Readonly<Record<string, unknown>>;

/** One row of system_health_logs. */
export interface HealthEvent {
  readonly id: string;
  readonly level: HealthLevel;
  readonly message: string;
  /** Secrets already redacted. */
  readonly metadata: HealthMetadata;
  readonly createdAt: Date;
}

export interface HealthEventInput {
  readonly level: HealthLevel;
  /** Stable text: identical level + message within the dedup window alert once (put variable detail in metadata). */
  readonly message: string;
  readonly metadata?: HealthMetadata;
}

export type AlertStatus = "pending" | "sent" | "failed" | "skipped";

/** One Telegram message to the admin chat, in the outbox until sent (or given up). */
export interface AdminAlert {
  readonly id: string;
  readonly healthEventId: string;
  readonly dedupKey: string;
  readonly level: HealthLevel;
  /** Rendered for parse mode HTML, at most 4096 characters. */
  readonly text: string;
  readonly status: AlertStatus;
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly createdAt: Date;
}
