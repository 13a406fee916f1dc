import { randomUUID } from "node:crypto";
import type { IdGenerator } from "../../../core/clock";
import { ConflictError } from "../../../core/errors";
import type { Identifier } from "../../../core/lookups/identifier";
import { ReadThroughCache } from "../../../core/cache/read-through-cache";
import type { EntryTrust } from "../../../core/cache/read-through-cache";
import { defaultLookupCacheOptions, defaultLookupOptions, LookupService } from "../../../core/lookups/lookup-service";
import type { LookupContext, LookupOptions, LookupValue } from "../../../core/lookups/lookup-service";
import { identifierKey } from "../../../core/lookups/identifier";
import { LOOKUP_CACHE, identifiersOf, lookupInvalidationMessage } from "../../../core/lookups/invalidation";
import type { InvalidationDeliveryDeps, OwedInvalidationCache } from "../../../core/lookups/invalidation";
import type { MappingAdminDeps } from "../../../core/lookups/mapping-admin";
import { mappingMatches } from "../../../core/lookups/model";
import type { LegacyAnswer, LookupResult, Mapping, MappingSource } from "../../../core/lookups/model";
import type { LegacyLookup, MappingChange, MappingInput, MappingPatch, MappingRepository } from "../../../core/lookups/ports";
import type { OutboxMessage, OutboxRow } from "../../../core/outbox/model";
import type { OutboxBacklog, OutboxStore } from "../../../core/outbox/ports";
import { LookupStats } from "../../../core/lookups/stats";
import { silentLog } from "../../../core/observability/log-port";
import { MemoryCacheStore } from "../../cache/support/memory-cache-store";

/** Time the in-memory ports agree on, moved by the test. */
export class ManualClock {
  constructor(private ms = Date.UTC(2025, 0, 1)) {}
  nowMs(): number {
    return this.ms;
  }
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}


/** The outbox table in memory: rows a change wrote "in its transaction", until delivered. */
export class InMemoryOutbox implements OutboxStore {
  readonly rows = new Map<string, OutboxMessage>();
  readonly retries: { id: string; reason: string }[] = [];

  constructor(private readonly clock: ManualClock) {}

  private row(message: OutboxMessage): OutboxRow {
    return { ...message, createdAt: this.clock.now(), attempts: 0, nextAttemptAt: this.clock.now(), lastError: null };
  }

  async claimDue(topics: readonly string[], limit: number): Promise<OutboxRow[]> {
    return [...this.rows.values()].filter((message) => topics.includes(message.topic)).slice(0, limit).map((message) => this.row(message));
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.rows.delete(id);
  }

  async retryLater(id: string, _delayMs: number, reason: string): Promise<void> {
    this.retries.push({ id, reason });
  }

  async backlog(): Promise<OutboxBacklog> {
    return { pending: this.rows.size, oldestCreatedAt: null };
  }
}

/**
 * The Postgres repository's contract in memory, including its constraints: a telegram id and an
 * okx uid belong to one active user at most.
 */
export class InMemoryMappingRepository implements MappingRepository {
  readonly rows = new Map<string, Mapping>();
  readonly findMappingsCalls: Identifier[][] = [];
  readonly upserts: { input: MappingInput; source: MappingSource }[] = [];
  private gate: Promise<void> | undefined;
  /** The next findMappings rejects with this (once). */
  failNext: Error | undefined;

  constructor(
    private readonly clock: ManualClock,
    /** Where changes write their invalidations, as the Postgres repository does in its transaction. */
    private readonly outbox?: InMemoryOutbox,
  ) {}

  private owed(previous: Mapping | null, current: Mapping): OutboxMessage {
    const message = lookupInvalidationMessage(randomUUID(), current.userId, [...(previous ? identifiersOf(previous) : []), ...identifiersOf(current)]);
    this.outbox?.rows.set(message.id, message);
    return message;
  }

  seed(input: MappingInput, source: MappingSource = "admin"): Mapping {
    const mapping: Mapping = { ...input, source, createdAt: this.clock.now(), updatedAt: this.clock.now() };
    this.rows.set(input.userId, mapping);
    return mapping;
  }

  /** findMappings waits until the returned function is called (a slow query the test releases). */
  hold(): () => void {
    let release = () => undefined as void;
    this.gate = new Promise<void>((resolve) => {
      release = () => {
        this.gate = undefined;
        resolve();
      };
    });
    return release;
  }

  async findMappings(identifiers: readonly Identifier[]): Promise<Mapping[]> {
    this.findMappingsCalls.push([...identifiers]);
    // The rows as the query saw them when it ran; a held query returns them later, as a slow one would.
    const rows = [...this.rows.values()].filter((row) => identifiers.some((id) => mappingMatches(row, id)));
    await this.gate;
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    return rows;
  }

  async getByUserId(userId: string): Promise<Mapping | null> {
    return this.rows.get(userId) ?? null;
  }

