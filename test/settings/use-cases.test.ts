import { afterEach, describe, expect, it, vi } from "vitest";
import "../../core/validation/zod-locale";
import { NotFoundError, PreconditionFailedError, UnprocessableError, ValidationError } from "../../core/errors";
import type { LogPort } from "../../core/observability/log-port";
import type { OutboxStore } from "../../core/outbox/ports";
import { refreshMessage } from "../../core/settings/adapters/postgres-settings-store";
import { botSettings } from "../../core/settings/bot-settings";
import { legacyContentHash } from "../../core/settings/fast-copy";
import { entryFromSlot, getAllSettings } from "../../core/settings/get-settings";
import type { SettingsReadDeps } from "../../core/settings/get-settings";
import { mergePatch } from "../../core/settings/merge-patch";
import { settingsTypes } from "../../core/settings/model";
import type { SettingsDocument, SettingsOwner, SettingsType } from "../../core/settings/model";
import { OwnerMemo } from "../../core/settings/owners";
import type { FastCopySnapshot, FastCopyStore, FastCopyWrite, SettingsState, SettingsStore } from "../../core/settings/ports";
import { expectedVersionOf, settingsTypeOf } from "../../core/settings/presenters";
import { fastCopyRefreshHandler } from "../../core/settings/refresh";
import { ResilientFastCopy } from "../../core/settings/resilient-fast-copy";
import { toLegacyRepresentation } from "../../core/settings/schemas";
import { patchSettings, putSettings } from "../../core/settings/write-settings";
import type { SettingsWriteDeps } from "../../core/settings/write-settings";

const log: LogPort = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const clock = { now: () => new Date("2026-11-30T00:00:00.000Z") };
let nextId = 0;
const ids = { uuid: () => `00000000-0000-4000-8000-${String(++nextId).padStart(12, "0")}` };

/** Postgres as a map: one user, rows per type, If-Match honoured. */
class MemoryStore implements SettingsStore {
  readonly states = new Map<SettingsType, SettingsState>();
  calls = 0;
  constructor(readonly user: SettingsOwner) {}
  async owner(userId: string) {
    this.calls += 1;
    return userId === this.user.userId ? this.user : null;
  }
  async load(userId: string) {
    this.calls += 1;
    return userId === this.user.userId ? { owner: this.user, states: [...this.states.values()] } : null;
  }
  async write(input: Parameters<SettingsStore["write"]>[0]) {
    this.calls += 1;
    if (input.userId !== this.user.userId) throw new NotFoundError("no user");
    const current = this.states.get(input.type);
    if (input.expectedVersion !== null && (current?.deleted !== false || current.version !== input.expectedVersion)) throw new PreconditionFailedError("moved");
    const stored = { type: input.type, settings: input.settings, version: (current?.version ?? 0) + 1, updatedAt: clock.now(), deleted: false };
    this.states.set(input.type, stored);
    return { stored, created: !current || current.deleted, owner: this.user, refresh: refreshMessage(ids.uuid(), input.userId, input.type) };
  }
  async remove(): Promise<never> {
    throw new Error("not used");
  }
  async history() {
    return [];
  }
  async historyVersion() {
    return null;
  }
  async owedRefreshes() {
    return 0;
  }
  readonly displaced: { type: SettingsType; version: number; settings: unknown }[] = [];
  async recordDisplaced(_userId: string, type: SettingsType, version: number, settings: unknown) {
    this.displaced.push({ type, version, settings });
  }
  async exportPage() {
    return [];
  }
}

