export const guardStatuses = ["normal", "warning", "critical"] as const;
export type GuardStatus = (typeof guardStatuses)[number];

/** Percentages: 10 means 10 %. */
export interface GuardThresholds {
  /** `warning` from this drawdown up to and including `criticalPct`. */
  readonly warningPct: number;
  /** `critical` above this drawdown. */
  readonly criticalPct: number;
}

export interface GuardOptions {
  readonly thresholds: GuardThresholds;
  /** The peak is the highest equity within this many days. */
  readonly windowDays: number;
}

export const defaultGuardOptions: GuardOptions = { thresholds: { warningPct: 10, criticalPct: 15 }, windowDays: 30 };

export interface EquitySnapshot {
  readonly id: string;
  readonly userId: string;
  readonly exchange: string;
  readonly equity: number;
  readonly takenAt: Date;
}

/** Peak over the window and the latest equity; null when the user reported none. */
export interface EquityWindow {
  readonly peakEquity: number | null;
  /** The last time the peak was reached: the view changes when that leaves the window. */
  readonly peakAt: Date | null;
  readonly currentEquity: number | null;
  readonly currentAt: Date | null;
}

export interface Drawdown {
  /** (peak - current) / peak as a percentage, rounded to 6 decimals so boundaries compare exactly. */
  readonly drawdownPct: number;
  readonly status: GuardStatus;
}

/** normal below warningPct, warning from warningPct up to and including criticalPct, critical above. */
export function statusOf(drawdownPct: number, thresholds: GuardThresholds): GuardStatus {
  if (drawdownPct > thresholds.criticalPct) return "critical";
  if (drawdownPct >= thresholds.warningPct) return "warning";
  return "normal";
}

export function drawdownOf(peak: number, current: number, thresholds: GuardThresholds): Drawdown {
  const raw = peak > 0 ? ((peak - Math.min(current, peak)) * 100) / peak : 0;
  const drawdownPct = Math.round(raw * 1e6) / 1e6;
  return { drawdownPct, status: statusOf(drawdownPct, thresholds) };
}
