import type { AdminAlert, HealthEvent, HealthLevel } from "./model";

export interface NewAlert {
  readonly id: string;
  readonly dedupKey: string;
  readonly text: string;
}

export interface HealthEventFilter {
  readonly level?: HealthLevel | undefined;
  readonly since?: Date | undefined;
  readonly limit: number;
}

/** system_health_logs and the admin_alerts outbox (Postgres). */
export interface HealthLog {
  /**
   * Stores the event and, when given, its alert in one transaction; the alert is left out when an
   * alert with the same dedup key was queued within `dedupSeconds` (serialised per key, so
   * concurrent identical events queue one). Returns the queued alert, or null.
   */
  record(event: HealthEvent, alert: NewAlert | null, dedupSeconds: number): Promise<AdminAlert | null>;
  list(filter: HealthEventFilter): Promise<HealthEvent[]>;
}

/** retry / give_up count an attempt; postpone (an earlier alert was rate limited) does not. */
export type AlertFailure =
  | { readonly kind: "retry"; readonly at: Date; readonly error: string }
  | { readonly kind: "give_up"; readonly error: string }
  | { readonly kind: "postpone"; readonly at: Date; readonly error: string };

export interface AlertOutbox {
  /** Claims one pending alert for `leaseMs` (null when sent, given up or claimed by another sender). */
  claim(id: string, now: Date, leaseMs: number): Promise<AdminAlert | null>;
  /** Claims up to `limit` pending alerts that are due. */
  claimDue(now: Date, limit: number, leaseMs: number): Promise<AdminAlert[]>;
  markSent(id: string, now: Date): Promise<void>;
  markFailed(id: string, failure: AlertFailure): Promise<void>;
  markSkipped(id: string, reason: string): Promise<void>;
}

/** What the Bot API said to one sendMessage. */
export type ChatSendResult =
  | { readonly kind: "sent" }
  /** 429: Telegram asks to wait this long before the next call. */
  | { readonly kind: "rate_limited"; readonly retryAfterSeconds: number }
  /** `retryable`: a 5xx or a network failure; otherwise the request itself is wrong (400, 403). */
  | { readonly kind: "failed"; readonly retryable: boolean; readonly reason: string };

/** The admin chat, through the Telegram Bot API. */
export interface AdminChat {
  /** False when no bot token or chat is configured: alerts are recorded and skipped. */
  readonly configured: boolean;
  send(text: string): Promise<ChatSendResult>;
}