  async search(filter: { telegramId?: string | undefined; okxUid?: string | undefined }): Promise<Mapping[]> {
    return [...this.rows.values()]
      .filter((row) => (filter.telegramId === undefined || row.telegramId === filter.telegramId) && (filter.okxUid === undefined || row.okxUid === filter.okxUid))
      .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime());
  }

  async upsert(input: MappingInput, source: MappingSource): Promise<MappingChange> {
    this.upserts.push({ input, source });
    for (const row of this.rows.values()) {
      // Unique among active users only (migration 0003).
      if (row.userId === input.userId || !row.isActive || !input.isActive) continue;
      if (row.telegramId === input.telegramId) throw new ConflictError("telegramId already belongs to another active user");
      if (input.okxUid !== null && row.okxUid === input.okxUid) throw new ConflictError("okxUid is already mapped to another active user");
    }
    const previous = this.rows.get(input.userId) ?? null;
    if (previous && previous.telegramId === input.telegramId && previous.okxUid === input.okxUid && previous.isActive === input.isActive) {
      return { previous, current: previous, changed: false, invalidation: null };
    }
    const current: Mapping = {
      ...input,
      source,
      createdAt: previous?.createdAt ?? this.clock.now(),
      updatedAt: this.clock.now(),
    };
    this.rows.set(input.userId, current);
    return { previous, current, changed: true, invalidation: this.owed(previous, current) };
  }

  async patch(userId: string, patch: MappingPatch, source: MappingSource): Promise<MappingChange | null> {
    const previous = this.rows.get(userId);
    if (!previous) return null;
    return this.upsert(
      {
        userId,
        telegramId: patch.telegramId ?? previous.telegramId,
        okxUid: patch.okxUid === undefined ? previous.okxUid : patch.okxUid,
        isActive: patch.isActive ?? previous.isActive,
      },
      source,
    );
  }

  async deactivate(userId: string): Promise<MappingChange | null> {
    const previous = this.rows.get(userId);
    if (!previous) return null;
    if (!previous.isActive) return { previous, current: previous, changed: false, invalidation: null };
    const current: Mapping = { ...previous, isActive: false, updatedAt: this.clock.now() };
    this.rows.set(userId, current);
    return { previous, current, changed: true, invalidation: this.owed(previous, current) };
  }
}

/** What a fill wrote back (or tried to), as the lookups see it. */
export interface LookupWrite {
  readonly identifier: Identifier;
  /** The answer stored; null for "unknown". */
  readonly value: LookupResult | null;
  readonly ttlSeconds: number;
  /** The tombstone the fill had read (null: none). */
  readonly expectedSlot: string | null;
}

const identifierOfKey = (key: string): Identifier => {
  const at = key.indexOf(":");
  return { kind: key.slice(0, at) as Identifier["kind"], value: key.slice(at + 1) };
};

/**
 * The lookups' Redis in memory: the core/cache store (test/cache/support) seen through identifiers,
 * on the shared clock; every call is recorded.
 */
export class LookupRedis {
  readonly store: MemoryCacheStore;

  constructor(private readonly clock: ManualClock) {
    this.store = new MemoryCacheStore(() => clock.nowMs());
  }

  private id(identifier: Identifier): string {
    return `${LOOKUP_CACHE}:${identifierKey(identifier)}`;
  }

  /** What another container (or a test) put there; not recorded as a call. */
  put(identifier: Identifier, value: LookupResult | null, ttlSeconds: number): void {
    const freshUntilMs = this.clock.nowMs() + ttlSeconds * 1000;
    const payload = value === null ? "n" : `v${JSON.stringify(value)}`;
    this.store.entries.set(this.id(identifier), { entry: { payload, freshUntilMs }, stamp: "@", expiresAtMs: freshUntilMs });
  }

  /** The stored answer (null: "unknown"), undefined when there is no fresh entry. */
  peek(identifier: Identifier): LookupResult | null | undefined {
    const slot = this.store.entries.get(this.id(identifier));
    if (!slot?.entry || slot.entry.freshUntilMs <= this.clock.nowMs()) return undefined;
    return slot.entry.payload === "n" ? null : (JSON.parse(slot.entry.payload.slice(1)) as LookupResult);
  }

  clear(): void {
    this.store.entries.clear();
  }

  /** Delivers an invalidation, as the drain would. */
  invalidate(identifiers: readonly Identifier[]): Promise<void> {
    return this.store.tombstone(LOOKUP_CACHE, identifiers.map(identifierKey), randomUUID(), 5_000);
  }

  /** Another container holds the fill lock of this identifier. */
  holdLock(identifier: Identifier, ttlMs: number): void {
    this.store.locks.set(this.id(identifier), { token: "another-container", expiresAtMs: this.clock.nowMs() + ttlMs });
  }

  lockHeld(identifier: Identifier): boolean {
    const lock = this.store.locks.get(this.id(identifier));
    return lock !== undefined && lock.expiresAtMs > this.clock.nowMs();
  }

  /** The identifiers each cache read asked for (one entry per round trip). */
  get reads(): Identifier[][] {
    return this.store.probes.map((keys) => keys.map(identifierOfKey));
  }

  get lockAttempts(): Identifier[] {
    return this.store.lockAttempts.map(identifierOfKey);
  }

  get releases(): Identifier[] {
    return this.store.releases.map(identifierOfKey);
  }

