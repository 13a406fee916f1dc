import type { OutboxMessage } from "../outbox/model";
import type { EquitySnapshot, EquityWindow, GuardStatus } from "./model";

export interface RecordedEquity {
  /** The highest equity within the window, the new snapshot included. */
  readonly peakEquity: number;
  /** The status last stored for this user and exchange (null: never evaluated). */
  readonly previousStatus: GuardStatus | null;
}

/** equity_snapshots and guard_states (Postgres). */
export interface EquityStore {
  /** Inserts the snapshot and the outbox messages in one transaction; reads the peak and last status in it. */
  record(snapshot: EquitySnapshot, since: Date, effects: readonly OutboxMessage[]): Promise<RecordedEquity>;
  /** Compare-and-set of the stored status: true only for the one caller that moved it from `from`. */
  moveStatus(userId: string, exchange: string, from: GuardStatus | null, to: GuardStatus): Promise<boolean>;
  /** Peak since `since` and the latest snapshot, in one SQL query. */
  window(userId: string, exchange: string, since: Date): Promise<EquityWindow>;
}
