import type { ReconciliationEvent, ReconciliationHistory } from "./model";

export function presentReconciliationEvent(event: ReconciliationEvent) {
  return {
    id: event.id,
    kind: event.kind,
    exchange: event.exchange,
    symbol: event.symbol,
    side: event.side,
    expected: event.expected,
    actual: event.actual,
    createdAt: event.createdAt.toISOString(),
  };
}

export type ReconciliationEventWire = ReturnType<typeof presentReconciliationEvent>;

/** The history as JSON: the form the read-through cache stores. */
export interface ReconciliationHistoryWire {
  readonly totalSyncs: number;
  readonly divergencesDetected: number;
  readonly lastSyncAt: string | null;
  readonly recentEvents: readonly ReconciliationEventWire[];
}

export function presentReconciliationHistory(history: ReconciliationHistory): ReconciliationHistoryWire {
  return {
    totalSyncs: history.totalSyncs,
    divergencesDetected: history.divergencesDetected,
    lastSyncAt: history.lastSyncAt?.toISOString() ?? null,
    recentEvents: history.recentEvents.map(presentReconciliationEvent),
  };
}

/** The wire summary: the (possibly cached) history with the live open-position count. */
export function presentReconciliationSummary(history: ReconciliationHistoryWire, openPositions: number) {
  const { totalSyncs, divergencesDetected, lastSyncAt, recentEvents } = history;
  return { totalSyncs, openPositions, divergencesDetected, lastSyncAt, recentEvents };
}
