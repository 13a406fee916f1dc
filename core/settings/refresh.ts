import type { Clock } from "../clock";
import { errorMessage } from "../errors";
import { fromLegacyRepresentation } from "./schemas";
import type { LogPort } from "../observability/log-port";
import type { OutboxHandler, OutboxMessage } from "../outbox/model";
import { fastCopyBase } from "./fast-copy";
import { isSettingsType, settingsTypes } from "./model";
import type { SettingsDocument, SettingsType } from "./model";
import type { FastCopyWrite, SettingsState, SettingsStore, SettingsUserState } from "./ports";
import type { ResilientFastCopy } from "./resilient-fast-copy";

export interface RefreshDeps {
  readonly store: SettingsStore;
  readonly fastCopy: ResilientFastCopy;
  readonly clock: Clock;
  readonly log: LogPort;
}

/** What the writer adds to its outbox message before delivering it itself: no need to read Postgres again. */
export interface RefreshSnapshot {
  readonly base: string;
  readonly version: number;
  readonly updatedAt: string;
  readonly deleted: boolean;
  readonly settings?: SettingsDocument;
}

export function withSnapshot(message: OutboxMessage, snapshot: RefreshSnapshot): OutboxMessage {
  return { ...message, payload: { ...message.payload, snapshot } };
}

/** A type's row (or its absence: version 0, deleted) as a fast-copy write. */
export function stateWrite(type: SettingsType, state: SettingsState | undefined, now: Date): FastCopyWrite {
  if (!state) return { type, version: 0, updatedAt: now, deleted: true };
  return state.deleted
    ? { type, version: state.version, updatedAt: state.updatedAt, deleted: true }
    : { type, version: state.version, updatedAt: state.updatedAt, deleted: false, settings: state.settings };
}

function snapshotWrite(type: SettingsType, snapshot: RefreshSnapshot): FastCopyWrite {
  const updatedAt = new Date(snapshot.updatedAt);
  return snapshot.deleted || !snapshot.settings
    ? { type, version: snapshot.version, updatedAt, deleted: true }
    : { type, version: snapshot.version, updatedAt, deleted: false, settings: snapshot.settings };
}

/**
 * Writes one type's copy; when that replaced a bot's direct edit, the edit is kept as a
 * `sync-conflict` history row (Postgres won, nothing is lost). The edit is stored normalised when it
 * is valid, as read otherwise.
 */
export async function writeCopy(deps: RefreshDeps, userId: string, base: string, state: FastCopyWrite): Promise<void> {
  const displaced = await deps.fastCopy.write(base, state);
  if (!displaced) return;
  let settings: Readonly<Record<string, unknown>> = displaced.content;
  try {
    settings = fromLegacyRepresentation(state.type, displaced.content);
  } catch {
    // Invalid edits are kept as they were read.
  }
  try {
    await deps.store.recordDisplaced(userId, state.type, displaced.version ?? state.version, settings);
  } catch (error) {
    // The copy is already written: the edit survives in this log line only.
    deps.log.error("a bot's direct settings edit was replaced and could not be kept in the history", { userId, type: state.type, settings, reason: errorMessage(error) });
  }
}

/**
 * The `settings.fast-copy` outbox handler: writes one type's copy from the writer's snapshot, or
 * (a drain, later) from the row as it is now. The copy refuses older versions, so redelivery is safe.
 */
export function fastCopyRefreshHandler(deps: RefreshDeps): OutboxHandler {
  return async (message) => {
    const { userId, type, snapshot } = message.payload as { userId?: unknown; type?: unknown; snapshot?: RefreshSnapshot };
    if (typeof userId !== "string" || typeof type !== "string" || !isSettingsType(type)) {
      deps.log.error("settings refresh with an unreadable payload dropped", { id: message.id });
      return;
    }
    if (snapshot) return writeCopy(deps, userId, snapshot.base, snapshotWrite(type, snapshot));
    const loaded = await deps.store.load(userId);
    // A user deactivated since: nothing to refresh (its copy is left to expire with the legacy keys).
    if (!loaded) return;
    await writeCopy(deps, userId, fastCopyBase(loaded.owner), stateWrite(type, loaded.states.find((state) => state.type === type), deps.clock.now()));
  };
}

/**
 * Writes the copy of these types from Postgres' rows (after a read that had to ask Postgres). When
 * every type of the user was written, a refresh this container still owed for it is settled.
 * Never throws: the answer is already known.
 */
export async function refill(deps: RefreshDeps, loaded: SettingsUserState, types: readonly SettingsType[] = settingsTypes): Promise<void> {
  if (types.length === 0) return;
  const base = fastCopyBase(loaded.owner);
  const now = deps.clock.now();
  try {
    await Promise.all(types.map((type) => writeCopy(deps, loaded.owner.userId, base, stateWrite(type, loaded.states.find((state) => state.type === type), now))));
    if (types.length === settingsTypes.length) deps.fastCopy.clearPending(loaded.owner.userId);
  } catch (error) {
    deps.log.warn("settings fast copy refill failed", { reason: errorMessage(error) });
  }
}
