/** One side effect owed by a committed change (a fast-copy refresh, a cache invalidation). */
export interface OutboxMessage {
  /** Drawn by the writer (IdGenerator), so it can delete exactly its rows after delivering them. */
  readonly id: string;
  /** Which handler delivers it, e.g. `settings.fast-copy`. */
  readonly topic: string;
  /** What it is about; rows of one topic and key are delivered in the order they were written. */
  readonly key: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** A stored row: the message and its delivery state. */
export interface OutboxRow extends OutboxMessage {
  readonly createdAt: Date;
  /** Delivery attempts by drains so far. */
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly lastError: string | null;
}

/**
 * Delivers one message; must be idempotent (a message may be delivered more than once: by its
 * writer and by a drain, or again after its row could not be deleted). Throwing leaves the row for
 * a later attempt.
 */
export type OutboxHandler = (message: OutboxMessage) => Promise<void>;

export type OutboxHandlers = Readonly<Record<string, OutboxHandler>>;

export const OUTBOX_TOPIC = /^[a-z0-9_.-]{1,64}$/;
