import { NotFoundError, ValidationError } from "../errors";
import { isSettingsType } from "./model";
import type { AllSettings, SettingsEntry, SettingsHistoryEntry, SettingsType } from "./model";

export function presentEntry(entry: SettingsEntry) {
  return { settings: entry.settings, version: entry.version, updatedAt: entry.updatedAt?.toISOString() ?? null, synced: entry.synced };
}

export function presentAll(all: AllSettings) {
  const one = (entry: SettingsEntry | null) => (entry ? presentEntry(entry) : null);
  return { preferences: one(all.preferences), params: one(all.params), dual_side: one(all.dual_side) };
}

export function presentHistory(entries: readonly SettingsHistoryEntry[]) {
  return {
    versions: entries.map((entry) => ({ version: entry.version, settings: entry.settings, changedAt: entry.changedAt.toISOString(), actor: entry.actor, source: entry.source })),
  };
}

/** The ETag of a version: a strong validator, `"v3"`. */
export const etagOf = (version: number): string => `"v${version}"`;

/** `{type}` of a path; an unknown type is a resource that does not exist. */
export function settingsTypeOf(raw: string): SettingsType {
  if (!isSettingsType(raw)) throw new NotFoundError(`no settings type ${JSON.stringify(raw.slice(0, 40))} (preferences, params or dual_side)`);
  return raw;
}

/** If-Match (`"v3"`, `W/"v3"`, `v3` or `3`) as the expected version; absent or `*` is null. */
export function expectedVersionOf(header: string | undefined): number | null {
  if (header === undefined || header.trim() === "" || header.trim() === "*") return null;
  const match = /^(?:W\/)?"?v?(\d{1,9})"?$/.exec(header.trim());
  if (!match?.[1]) throw ValidationError.field("headers.if-match", 'must be an ETag of this API, like "v3"');
  return Number(match[1]);
}
