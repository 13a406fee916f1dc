/** The three kinds of user settings (system B); one document of each per user at most. */
export const settingsTypes = ["preferences", "params", "dual_side"] as const;
export type SettingsType = (typeof settingsTypes)[number];

export function isSettingsType(value: string): value is SettingsType {
  return (settingsTypes as readonly string[]).includes(value);
}

export type SettingsValue = string | number | boolean | null;
/**
 * One settings document: flat, scalar values only. Normalised documents (what Postgres holds and the
 * API answers) never contain null: a null in an input means "no such key".
 */
export type SettingsDocument = Record<string, SettingsValue>;

/** Who wrote a version (`user_settings_history.source`). */
export const settingsSources = ["api", "registration", "sync", "sync-conflict", "restore"] as const;
export type SettingsSource = (typeof settingsSources)[number];

/** The user a settings document belongs to, with the key its fast copy lives under. */
export interface SettingsOwner {
  readonly userId: string;
  /** Bots know users by OKX UID: the legacy keys are named by it; by user id when there is none. */
  readonly okxUid: string | null;
}

/** The current (undeleted) document of one type. */
export interface StoredSettings {
  readonly type: SettingsType;
  readonly settings: SettingsDocument;
  readonly version: number;
  readonly updatedAt: Date;
}

/** A document as answered: from Postgres, or from the fast copy. */
export interface SettingsEntry {
  readonly type: SettingsType;
  readonly settings: SettingsDocument;
  /** 0 for a fast copy that a bot wrote and that was never persisted. */
  readonly version: number;
  readonly updatedAt: Date | null;
  /**
   * False when the answer is a fast copy that a bot changed directly in Redis (valid, but not yet
   * persisted by the sync); true otherwise.
   */
  readonly synced: boolean;
}

export type AllSettings = Readonly<Record<SettingsType, SettingsEntry | null>>;

export interface SettingsHistoryEntry {
  readonly type: SettingsType;
  readonly version: number;
  readonly settings: SettingsDocument;
  readonly changedAt: Date;
  readonly actor: string;
  readonly source: SettingsSource;
}

/** Outbox topic of fast-copy refreshes (runtime/outbox.ts registers its handler). */
export const SETTINGS_FAST_COPY_TOPIC = "settings.fast-copy";

/** Bounds of every document (known and unknown keys together). */
export const SETTINGS_MAX_KEYS = 200;
export const SETTINGS_MAX_DOCUMENT_BYTES = 16 * 1024;
export const SETTINGS_KEY_NAME = /^[a-z0-9_]{1,64}$/;
/** Bodies of the settings routes (PUT, PATCH, restore). */
export const SETTINGS_MAX_BODY_BYTES = 64 * 1024;
