import type { Redis } from "@upstash/redis";
import type { Principal } from "../core/auth/tokens";
import { outboxConfigSchema, settingsConfigSchema } from "../core/config";
import { parseUserRef, resolveUserRef } from "../core/identity/user-ref";
import { PostgresOutbox, defaultOutboxOptions } from "../core/outbox/adapters/postgres-outbox";
import type { OutboxDeliveryDeps } from "../core/outbox/delivery";
import { drainOutbox } from "../core/outbox/drain";
import type { OutboxHandlers } from "../core/outbox/model";
import { PostgresSettingsStore } from "../core/settings/adapters/postgres-settings-store";
import { UpstashFastCopy } from "../core/settings/adapters/upstash-fast-copy";
import { botSettings } from "../core/settings/bot-settings";
import type { SettingsReadDeps } from "../core/settings/get-settings";
import { SETTINGS_FAST_COPY_TOPIC } from "../core/settings/model";
import type { SettingsEntry } from "../core/settings/model";
import { OwnerMemo } from "../core/settings/owners";
import { etagOf, expectedVersionOf, presentEntry, settingsTypeOf } from "../core/settings/presenters";
import { fastCopyRefreshHandler } from "../core/settings/refresh";
import { ResilientFastCopy } from "../core/settings/resilient-fast-copy";
import type { SettingsWriteDeps, SettingsWriteTarget } from "../core/settings/write-settings";
import type { BotSettings } from "../core/telegram/ports";
import { backgroundTasks } from "./background";
import { database } from "./clients/postgres";
import { redisClient, redisKeys } from "./clients/redis";
import { configFor, once } from "./config";
import { userDirectory } from "./identity";
import type { HttpResult } from "./http/responses";
import { platform } from "./platform";

export interface SettingsModule {
  readonly read: SettingsReadDeps;
  readonly write: SettingsWriteDeps;
  readonly store: PostgresSettingsStore;
  readonly fastCopy: ResilientFastCopy;
}

/** Parts a test or the bench may swap (a dead or hanging Redis); the rest is wired as in Lambda. */
export interface SettingsWiringOptions {
  readonly redis?: Redis;
  /** Counts Postgres round trips (bench, tests). */
  readonly onQuery?: () => void;
}

/** The settings capability of this container: one store, one fast copy with its breaker, one owner memo. */
export function settings(): SettingsModule {
  return once(buildSettings, () => buildSettings());
}

/**
 * The outbox as settings writers and their recovery use it. Built here rather than taken from
 * runtime/outbox.ts, which imports this module for the drain's handlers (a cycle otherwise).
 */
function settingsOutbox(): OutboxDeliveryDeps {
  return once(settingsOutbox, () => ({ store: new PostgresOutbox(database(), defaultOutboxOptions), log: platform().logger }));
}

export function buildSettings(options: SettingsWiringOptions = {}): SettingsModule {
  const config = configFor(settingsConfigSchema);
  const { logger, clock, ids } = platform();
  const store = new PostgresSettingsStore(database(), ids, options.onQuery);
  const fastCopy = new ResilientFastCopy(new UpstashFastCopy(options.redis ?? redisClient(), redisKeys()), { timeoutMs: config.SETTINGS_CACHE_TIMEOUT_MS, resetTimeoutMs: config.SETTINGS_BREAKER_RESET_MS }, logger);
  const owners = new OwnerMemo(store, { ttlMs: config.SETTINGS_OWNER_TTL_MS, maxEntries: 10_000 });
  const base = { store, fastCopy, clock, log: logger, owners };
  const handlers: OutboxHandlers = { [SETTINGS_FAST_COPY_TOPIC]: fastCopyRefreshHandler(base) };
  const drainRefreshes = async (): Promise<boolean> => {
    await drainOutbox(settingsOutbox(), { handlers, limit: configFor(outboxConfigSchema).OUTBOX_DRAIN_BATCH, batches: 5 });
    return (await store.owedRefreshes()) === 0;
  };
  return { read: { ...base, drainRefreshes }, write: { ...base, outbox: settingsOutbox(), background: backgroundTasks() }, store, fastCopy };
}

/** The Postgres side alone (backups, dry runs): no Redis client is built. */
export function settingsStore(): PostgresSettingsStore {
  return once(settingsStore, () => new PostgresSettingsStore(database(), platform().ids));
}

/** The drain function's handler of the fast-copy topic (runtime/outbox.ts). */
export function settingsOutboxHandlers(): OutboxHandlers {
  return { [SETTINGS_FAST_COPY_TOPIC]: fastCopyRefreshHandler(settings().write) };
}

/** What the Telegram bot calls (core/telegram/ports.ts `BotSettings`). */
export function settingsForBot(): BotSettings {
  return once(settingsForBot, () => botSettings(settings()));
}

/**
 * `{ref}` of a settings route → the user (403 / 404 by core/identity/user-ref.ts). An OKX UID names
 * the fast copy directly, so a read by it needs no lookup of the user's keys.
 */
export async function settingsUser(principal: Principal, rawRef: string): Promise<{ readonly userId: string; readonly okxUid: string | null }> {
  const ref = parseUserRef(rawRef);
  const userId = await resolveUserRef({ directory: userDirectory() }, principal, ref);
  return { userId, okxUid: ref.kind === "okx_uid" ? ref.value : null };
}

/** The target of a settings write route, from its params and If-Match header (400 / 403 / 404 as settingsUser). */
export async function settingsWriteTarget(request: {
  readonly params: { readonly ref: string; readonly type: string };
  readonly principal: Principal;
  readonly headers: Readonly<Record<string, string | undefined>>;
}): Promise<SettingsWriteTarget> {
  const type = settingsTypeOf(request.params.type);
  const expectedVersion = expectedVersionOf(request.headers["if-match"]);
  const { userId } = await settingsUser(request.principal, request.params.ref);
  return { userId, type, expectedVersion, actor: request.principal.subject };
}

/** A settings document as a route answers it: the entry, and its version as the ETag a later If-Match names. */
export function settingsEntryResult(entry: SettingsEntry, status = 200): HttpResult {
  return { status, body: presentEntry(entry), headers: { etag: etagOf(entry.version) } };
}
