import type { OutboxMessage } from "../outbox/model";
import type { FastCopyMeta } from "./fast-copy";
import type { SettingsDocument, SettingsHistoryEntry, SettingsOwner, SettingsSource, SettingsType, StoredSettings } from "./model";

export interface SettingsWrite {
  readonly userId: string;
  readonly type: SettingsType;
  readonly settings: SettingsDocument;
  /** If-Match: the version the caller last saw (null: whatever is there). */
  readonly expectedVersion: number | null;
  readonly actor: string;
  readonly source: SettingsSource;
}

export interface SettingsWriteResult {
  readonly stored: StoredSettings;
  /** A new document (no row, or a deleted one revived): 201 rather than 200. */
  readonly created: boolean;
  readonly owner: SettingsOwner;
  /** The fast-copy refresh committed with the write, for its writer to deliver at once. */
  readonly refresh: OutboxMessage;
}

export interface SettingsRemoval {
  readonly version: number;
  readonly owner: SettingsOwner;
  readonly refresh: OutboxMessage;
}

/** The row of a type as it is now, deleted or not (what a fast-copy refresh writes). */
export interface SettingsState extends StoredSettings {
  readonly deleted: boolean;
}

/** An active user, the name of its fast copy, and every settings row it has (deleted ones too). */
export interface SettingsUserState {
  readonly owner: SettingsOwner;
  readonly states: readonly SettingsState[];
}

export interface HistoryQuery {
  readonly userId: string;
  readonly type: SettingsType;
  readonly limit: number;
  /** Only versions below this one (paging backwards). */
  readonly beforeVersion: number | null;
}

/** Postgres: the source of truth. Writes commit the row, its history row and the fast-copy outbox row together. */
export interface SettingsStore {
  /** The active user and the name of its fast copy; null when there is no such active user. */
  owner(userId: string): Promise<SettingsOwner | null>;
  /** The user's rows, deleted ones included, in one query; null when there is no such active user. */
  load(userId: string): Promise<SettingsUserState | null>;
  /** Throws NotFoundError (no active user), PreconditionFailedError (If-Match). */
  write(input: SettingsWrite): Promise<SettingsWriteResult>;
  /** Soft delete; throws NotFoundError when there is nothing to delete, PreconditionFailedError (If-Match). */
  remove(userId: string, type: SettingsType, expectedVersion: number | null): Promise<SettingsRemoval>;
  history(query: HistoryQuery): Promise<SettingsHistoryEntry[]>;
  historyVersion(userId: string, type: SettingsType, version: number): Promise<SettingsHistoryEntry | null>;
  /**
   * Refreshes owed by any container: outbox rows of the fast-copy topic whose writer failed to
   * deliver them or that are past the writer's grace (rows a live writer is about to deliver are not).
   */
  owedRefreshes(): Promise<number>;
  /** Keeps a bot's direct edit that a refresh replaced, as a `sync-conflict` history row. */
  recordDisplaced(userId: string, type: SettingsType, version: number, settings: Readonly<Record<string, unknown>>): Promise<void>;
  /** Current (undeleted) documents in (user id, type) order after `after`, for backups. */
  exportPage(query: ExportQuery): Promise<ExportedSettings[]>;
}

export interface ExportQuery {
  readonly after: { readonly userId: string; readonly type: SettingsType } | null;
  readonly limit: number;
  /** Only the user holding this OKX UID. */
  readonly okxUid: string | null;
}

/** One line of a settings backup (credentials are never part of it). */
export interface ExportedSettings {
  readonly userId: string;
  readonly okxUid: string | null;
  readonly type: SettingsType;
  readonly version: number;
  readonly settings: SettingsDocument;
  readonly updatedAt: Date;
}

/** What one read of a user's fast copy found, per type. */
export interface FastCopySlot {
  /**
   * The legacy key's content as the client returned it: a hash's fields, the params JSON parsed (or
   * the string when it is not JSON); null when there is no such key.
   */
  readonly content: unknown;
  readonly meta: FastCopyMeta | null;
}

export type FastCopySnapshot = Readonly<Record<SettingsType, FastCopySlot>>;

/** Redis: the legacy-compatible copy bots read. */
export interface FastCopyStore {
  /** The three types and their meta in one round trip. */
  read(base: string): Promise<FastCopySnapshot>;
  /**
   * Writes one type's copy (or its absence) unless the copy already holds a newer version, so a late
   * or repeated refresh never puts an older document back. Returns what it replaced when that was a
   * bot's direct edit (content that no longer matched its meta), null otherwise.
   */
  write(base: string, state: FastCopyWrite): Promise<FastCopyDisplaced | null>;
}

/** A bot's direct edit that a refresh replaced: kept as a `sync-conflict` history row, so it is not lost. */
export interface FastCopyDisplaced {
  readonly content: Readonly<Record<string, unknown>>;
  /** The version it was an edit of (its meta's), null when it had no meta. */
  readonly version: number | null;
}

export type FastCopyWrite =
  | { readonly type: SettingsType; readonly version: number; readonly updatedAt: Date; readonly deleted: false; readonly settings: SettingsDocument }
  | { readonly type: SettingsType; readonly version: number; readonly updatedAt: Date; readonly deleted: true };