/** Redis as a map of slots, with the script's version rule; `down` makes every call fail. */
class MemoryFastCopy implements FastCopyStore {
  readonly slots = new Map<string, Record<SettingsType, { content: unknown; meta: FastCopySnapshot[SettingsType]["meta"] }>>();
  down = false;
  reads = 0;
  private slotsOf(base: string) {
    let slots = this.slots.get(base);
    if (!slots) {
      slots = Object.fromEntries(settingsTypes.map((type) => [type, { content: null, meta: null }])) as Record<SettingsType, { content: unknown; meta: null }>;
      this.slots.set(base, slots);
    }
    return slots;
  }
  async read(base: string): Promise<FastCopySnapshot> {
    if (this.down) throw new Error("ECONNREFUSED");
    this.reads += 1;
    return structuredClone(this.slotsOf(base));
  }
  async write(base: string, state: FastCopyWrite): Promise<null> {
    if (this.down) throw new Error("ECONNREFUSED");
    const slot = this.slotsOf(base)[state.type];
    if (slot.meta && slot.meta.version >= state.version && (slot.meta.version > state.version || slot.content !== null)) return null;
    const updatedAt = state.updatedAt.toISOString();
    if (state.deleted) {
      this.slotsOf(base)[state.type] = { content: null, meta: { version: state.version, deleted: true, updatedAt } };
      return null;
    }
    const legacy = toLegacyRepresentation(state.type, state.settings);
    const content = Object.keys(legacy).length === 0 ? null : legacy;
    this.slotsOf(base)[state.type] = { content, meta: { version: state.version, hash: legacyContentHash(legacy), updatedAt, settings: state.settings } };
    return null;
  }
}

function outboxStore() {
  const calls = { removed: [] as string[], postponed: [] as string[] };
  const store: OutboxStore = {
    claimDue: async () => [],
    remove: async (found) => void calls.removed.push(...found),
    retryLater: async (id) => void calls.postponed.push(id),
    backlog: async () => ({ pending: 0, oldestCreatedAt: null }),
  };
  return { store, calls };
}

function world(okxUid: string | null = "518796558012178692") {
  const user = { userId: "11111111-1111-4111-8111-111111111111", okxUid };
  const store = new MemoryStore(user);
  const redis = new MemoryFastCopy();
  const fastCopy = new ResilientFastCopy(redis, { timeoutMs: 1_000, volumeThreshold: 1_000 }, log);
  const owners = new OwnerMemo(store, { ttlMs: 60_000, maxEntries: 10 });
  const outbox = outboxStore();
  const later: (() => Promise<unknown>)[] = [];
  const base = { store, fastCopy, clock, log, owners };
  const read: SettingsReadDeps = { ...base, drainRefreshes: async () => true };
  const write: SettingsWriteDeps = { ...base, outbox: { store: outbox.store, log }, background: { run: (work) => void later.push(work) } };
  return { user, store, redis, fastCopy, read, write, outbox: outbox.calls, later };
}

const put = (w: ReturnType<typeof world>, type: SettingsType, body: SettingsDocument) =>
  putSettings(w.write, { userId: w.user.userId, type, body, expectedVersion: null, actor: "t" });

