import type { OutboxMessage } from "../outbox/model";
import type { Identifier } from "./identifier";
import type { LegacyAnswer, Mapping, MappingSource } from "./model";
import type { StatCounts } from "./stats";

export interface MappingInput {
  readonly userId: string;
  readonly telegramId: string;
  readonly okxUid: string | null;
  readonly isActive: boolean;
}

/** The fields a PATCH changes; absent ones stay as stored (`okxUid: null` removes it). */
export interface MappingPatch {
  readonly telegramId?: string | undefined;
  readonly okxUid?: string | null | undefined;
  readonly isActive?: boolean | undefined;
}

export interface MappingChange {
  readonly previous: Mapping | null;
  readonly current: Mapping;
  /** False when the stored row already said exactly this. */
  readonly changed: boolean;
  /**
   * The lookup invalidation this change wrote to the outbox in its own transaction (see
   * invalidation.ts), for the writer to deliver after the commit; null when nothing changed.
   */
  readonly invalidation: OutboxMessage | null;
}

/** Durable store of mappings (Postgres). */
export interface MappingRepository {
  /** Mappings (active or deactivated) matching any of the identifiers, in one query. */
  findMappings(identifiers: readonly Identifier[]): Promise<Mapping[]>;
  getByUserId(userId: string): Promise<Mapping | null>;
  search(filter: { readonly telegramId?: string | undefined; readonly okxUid?: string | undefined }): Promise<Mapping[]>;
  /** Creates or updates the mapping and its app user; conflicts on telegram id / okx uid raise ConflictError. */
  upsert(input: MappingInput, source: MappingSource): Promise<MappingChange>;
  /** Changes only the given fields of an existing mapping, in one transaction; null: no mapping. */
  patch(userId: string, patch: MappingPatch, source: MappingSource): Promise<MappingChange | null>;
  deactivate(userId: string): Promise<MappingChange | null>;
}

/** The legacy tier's breaker is open: the call was not made (so it says nothing about the identifier). */
export class LegacyBreakerOpenError extends Error {}

/** This container's legacy calls in flight stayed at their limit for the call's whole budget: the call was not made. */
export class LegacyBusyError extends Error {}

/** The old HTTP service that answered the same question slowly. */
export interface LegacyLookup {
  readonly enabled: boolean;
  /** null when the legacy service does not know the identifier. */
  lookup(identifier: Identifier, deadlineMs: number): Promise<LegacyAnswer | null>;
  breakerState(): "closed" | "open" | "half-open" | "disabled";
}

export const breakerNames = ["legacy", "cache"] as const;
export type BreakerName = (typeof breakerNames)[number];
export type BreakerStates = Readonly<Record<BreakerName, string>>;

/** One container's figures for one minute: absolute counts, and its breakers as of `stampMs`. */
export interface ContainerMinute {
  readonly minute: number;
  readonly container: string;
  readonly counts: Readonly<Partial<StatCounts>>;
  readonly breakers?: { readonly stampMs: number; readonly states: BreakerStates } | undefined;
}

/** Where the per-minute figures live (Redis). */
export interface FleetStatsStore {
  /** Keeps, per field, the larger count and the newer breaker report (a late write never goes back). */
  write(minutes: readonly ContainerMinute[], ttlSeconds: number): Promise<void>;
  read(minutes: readonly number[]): Promise<ContainerMinute[]>;
}


/** One valid input row of an import, as staged (see MappingImportStore). */
export interface StagedImportRow {
  /** Position in the input (0-based). */
  readonly idx: number;
  readonly origin: string;
  readonly telegramId: string;
  /** undefined: keep what is stored; null: clear. */
  readonly okxUid: string | null | undefined;
  readonly userId: string | undefined;
  readonly isActive: boolean | undefined;
}

/** Planned writes of one window of input positions [from, to) (its groups' first rows), of which `fresh` create new users. */
export interface ImportWindow {
  readonly from: number;
  readonly to: number;
  readonly writes: number;
  readonly fresh: number;
}

/** A planned write (to name the one a unique index refuses), in input order. */
export interface ImportWrite {
  readonly firstIdx: number;
  readonly rowCount: number;
  readonly origin: string;
  /** A new user: takes one of the window's fresh ids. */
  readonly fresh: boolean;
}

/** One written mapping: whether it was new (inserted) and whether the write changed it. */
export interface ImportWritten {
  readonly userId: string;
  readonly origin: string;
  readonly inserted: boolean;
  readonly changed: boolean;
}

/**
 * Scratch space of one import run (Postgres): the input is staged in batches so that memory stays
 * flat in the input's size, the checks that need the whole input run in SQL, and the writes go in
 * batches of one transaction each (with the invalidations they owe, in the outbox).
 */
export interface MappingImportStore {
  /** Forgets what runs that died left behind (older than a day). */
  purgeAbandoned(): Promise<void>;
  stage(importId: string, rows: readonly StagedImportRow[]): Promise<void>;
  /** Merges rows per telegram id and marks the groups whose rows disagree, or that share an okx uid / user id with another group. */
  groupAndCheckInput(importId: string): Promise<number>;
  /**
   * Decides the undecided groups whose first row is in [from, to) against the stored mappings, in
   * SQL (target user, final state, outcome, or the conflict); returns how many it decided.
   */
  plan(importId: string, from: number, to: number): Promise<number>;
  /** Marks groups that resolve to the same existing user (none of them may be written). */
  checkClaims(importId: string): Promise<void>;
  /** Planned outcome per group (`conflicting` counts rows) and the repeated rows. */
  plannedCounts(importId: string): Promise<{ readonly inserted: number; readonly updated: number; readonly unchanged: number; readonly conflicting: number; readonly duplicates: number }>;
  /** The windows of `size` input positions in [from, to) that hold planned writes, in order. */
  writeWindows(importId: string, size: number, from: number, to: number): Promise<ImportWindow[]>;
  /** The planned writes of [from, to), in input order. */
  writes(importId: string, from: number, to: number): Promise<ImportWrite[]>;
  /**
   * One transaction for the planned writes of [from, to): the users' write locks, the app users
   * and mappings (source import; new users take `freshIds` in input order), and one outbox row
   * naming the identifiers of the old and new state of every mapping that changed. Returns that
   * row, to deliver after the commit. ConflictError when a unique index refused one.
   */
  writeWindow(importId: string, from: number, to: number, freshIds: readonly string[]): Promise<{ readonly written: ImportWritten[]; readonly invalidations: OutboxMessage[] }>;
  /** Rows of conflicting groups with the reason, in input order, at most `limit`. */
  conflicts(importId: string, limit: number): Promise<{ readonly idx: number; readonly origin: string; readonly reason: string }[]>;
  drop(importId: string): Promise<void>;
}
