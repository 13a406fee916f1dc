import type { SettingsDocument, SettingsType } from "../settings/model";
import type { SyncDecision } from "./ports";

/**
 * The settings source's conflict rule, pure. The companion meta hash says which version the fast
 * copy was last written from (by the API's refresh or by this sync) and a hash of its content then:
 * - Redis content equals that (same hash): nothing happens (decided while reading, no query);
 * - Redis changed and Postgres is still at the meta's version: only Redis changed, so its content
 *   becomes a new version (history source `sync`); the fast copy's meta is moved to that version;
 * - Redis changed and Postgres moved on too (or there is no meta to tell): both changed, Postgres
 *   wins; the Redis content is kept as a `sync-conflict` history row and the fast copy is repaired
 *   from Postgres;
 * - Redis says exactly what Postgres holds (a bot rewrote the same values): unchanged, only the meta
 *   is brought up to date so the next runs skip the key.
 */

/** One legacy settings key as read and validated. */
export interface SettingsCandidate {
  /** The key's user segment: an okx uid, or the user id of a user without one. */
  readonly base: string;
  readonly type: SettingsType;
  /** The normalised document (what Postgres would hold). */
  readonly document: SettingsDocument;
  /** legacyContentHash of the content as read (what the meta will say once synced). */
  readonly hash: string;
  /** The version the meta says the copy was written from; null without a meta field. */
  readonly metaVersion: number | null;
}

/** The Postgres side of a candidate: its user and the row of its type, if any. */
export interface SettingsRowState {
  /** null: no active user goes by that okx uid / user id. */
  readonly userId: string | null;
  readonly version: number | null;
  readonly settings: SettingsDocument | null;
  readonly deleted: boolean;
  readonly updatedAt: Date | null;
}

export interface SettingsChange {
  /** `version`: a new version from Redis; `conflict`: history row + repair; `meta`: the meta only. */
  readonly op: "version" | "conflict" | "meta";
  readonly userId: string;
  readonly base: string;
  readonly type: SettingsType;
  readonly document: SettingsDocument;
  readonly hash: string;
  /** The row version planned against (null: no row yet); a `version` write applies only if it still is. */
  readonly expected: number | null;
  readonly metaVersion: number | null;
  /** The row's updated_at (after a write: the written version's), what the meta will say. */
  readonly updatedAt: Date | null;
}

export type SettingsDecision = SyncDecision<SettingsChange>;

export function decideSettings(key: string, candidate: SettingsCandidate, row: SettingsRowState): SettingsDecision {
  if (row.userId === null) {
    return { kind: "invalid", key, problems: [{ path: "key", reason: `no active user goes by ${candidate.base}` }] };
  }
  const change = (op: SettingsChange["op"]): SettingsChange => ({
    op,
    userId: row.userId as string,
    base: candidate.base,
    type: candidate.type,
    document: candidate.document,
    hash: candidate.hash,
    expected: row.version,
    metaVersion: candidate.metaVersion,
    updatedAt: row.updatedAt,
  });
  if (row.version === null) return { kind: "write", key, change: change("version") };
  if (!row.deleted && row.settings !== null && sameDocument(row.settings, candidate.document)) {
    return { kind: "unchanged", key, change: change("meta") };
  }
  if (candidate.metaVersion === row.version) return { kind: "write", key, change: change("version") };
  const reason =
    candidate.metaVersion === null
      ? `Redis holds no record of the version it was written from; Postgres (version ${row.version}) wins, the Redis content is kept as a sync-conflict history row`
      : `Redis changed since version ${candidate.metaVersion} and Postgres moved on to version ${row.version}; Postgres wins, the Redis content is kept as a sync-conflict history row`;
  return { kind: "conflict", key, reason, change: change("conflict") };
}

/** Same keys with the same values (documents are flat scalars). */
export function sameDocument(a: SettingsDocument, b: SettingsDocument): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}
