import type { OutboxMessage } from "../outbox/model";
import type { ReconciliationEvent, ReconciliationHistory } from "./model";

/** reconciliation_logs (Postgres). */
export interface ReconciliationLog {
  /** Inserts the event and enqueues the outbox messages in one transaction. */
  record(event: ReconciliationEvent, effects: readonly OutboxMessage[]): Promise<void>;
  /** Totals, unresolved divergences, last sync and recent events, in one SQL query. */
  history(userId: string): Promise<ReconciliationHistory>;
}

/** How many positions a user has open now (the positions index in Redis, owned by positions). */
export interface OpenPositionCount {
  count(userId: string): Promise<number>;
}
