export const reconciliationKinds = ["sync", "divergence", "resolved"] as const;
export type ReconciliationKind = (typeof reconciliationKinds)[number];
export type PositionSide = "long" | "short";

/** JSON a bot reports as what it expected or what the exchange actually held. */
export type ReportedState = Readonly<Record<string, unknown>>;

export interface ReconciliationEvent {
  readonly id: string;
  readonly userId: string;
  readonly exchange: string;
  readonly kind: ReconciliationKind;
  readonly symbol: string | null;
  readonly side: PositionSide | null;
  readonly expected: ReportedState | null;
  readonly actual: ReportedState | null;
  readonly createdAt: Date;
}

/** What one SQL query answers about a user's reconciliation history. */
export interface ReconciliationHistory {
  readonly totalSyncs: number;
  /** Divergences with no later `resolved` event of the same exchange (and symbol / side, when given). */
  readonly divergencesDetected: number;
  readonly lastSyncAt: Date | null;
  /** The last 5 events, newest first. */
  readonly recentEvents: readonly ReconciliationEvent[];
}

export const RECENT_EVENTS = 5;
