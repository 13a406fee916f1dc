import type { PositionSide } from "../redis/segments";
import type { Position, PositionDocument, PositionFields, PositionRef, PositionStatus } from "./model";

export interface OpenPosition extends PositionRef {
  readonly document: PositionDocument;
}

export interface SetOutcome {
  /** Whether this write opened the position (no hash before). */
  readonly created: boolean;
  readonly document: PositionDocument;
}

/** Which open positions a read wants (exchange: all of the user's exchanges when left out). */
export interface OpenFilter {
  readonly exchange?: string | undefined;
  readonly symbol?: string | undefined;
  readonly side?: PositionSide | undefined;
}

/** The live positions (Redis): what bots report, at Redis speed. */
export interface OpenPositionStore {
  /** Hash, index and the user's exchange set in one atomic round trip; id and opened_at kept from opening. */
  set(ref: PositionRef, fields: PositionFields, now: Date, newId: string): Promise<SetOutcome>;
  get(ref: PositionRef): Promise<OpenPosition | null>;
  /** The open position with this id, if it is open. */
  getById(id: string): Promise<OpenPosition | null>;
  /** Removes the position if it still has this id (a re-opened one has another); false when it did not. */
  remove(ref: PositionRef, id: string): Promise<boolean>;
  /** A user's open positions: index and hashes in one round trip. */
  listOpen(userId: string, filter: OpenFilter): Promise<OpenPosition[]>;
  /** Many users' open positions in one pipeline, by user id. */
  bulk(userIds: readonly string[], filter: OpenFilter): Promise<Map<string, OpenPosition[]>>;
}

/** A page of the durable record, newest close first. */
export interface RecordPage {
  readonly positions: readonly Position[];
  readonly nextCursor: string | null;
}

export interface RecordQuery extends OpenFilter {
  readonly userId: string;
  readonly status: PositionStatus;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** The durable record of every position (Postgres `positions`). */
export interface PositionRecords {
  byId(id: string): Promise<Position | null>;
  list(query: RecordQuery): Promise<RecordPage>;
  /** Records a position as closed (insert or update), idempotent. */
  close(position: OpenPosition, closedAt: Date): Promise<void>;
}
