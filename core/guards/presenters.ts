import { drawdownOf } from "./model";
import type { EquitySnapshot, EquityWindow, GuardOptions, GuardStatus } from "./model";

export interface GuardViewWire {
  readonly exchange: string;
  readonly drawdownPct: number;
  readonly peakEquity: number | null;
  readonly currentEquity: number | null;
  readonly currentAt: string | null;
  readonly window: { readonly days: number; readonly since: string };
  readonly status: GuardStatus;
  readonly thresholds: { readonly warningPct: number; readonly criticalPct: number };
}

/** The guard view; with no equity reported yet: drawdown 0, nulls, `normal`. */
export function presentGuardView(exchange: string, window: EquityWindow, since: Date, options: GuardOptions): GuardViewWire {
  const { peakEquity, currentEquity } = window;
  // The latest value counts even when it is older than the window: it is then its own peak.
  const peak = currentEquity === null ? peakEquity : Math.max(peakEquity ?? currentEquity, currentEquity);
  const drawdown = peak !== null && currentEquity !== null ? drawdownOf(peak, currentEquity, options.thresholds) : { drawdownPct: 0, status: "normal" as const };
  return {
    exchange,
    drawdownPct: drawdown.drawdownPct,
    peakEquity: peak,
    currentEquity,
    currentAt: window.currentAt?.toISOString() ?? null,
    window: { days: options.windowDays, since: since.toISOString() },
    status: drawdown.status,
    thresholds: { ...options.thresholds },
  };
}

export function presentEquitySnapshot(snapshot: EquitySnapshot, peakEquity: number, drawdownPct: number, status: GuardStatus) {
  return { id: snapshot.id, exchange: snapshot.exchange, equity: snapshot.equity, takenAt: snapshot.takenAt.toISOString(), peakEquity, drawdownPct, status };
}