  get writes(): LookupWrite[] {
    return this.store.writes.flatMap((write) =>
      write.entries.map(({ key, entry, expectedSlot }) => ({
        identifier: identifierOfKey(key),
        value: entry.payload === "n" ? null : (JSON.parse(entry.payload.slice(1)) as LookupResult),
        ttlSeconds: (entry.freshUntilMs - write.nowMs) / 1000,
        expectedSlot,
      })),
    );
  }
}

/** How a harness' lookups use the cache: core/lookups' defaults unless a test says otherwise. */
export interface HarnessCacheOptions {
  readonly positiveTtlSeconds: number;
  readonly negativeTtlSeconds: number;
  readonly fillLockMs: number;
  readonly fillWaitMs: number;
  readonly fillPollMs: number;
}

/** The lookups' read-through cache over the in-memory Redis, as runtime/lookups.ts builds it. */
export function lookupCache(clock: ManualClock, redis: LookupRedis, sleep: (ms: number) => Promise<void>, options: Partial<HarnessCacheOptions & { trust: EntryTrust }> = {}): ReadThroughCache<LookupValue> {
  const defaults = defaultLookupCacheOptions;
  const deps = { store: redis.store, clock, ids: { uuid: () => randomUUID() }, log: silentLog, sleep };
  return new ReadThroughCache<LookupValue>(options.trust ? { ...deps, trust: options.trust } : deps, {
    ...defaults,
    ttlMs: (options.positiveTtlSeconds ?? defaults.ttlMs / 1000) * 1000,
    negativeTtlMs: (options.negativeTtlSeconds ?? defaults.negativeTtlMs / 1000) * 1000,
    fillLockMs: options.fillLockMs ?? defaults.fillLockMs,
    fillWaitMs: options.fillWaitMs ?? defaults.fillWaitMs,
    fillPollMs: options.fillPollMs ?? defaults.fillPollMs,
  });
}

/** Owed invalidations through the lookups' cache, as runtime/lookups.ts wires them. */
export const owedThrough = (cache: ReadThroughCache<LookupValue>): OwedInvalidationCache => ({
  invalidateOrThrow: (identifiers) => cache.invalidateKeys(identifiers.map(identifierKey)),
});

/** The legacy service as a table of answers; records each call and its deadline. */
export class ScriptedLegacy implements LegacyLookup {
  readonly answers = new Map<string, LegacyAnswer>();
  readonly calls: { identifier: Identifier; deadlineMs: number }[] = [];
  failure: Error | undefined;

  constructor(readonly enabled = true) {}

  async lookup(identifier: Identifier, deadlineMs: number): Promise<LegacyAnswer | null> {
    this.calls.push({ identifier, deadlineMs });
    if (this.failure) throw this.failure;
    return this.answers.get(identifier.value) ?? null;
  }

  breakerState(): "closed" | "disabled" {
    return this.enabled ? "closed" : "disabled";
  }
}

export class RecordingIds implements IdGenerator {
  readonly issued: string[] = [];
  uuid(): string {
    const id = randomUUID();
    this.issued.push(id);
    return id;
  }
}

export interface Harness {
  readonly service: LookupService;
  readonly clock: ManualClock;
  readonly repository: InMemoryMappingRepository;
  /** Redis as the lookups' cache uses it. */
  readonly cache: LookupRedis;
  readonly outbox: InMemoryOutbox;
  /** What the admin use cases take (mapping-admin.ts). */
  readonly admin: MappingAdminDeps;
  readonly legacy: ScriptedLegacy;
  readonly stats: LookupStats;
  readonly ids: RecordingIds;
  /** Every injected sleep, in order. */
  readonly sleeps: number[];
  /** Runs inside each injected sleep (the n-th, from 1): lets a test act as another container. */
  onSleep: ((n: number) => void | Promise<void>) | undefined;
}

export function harness(options: { options?: Partial<LookupOptions & HarnessCacheOptions>; legacyEnabled?: boolean } = {}): Harness {
  const clock = new ManualClock();
  const outbox = new InMemoryOutbox(clock);
  const repository = new InMemoryMappingRepository(clock, outbox);
  const redis = new LookupRedis(clock);
  const legacy = new ScriptedLegacy(options.legacyEnabled ?? true);
  const stats = new LookupStats(clock.now());
  const ids = new RecordingIds();
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    clock.advance(ms);
    await h.onSleep?.(sleeps.length);
  };
  const cache = lookupCache(clock, redis, sleep, options.options);
  const invalidations: InvalidationDeliveryDeps = { outbox: { store: outbox, log: silentLog }, cache: owedThrough(cache) };
  const h: Harness = {
    clock,
    repository,
    cache: redis,
    outbox,
    admin: { repository, invalidations },
    legacy,
    stats,
    ids,
    sleeps,
    onSleep: undefined,
    service: new LookupService({ repository, cache, invalidations, legacy, stats, ids, log: silentLog, options: { ...defaultLookupOptions, ...options.options } }),
  };
  return h;
}

/** A Lambda with plenty of time left. */
export const ample: LookupContext = { remainingTimeMs: () => 10_000 };
