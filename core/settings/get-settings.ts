import { NotFoundError } from "../errors";
import { fastCopyBase, legacyContentHash } from "./fast-copy";
import { settingsTypes } from "./model";
import type { AllSettings, SettingsEntry, SettingsType } from "./model";
import type { OwnerMemo } from "./owners";
import type { FastCopySlot, SettingsUserState } from "./ports";
import { refill } from "./refresh";
import type { RefreshDeps } from "./refresh";
import { fromLegacyRepresentation } from "./schemas";

export interface SettingsReadDeps extends RefreshDeps {
  readonly owners: OwnerMemo;
  /** Delivers the owed refreshes after a Redis outage; true when none is left (runtime: an outbox drain). */
  readonly drainRefreshes: () => Promise<boolean>;
}

export interface SettingsReadInput {
  readonly userId: string;
  /** The OKX UID when the caller named the user by it (the fast copy's name: no lookup needed). */
  readonly okxUid?: string | null;
}

/** A slot that Redis cannot answer for: Postgres will (a missing copy, or a bot's invalid edit). */
const MISS = Symbol("miss");

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * What one type's fast copy says: the document as this service last wrote it (content unchanged,
 * by hash), a document a bot wrote directly (valid, `synced: false`), absent (deleted in
 * Postgres), or MISS.
 */
export function entryFromSlot(type: SettingsType, slot: FastCopySlot): SettingsEntry | null | typeof MISS {
  const { content, meta } = slot;
  if (content === null || content === undefined) {
    if (meta?.deleted) return null;
    if (meta && Object.keys(meta.settings).length === 0) return { type, settings: {}, version: meta.version, updatedAt: new Date(meta.updatedAt), synced: true };
    return MISS;
  }
  if (meta && !meta.deleted && isRecord(content) && legacyContentHash(content) === meta.hash) {
    return { type, settings: meta.settings, version: meta.version, updatedAt: new Date(meta.updatedAt), synced: true };
  }
  try {
    return { type, settings: fromLegacyRepresentation(type, content), version: meta?.version ?? 0, updatedAt: meta ? new Date(meta.updatedAt) : null, synced: false };
  } catch {
    return MISS;
  }
}

function entriesFromPostgres(loaded: SettingsUserState): AllSettings {
  const entry = (type: SettingsType): SettingsEntry | null => {
    const state = loaded.states.find((candidate) => candidate.type === type);
    return state && !state.deleted ? { type, settings: state.settings, version: state.version, updatedAt: state.updatedAt, synced: true } : null;
  };
  return { preferences: entry("preferences"), params: entry("params"), dual_side: entry("dual_side") };
}

async function loadOrNotFound(deps: SettingsReadDeps, userId: string): Promise<SettingsUserState> {
  const loaded = await deps.store.load(userId);
  if (!loaded) throw new NotFoundError("no active user with this id");
  deps.owners.remember(loaded.owner);
  return loaded;
}

/** Postgres alone (Redis untrusted or down); the copy is rewritten from it when Redis is reachable. */
async function fromPostgres(deps: SettingsReadDeps, userId: string): Promise<AllSettings> {
  const loaded = await loadOrNotFound(deps, userId);
  if (deps.fastCopy.breakerState() !== "open") await refill(deps, loaded);
  return entriesFromPostgres(loaded);
}

/**
 * All three types of a user: one Redis round trip when the fast copy holds them; Postgres for the
 * types it lacks (their copy is refilled), for everything while Redis is down or while a refresh
 * of this user is owed (so an acknowledged write is never answered stale).
 */
export async function getAllSettings(deps: SettingsReadDeps, input: SettingsReadInput): Promise<AllSettings> {
  await deps.fastCopy.recover(deps.drainRefreshes);
  if (!deps.fastCopy.trusted(input.userId)) return fromPostgres(deps, input.userId);
  const owner = input.okxUid ? { userId: input.userId, okxUid: input.okxUid } : await deps.owners.ownerOf(input.userId);
  const snapshot = await deps.fastCopy.read(fastCopyBase(owner));
  if (!snapshot) return fromPostgres(deps, input.userId);
  const found = settingsTypes.map((type) => [type, entryFromSlot(type, snapshot[type])] as const);
  const missing = found.filter(([, entry]) => entry === MISS).map(([type]) => type);
  if (missing.length === 0) return Object.fromEntries(found) as unknown as AllSettings;
  const loaded = await loadOrNotFound(deps, input.userId);
  const fromDb = entriesFromPostgres(loaded);
  await refill(deps, loaded, missing);
  return Object.fromEntries(found.map(([type, entry]) => [type, entry === MISS ? fromDb[type] : entry])) as unknown as AllSettings;
}

/** One type; NotFoundError when the user has none (or it was deleted). */
export async function getSettings(deps: SettingsReadDeps, input: SettingsReadInput & { readonly type: SettingsType }): Promise<SettingsEntry> {
  const entry = (await getAllSettings(deps, input))[input.type];
  if (!entry) throw new NotFoundError(`no ${input.type} settings`);
  return entry;
}
