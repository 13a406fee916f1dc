import type { OutboxMessage, OutboxRow } from "./model";

export interface OutboxBacklog {
  readonly pending: number;
  readonly oldestCreatedAt: Date | null;
}

/**
 * Where outbox rows live (Postgres). Writing rows happens inside the writer's own transaction
 * (see the adapter's `enqueue`); this port is what delivery and draining need afterwards.
 */
export interface OutboxStore {
  /**
   * Claims up to `limit` due rows of these topics: each gets one more attempt counted and is hidden
   * from other drains for `leaseMs` (a drain that dies mid-way releases them by expiry).
   */
  claimDue(topics: readonly string[], limit: number, leaseMs: number): Promise<OutboxRow[]>;
  /** Deletes delivered rows. */
  remove(ids: readonly string[]): Promise<void>;
  /** Puts a row back for another attempt after `delayMs`, noting why it failed. */
  retryLater(id: string, delayMs: number, reason: string): Promise<void>;
  backlog(topics: readonly string[]): Promise<OutboxBacklog>;
}

/** Appends messages in the caller's transaction; implemented by the Postgres adapter. */
export type OutboxEnqueue<Query> = (messages: readonly OutboxMessage[]) => Query;
