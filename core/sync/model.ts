/**
 * The scheduled Redis -> Postgres sync: one runner (run-sync.ts) walking the keys of a source
 * (settings, identifiers, positions, ...) page by page. Types shared by the runner and its sources.
 */

/** Restricts a run to one user's keys (`--okx-uid`); such a run neither reads nor saves the cursor. */
export interface SyncFilter {
  readonly okxUid?: string | undefined;
}

/** A value the sync refuses to write: which key, where in its value, why. */
export interface SyncProblem {
  readonly key: string;
  /** Dotted path inside the value (`leverage`, `telegram_id`), or `key` when the key name is at fault. */
  readonly path: string;
  readonly reason: string;
}

/** A key that could not be synced for a reason other than its value (a write or repair failed). */
export interface SyncFailure {
  readonly key: string;
  readonly reason: string;
}

export const syncCountNames = ["scanned", "unchanged", "written", "conflicts", "invalid", "failed"] as const;
export type SyncCountName = (typeof syncCountNames)[number];
export type SyncCounts = Record<SyncCountName, number>;

export function emptyCounts(): SyncCounts {
  return { scanned: 0, unchanged: 0, written: 0, conflicts: 0, invalid: 0, failed: 0 };
}

/** Why a run ended. */
export type SyncStop =
  /** Every key was visited (a full pass ended, or the filtered keys were read). */
  | "done"
  /** The time budget ran out; the saved cursor lets the next run go on from there. */
  | "budget"
  /** Another run holds the lock; this one did nothing. */
  | "locked"
  /** The lock was lost mid-run (it expired and another run took it); stopped after the current page. */
  | "lost-lock"
  /** A dependency failed or a bug: `error` says which; the cursor stays at the last applied page. */
  | "error"
  /** The caller asked to stop (Ctrl-C). */
  | "aborted";

export interface SyncSummary {
  readonly source: string;
  readonly dryRun: boolean;
  /** In a dry run: what a real run would do. */
  readonly counts: SyncCounts;
  readonly problems: readonly SyncProblem[];
  /** How many problems there were beyond those listed (the list is bounded). */
  readonly problemsLeftOut: number;
  readonly failures: readonly SyncFailure[];
  /** Conflicts with the reason each was decided so (bounded like the problems). */
  readonly conflicts: readonly SyncFailure[];
  readonly stop: SyncStop;
  readonly error?: unknown;
  readonly elapsedMs: number;
  /** Keys that were written or repaired per second of the run. */
  readonly rowsPerSecond: number;
  /** Age of the oldest Redis change that may not be in Postgres yet, when a pass has ever completed. */
  readonly lagSeconds: number | null;
  /** Whether this run completed a pass over every key of the source. */
  readonly passCompleted: boolean;
}

/** Progress after every page (for a progress bar). */
export interface SyncProgress {
  readonly source: string;
  readonly counts: SyncCounts;
  readonly pages: number;
}

/** What a cursor save records: where the pass stands. */
export interface SyncPosition {
  readonly patternIndex: number;
  readonly cursor: string;
}

/** The saved state of one source. */
export interface SyncState extends SyncPosition {
  readonly passStartedAt: Date | null;
  readonly completedPassStartedAt: Date | null;
  readonly completedPassAt: Date | null;
}

export const startOfPass: SyncPosition = { patternIndex: 0, cursor: "0" };