describe("reads: Redis first, Postgres when needed", () => {
  it("answers all three types from one Redis read after a write, with no database query", async () => {
    const w = world();
    await put(w, "params", { leverage: 5, direction: "롱" });
    expect(w.redis.slots.get("518796558012178692")?.params.content).toEqual({ leverage: 5, direction: "롱" });
    // The first read learns from Postgres that the other two types are absent, and says so in Redis.
    await getAllSettings(w.read, { userId: w.user.userId });
    w.redis.reads = 0;
    const calls = w.store.calls;
    const all = await getAllSettings(w.read, { userId: w.user.userId });
    expect(all.params).toMatchObject({ settings: { leverage: 5, direction: "long" }, version: 1, synced: true });
    expect(all.preferences).toBeNull();
    expect(w.store.calls).toBe(calls);
    expect(w.redis.reads).toBe(1);
  });

  it("asks Postgres for what Redis lacks, answers it and refills the copy", async () => {
    const w = world(null);
    w.store.states.set("dual_side", { type: "dual_side", settings: { dual_side_entry_trigger: 2 }, version: 4, updatedAt: clock.now(), deleted: false });
    const all = await getAllSettings(w.read, { userId: w.user.userId });
    expect(all.dual_side).toMatchObject({ version: 4, synced: true });
    // Named by user id without an okx uid; absent types are remembered as absent.
    expect(w.redis.slots.get(w.user.userId)?.dual_side.meta).toMatchObject({ version: 4 });
    expect(w.redis.slots.get(w.user.userId)?.params.meta).toMatchObject({ deleted: true });
    const calls = w.store.calls;
    await getAllSettings(w.read, { userId: w.user.userId });
    expect(w.store.calls).toBe(calls);
  });

  it("reads Postgres while a refresh of the user is owed, then trusts Redis again once the copy is refilled", async () => {
    const w = world();
    await put(w, "params", { leverage: 5 });
    w.redis.down = true;
    const during = await put(w, "params", { leverage: 6 });
    expect(during.entry.version).toBe(2);
    expect(w.outbox.postponed).toHaveLength(1);
    expect(w.fastCopy.isPending(w.user.userId)).toBe(true);
    w.redis.down = false;
    // Redis still holds version 1: the answer must come from Postgres.
    expect((await getAllSettings(w.read, { userId: w.user.userId })).params?.settings).toEqual({ leverage: 6 });
    expect(w.fastCopy.isPending(w.user.userId)).toBe(false);
    expect(w.redis.slots.get("518796558012178692")?.params.content).toEqual({ leverage: 6 });
  });

  it("answers Postgres when Redis fails, and not found for an unknown user", async () => {
    const w = world();
    await put(w, "params", { leverage: 5 });
    w.redis.down = true;
    expect((await getAllSettings(w.read, { userId: w.user.userId })).params?.settings).toEqual({ leverage: 5 });
    await expect(getAllSettings(w.read, { userId: "22222222-2222-4222-8222-222222222222" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("classifies slots: in sync, edited by a bot, deleted, missing", () => {
    const meta = { version: 3, hash: legacyContentHash({ timeframe: "1m" }), updatedAt: "2026-01-01T00:00:00.000Z", settings: { timeframe: "1m" } };
    expect(entryFromSlot("preferences", { content: { timeframe: "1m" }, meta })).toMatchObject({ version: 3, synced: true });
    expect(entryFromSlot("preferences", { content: { timeframe: "5m" }, meta })).toMatchObject({ settings: { timeframe: "5m" }, version: 3, synced: false });
    expect(entryFromSlot("preferences", { content: { timeframe: "7m" }, meta })).toBe(entryFromSlot("preferences", { content: null, meta: null }));
    expect(entryFromSlot("preferences", { content: null, meta: { version: 2, deleted: true, updatedAt: "x" } })).toBeNull();
    expect(entryFromSlot("preferences", { content: { timeframe: "5m" }, meta: null })).toMatchObject({ version: 0, updatedAt: null, synced: false });
  });
});

describe("writes", () => {
  it("delete the delivered outbox row off the answer's path", async () => {
    const w = world();
    await put(w, "preferences", { timeframe: "5m" });
    expect(w.outbox.removed).toEqual([]);
    await Promise.all(w.later.map((work) => work()));
    expect(w.outbox.removed).toHaveLength(1);
  });

  it("merge-patch without If-Match redoes the merge on a newer document; with it, a moved version is a 412", async () => {
    const w = world();
    await put(w, "params", { leverage: 5, rsi_length: 14 });
    const patched = await patchSettings(w.write, { userId: w.user.userId, type: "params", patch: { rsi_length: null, leverage: 6 }, expectedVersion: null, actor: "t" });
    expect(patched.entry.settings).toEqual({ leverage: 6 });
    await expect(patchSettings(w.write, { userId: w.user.userId, type: "params", patch: { leverage: 7 }, expectedVersion: 1, actor: "t" })).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(patchSettings(w.write, { userId: w.user.userId, type: "params", patch: [1], expectedVersion: null, actor: "t" })).rejects.toBeInstanceOf(UnprocessableError);
  });

  it("the outbox handler writes a drained refresh from the current row", async () => {
    const w = world();
    w.store.states.set("params", { type: "params", settings: { leverage: 9 }, version: 7, updatedAt: clock.now(), deleted: false });
    await fastCopyRefreshHandler(w.write)(refreshMessage("m", w.user.userId, "params"));
    expect(w.redis.slots.get("518796558012178692")?.params.meta).toMatchObject({ version: 7 });
    // An older refresh arriving late leaves the newer copy alone.
    await fastCopyRefreshHandler(w.write)({ ...refreshMessage("n", w.user.userId, "params"), payload: { userId: w.user.userId, type: "params", snapshot: { base: "518796558012178692", version: 6, updatedAt: clock.now().toISOString(), deleted: false, settings: { leverage: 1 } } } });
    expect(w.redis.slots.get("518796558012178692")?.params.content).toEqual({ leverage: 9 });
  });
});

describe("the bot's settings", () => {
  it("gets all and sets one key through the same validation, naming body.<key>", async () => {
    const w = world();
    const bot = botSettings({ read: w.read, write: w.write });
    const view = await bot.set(w.user.userId, "params", "leverage", 20);
    expect(view.params?.values).toMatchObject({ leverage: 20, direction: "long_short" });
    await expect(bot.set(w.user.userId, "params", "leverage", 500)).rejects.toMatchObject({ issues: [{ field: "body.leverage", message: "must be an integer from 1 to 125" }] });
    await expect(bot.set(w.user.userId, "params", "rsi_overbought", 10)).rejects.toMatchObject({ issues: [{ field: "body.rsi_overbought" }] });
    await expect(bot.set(w.user.userId, "params", "Bad-Key", 1)).rejects.toBeInstanceOf(UnprocessableError);
    expect((await bot.get(w.user.userId)).params?.version).toBe(1);
  });
});

describe("small rules", () => {
  it("merge patch per RFC 7396", () => {
    expect(mergePatch({ a: 1, b: 2 }, { b: null, c: 3 })).toEqual({ a: 1, c: 3 });
    expect(mergePatch({ a: 1 }, "x")).toBe("x");
    const polluted = mergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(polluted)).toBe(Object.prototype);
    expect(Object.keys(polluted)).toEqual(["__proto__"]);
  });

  it("If-Match and types", () => {
    expect(expectedVersionOf('"v3"')).toBe(3);
    expect(expectedVersionOf('W/"v12"')).toBe(12);
    expect(expectedVersionOf(undefined)).toBeNull();
    expect(expectedVersionOf("*")).toBeNull();
    expect(() => expectedVersionOf('"abc"')).toThrow(ValidationError);
    expect(settingsTypeOf("dual_side")).toBe("dual_side");
    expect(() => settingsTypeOf("positions")).toThrow(NotFoundError);
  });
});

describe("after a Redis outage", () => {
  afterEach(() => void vi.useRealTimers());

  it("reads Postgres while the breaker is open, and until a drain finds no refresh owed", async () => {
    vi.useFakeTimers();
    let now = 0;
    const w = world();
    const fastCopy = new ResilientFastCopy(w.redis, { timeoutMs: 1_000, volumeThreshold: 1, resetTimeoutMs: 50, recoveryIntervalMs: 10 }, log, () => now);
    let owed = 1;
    const drains: number[] = [];
    const read: SettingsReadDeps = { ...w.read, fastCopy, drainRefreshes: async () => (drains.push(owed), owed === 0) };
    await putSettings({ ...w.write, fastCopy }, { userId: w.user.userId, type: "params", body: { leverage: 5 }, expectedVersion: null, actor: "t" });
    w.redis.down = true;
    expect((await getAllSettings(read, { userId: w.user.userId })).params?.settings).toEqual({ leverage: 5 });
    expect(fastCopy.breakerState()).toBe("open");
    w.redis.down = false;
    w.redis.reads = 0;
    expect((await getAllSettings(read, { userId: w.user.userId })).params?.settings).toEqual({ leverage: 5 });
    expect(w.redis.reads).toBe(0);
    // The trial call after the reset timeout closes the breaker; reads stay on Postgres while refreshes are owed.
    await vi.advanceTimersByTimeAsync(60);
    now += 20;
    await getAllSettings(read, { userId: w.user.userId });
    expect(fastCopy.breakerState()).toBe("closed");
    now += 20;
    await getAllSettings(read, { userId: w.user.userId });
    expect(w.redis.reads).toBe(0);
    owed = 0;
    now += 20;
    await getAllSettings(read, { userId: w.user.userId });
    expect(drains).toEqual([1, 1, 0]);
    expect(w.redis.reads).toBe(1);
    fastCopy.shutdown();
  });
});
