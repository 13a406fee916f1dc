import type { SettingsHistoryEntry, SettingsType } from "./model";
import type { SettingsStore } from "./ports";

export interface HistoryInput {
  readonly userId: string;
  readonly type: SettingsType;
  readonly limit: number;
  readonly beforeVersion?: number | undefined;
}

/** Versions of one type, newest first; page backwards with `beforeVersion`. */
export function listHistory(deps: { readonly store: SettingsStore }, input: HistoryInput): Promise<SettingsHistoryEntry[]> {
  return deps.store.history({ userId: input.userId, type: input.type, limit: input.limit, beforeVersion: input.beforeVersion ?? null });
}
