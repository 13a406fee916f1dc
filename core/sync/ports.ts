import type { SyncFailure, SyncFilter, SyncPosition, SyncState, SyncSummary } from "./model";

/** One page of SCAN: the keys found and the cursor to go on from (`"0"`: the pattern is done). */
export interface KeyPage {
  readonly cursor: string;
  readonly keys: readonly string[];
}

/** Walks Redis keys (SCAN with MATCH and COUNT, never KEYS). */
export interface KeyScanner {
  /** A pattern without glob characters is one exact key: the page holds it when it exists. */
  scan(pattern: string, cursor: string, count: number): Promise<KeyPage>;
}

/** A key's value as the source read it: something to plan, a value it refuses, or nothing to sync. */
export type SyncRead<Item> =
  | { readonly kind: "item"; readonly key: string; readonly item: Item }
  | { readonly kind: "invalid"; readonly key: string; readonly problems: readonly { readonly path: string; readonly reason: string }[] }
  /** Gone since SCAN saw it, or a key of the pattern that carries nothing for this source. */
  | { readonly kind: "skip"; readonly key: string };

/** What the sync does with one item, decided against Postgres before anything is written. */
export type SyncDecision<Change> =
  /** Nothing to copy; `change` is an upkeep that does not count as a write (e.g. a fast copy's meta brought up to date). */
  | { readonly kind: "unchanged"; readonly key: string; readonly change?: Change }
  | { readonly kind: "write"; readonly key: string; readonly change: Change }
  /** Both sides changed (or Redis contradicts Postgres): Postgres wins; `change` is what resolving it writes, if anything. */
  | { readonly kind: "conflict"; readonly key: string; readonly reason: string; readonly change?: Change }
  /** The value is valid but cannot be placed (e.g. no such user): reported like an invalid value, never written. */
  | { readonly kind: "invalid"; readonly key: string; readonly problems: readonly { readonly path: string; readonly reason: string }[] };

/** What apply receives: writes, conflicts, and unchanged items with an upkeep (real runs only). */
export type SyncWork<Change> =
  | Extract<SyncDecision<Change>, { kind: "write" | "conflict" }>
  | { readonly kind: "unchanged"; readonly key: string; readonly change: Change };

/** Outcome of one apply; the numbers add up to the decisions given. */
export interface SyncApplyResult {
  readonly written: number;
  readonly conflicts: number;
  /** Decisions that turned out to need nothing when written (a concurrent writer got there first). */
  readonly unchanged: number;
  readonly failures: readonly SyncFailure[];
}

/** State a source may keep for one run, so a dry run predicts exactly what a real run writes. */
export interface SyncPlanContext {
  readonly dryRun: boolean;
  /** What this run has decided to write so far, by a key of the source's choosing. */
  readonly planned: Map<string, string>;
}

/**
 * One kind of legacy Redis data that the sync copies into Postgres. The runner scans the patterns
 * page by page from the saved cursor; for each page the source reads the values (one pipeline),
 * validates them, plans against Postgres (one query) and applies the changes (one statement).
 * Applying a page twice must change nothing the second time (a run may die between apply and the
 * cursor save, and the next run repeats the page).
 */
export interface SyncSource<Item = unknown, Change = unknown> {
  /** The row of sync_state and the label in summaries and metrics, e.g. `settings`. */
  readonly name: string;
  /** SCAN MATCH patterns from core/redis/keys.ts, walked in order; with a filter, one user's keys. */
  patterns(filter: SyncFilter): readonly string[];
  /** Reads and validates the values of the keys in one round trip, one entry per key in order. */
  read(keys: readonly string[]): Promise<readonly SyncRead<Item>[]>;
  /** Decides each item against Postgres as it is now, one decision per item in order. */
  plan(items: readonly SyncItem<Item>[], context: SyncPlanContext): Promise<readonly SyncDecision<Change>[]>;
  /** Writes the changes (writes and conflict resolutions) in one statement per batch. */
  apply(work: readonly SyncWork<Change>[]): Promise<SyncApplyResult>;
}

export interface SyncItem<Item> {
  readonly key: string;
  readonly item: Item;
}

/** Lock and cursor of each source (Postgres `sync_state`). */
export interface SyncStateStore {
  /** The saved state, without taking anything (dry runs, lag). */
  read(source: string): Promise<SyncState | null>;
  /** Takes the lease when it is free or expired; null when another owner holds it. */
  acquire(source: string, owner: string, leaseMs: number): Promise<SyncState | null>;
  /** Saves where the pass stands and extends the lease; false when the lease is no longer ours. */
  save(source: string, owner: string, position: SyncPosition, passStartedAt: Date, leaseMs: number): Promise<boolean>;
  /** Records a completed pass and sets the cursor back to the start; false when the lease is lost. */
  completePass(source: string, owner: string, passStartedAt: Date, leaseMs: number): Promise<boolean>;
  release(source: string, owner: string): Promise<void>;
}

/** Where a run's figures go (CloudWatch metrics in Lambda). */
export interface SyncMetrics {
  publish(summary: SyncSummary): void;
}
