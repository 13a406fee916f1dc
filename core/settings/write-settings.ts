import { ConflictError, NotFoundError, PreconditionFailedError, UnprocessableError, errorMessage } from "../errors";
import { outboxBackoffMs, settle } from "../outbox/delivery";
import type { OutboxDeliveryDeps } from "../outbox/delivery";
import type { OutboxMessage } from "../outbox/model";
import { fastCopyBase } from "./fast-copy";
import { mergePatch } from "./merge-patch";
import type { SettingsDocument, SettingsEntry, SettingsOwner, SettingsSource, SettingsType } from "./model";
import type { OwnerMemo } from "./owners";
import { fastCopyRefreshHandler, withSnapshot } from "./refresh";
import type { RefreshDeps, RefreshSnapshot } from "./refresh";
import { parseSettingsDocument } from "./schemas";

export interface SettingsWriteDeps extends RefreshDeps {
  readonly outbox: OutboxDeliveryDeps;
  readonly owners: OwnerMemo;
  /** Work the answer need not wait for (runtime/background.ts); it may never run (Lambda freezes). */
  readonly background: { run(work: () => Promise<unknown>): void };
}

/** Which document a write changes, the version its caller last saw and who writes. */
export interface SettingsWriteTarget {
  readonly userId: string;
  readonly type: SettingsType;
  /** If-Match: the version the caller last saw. */
  readonly expectedVersion: number | null;
  /** Who (a token's subject), for the history. */
  readonly actor: string;
}

export interface WriteOutcome {
  readonly entry: SettingsEntry;
  readonly created: boolean;
}

/** Concurrent writers without If-Match: a read-merge-write is retried this many times at most. */
const PATCH_ATTEMPTS = 5;

/**
 * Delivers the refresh committed with a write at once, so the caller then reads its own write from
 * Redis. Once the copy is written the outbox row only asks a drain to do it again, so deleting it
 * is left off the answer's path (a drain finding it repeats a no-op). When Redis cannot take the
 * refresh, the row stays due for a drain and reads of this user go to Postgres in this container
 * until the copy is current again.
 */
async function deliverRefresh(deps: SettingsWriteDeps, owner: SettingsOwner, message: OutboxMessage, snapshot: RefreshSnapshot): Promise<void> {
  deps.owners.remember(owner);
  try {
    await fastCopyRefreshHandler(deps)(withSnapshot(message, snapshot));
  } catch (error) {
    deps.fastCopy.markPending(owner.userId);
    deps.log.warn("settings fast copy refresh postponed", { reason: errorMessage(error) });
    await settle(deps.outbox, [], [{ id: message.id, reason: errorMessage(error), delayMs: outboxBackoffMs(1) }]);
    return;
  }
  deps.background.run(() => settle(deps.outbox, [message.id], []));
}

async function store(deps: SettingsWriteDeps, target: SettingsWriteTarget, settings: SettingsDocument, source: SettingsSource): Promise<WriteOutcome> {
  const result = await deps.store.write({ ...target, settings, source });
  const { stored, owner } = result;
  await deliverRefresh(deps, owner, result.refresh, {
    base: fastCopyBase(owner),
    version: stored.version,
    updatedAt: stored.updatedAt.toISOString(),
    deleted: false,
    settings: stored.settings,
  });
  return { entry: { ...stored, synced: true }, created: result.created };
}

/** PUT: the whole document, validated; created (no document, or a deleted one) or replaced. */
export async function putSettings(deps: SettingsWriteDeps, input: SettingsWriteTarget & { readonly body: unknown; readonly source?: SettingsSource }): Promise<WriteOutcome> {
  const settings = parseSettingsDocument(input.type, input.body, "body");
  return store(deps, input, settings, input.source ?? "api");
}

export interface PatchInput extends SettingsWriteTarget {
  readonly patch: unknown;
  /** Start from these when the user has no document of the type (the bot's /set); otherwise 404. */
  readonly createFrom?: SettingsDocument;
}

async function currentDocument(deps: SettingsWriteDeps, input: PatchInput): Promise<{ readonly settings: SettingsDocument; readonly version: number | null }> {
  const loaded = await deps.store.load(input.userId);
  if (!loaded) throw new NotFoundError("no active user with this id");
  const state = loaded.states.find((candidate) => candidate.type === input.type && !candidate.deleted);
  if (state) return { settings: state.settings, version: state.version };
  if (input.createFrom) return { settings: input.createFrom, version: null };
  throw new NotFoundError(`no ${input.type} settings (PUT creates them)`);
}

/**
 * PATCH: an RFC 7396 merge patch over the stored document, validated after merging. The write
 * is conditional on the version read, so a concurrent change is never undone: with If-Match that
 * is a 412, without it the merge is redone on the newer document.
 */
export async function patchSettings(deps: SettingsWriteDeps, input: PatchInput): Promise<WriteOutcome> {
  if (typeof input.patch !== "object" || input.patch === null || Array.isArray(input.patch)) {
    throw UnprocessableError.field("body", "must be a JSON object (a merge patch of the settings)");
  }
  for (let attempt = 1; attempt <= PATCH_ATTEMPTS; attempt++) {
    const current = await currentDocument(deps, input);
    if (input.expectedVersion !== null && current.version !== input.expectedVersion) {
      throw new PreconditionFailedError("If-Match: the settings changed since that version");
    }
    const settings = parseSettingsDocument(input.type, mergePatch(current.settings, input.patch), "body");
    try {
      return await store(deps, { ...input, expectedVersion: current.version }, settings, "api");
    } catch (error) {
      if (!(error instanceof PreconditionFailedError) || input.expectedVersion !== null) throw error;
    }
  }
  throw new ConflictError("the settings kept changing while this patch was applied; retry");
}

/** DELETE: soft delete (the row and its history stay); the fast copy of the type is removed. */
export async function deleteSettings(deps: SettingsWriteDeps, input: Omit<SettingsWriteTarget, "actor">): Promise<void> {
  const removal = await deps.store.remove(input.userId, input.type, input.expectedVersion);
  await deliverRefresh(deps, removal.owner, removal.refresh, {
    base: fastCopyBase(removal.owner),
    version: removal.version,
    updatedAt: deps.clock.now().toISOString(),
    deleted: true,
  });
}

/** POST restore: a new version equal to an earlier one (validated again: the rules may have changed since). */
export async function restoreSettings(deps: SettingsWriteDeps, input: SettingsWriteTarget & { readonly version: number }): Promise<WriteOutcome> {
  const earlier = await deps.store.historyVersion(input.userId, input.type, input.version);
  if (!earlier) throw new NotFoundError(`no version ${input.version} of the ${input.type} settings`);
  const settings = parseSettingsDocument(input.type, earlier.settings, `version ${input.version}`);
  return store(deps, input, settings, "restore");
}

/** Import and sync tools: an already validated document written as a new version with its source. */
export function writeValidated(deps: SettingsWriteDeps, input: SettingsWriteTarget & { readonly settings: SettingsDocument; readonly source: SettingsSource }): Promise<WriteOutcome> {
  return store(deps, input, input.settings, input.source);
}
