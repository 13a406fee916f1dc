import { randomUUID } from "node:crypto";
import type { IdGenerator } from "../../../core/clock";
import { ConflictError } from "../../../core/errors";
import type { Identifier } from "../../../core/lookups/identifier";
import { defaultLookupOptions, LookupService } from "../../../core/lookups/lookup-service";
import type { LookupContext, LookupOptions } from "../../../core/lookups/lookup-service";
import { identifiersOf, lookupInvalidationMessage } from "../../../core/lookups/invalidation";
import type { InvalidationDeliveryDeps } from "../../../core/lookups/invalidation";
import type { MappingAdminDeps } from "../../../core/lookups/mapping-admin";
import { mappingMatches } from "../../../core/lookups/model";
import type { CachedLookup, LegacyAnswer, Mapping, MappingSource } from "../../../core/lookups/model";
import type { CacheRead, CacheWrite, LegacyLookup, MappingChange, MappingInput, MappingPatch, MappingRepository, RequestCache, RequestScopedCache } from "../../../core/lookups/ports";
import type { OutboxMessage, OutboxRow } from "../../../core/outbox/model";
import type { OutboxBacklog, OutboxStore } from "../../../core/outbox/ports";
import { LookupStats } from "../../../core/lookups/stats";
import { silentLog } from "../../../core/observability/log-port";

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

const keyOf = (identifier: Identifier) => `${identifier.kind}:${identifier.value}`;

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

/** Redis in memory: entries and fill locks expire by the shared clock, every call is recorded. */
export class InMemoryLookupCache implements RequestScopedCache {
  private readonly entries = new Map<string, { value: CachedLookup; expiresAt: number }>();
  private readonly locks = new Map<string, number>();
  /** Slots emptied by an invalidation, with its id (Redis keeps a tombstone there). */
  private readonly tombstones = new Map<string, string>();
  private invalidations = 0;
  readonly getManyCalls: Identifier[][] = [];
  readonly sets: CacheWrite[] = [];
  readonly lockAttempts: Identifier[] = [];
  readonly releases: Identifier[] = [];

  constructor(private readonly clock: ManualClock) {}

  /** What another container (or a test) put there; not recorded as a call. */
  put(identifier: Identifier, value: CachedLookup, ttlSeconds: number): void {
    this.entries.set(keyOf(identifier), { value, expiresAt: this.clock.nowMs() + ttlSeconds * 1000 });
  }

  peek(identifier: Identifier): CachedLookup | null {
    const entry = this.entries.get(keyOf(identifier));
    return entry && entry.expiresAt > this.clock.nowMs() ? entry.value : null;
  }

  clear(): void {
    this.entries.clear();
    this.tombstones.clear();
  }

  private read(identifier: Identifier): CacheRead {
    const entry = this.peek(identifier);
    return { entry, slot: entry ? null : (this.tombstones.get(keyOf(identifier)) ?? null) };
  }

  /** Another container holds the fill lock of this identifier. */
  holdLock(identifier: Identifier, ttlMs: number): void {
    this.locks.set(keyOf(identifier), this.clock.nowMs() + ttlMs);
  }

  lockHeld(identifier: Identifier): boolean {
    const until = this.locks.get(keyOf(identifier));
    return until !== undefined && until > this.clock.nowMs();
  }

  async getMany(identifiers: readonly Identifier[]): Promise<CacheRead[]> {
    this.getManyCalls.push([...identifiers]);
    return identifiers.map((identifier) => this.read(identifier));
  }

  /** Like the Redis script: each entry only if its slot is still as the fill read it. */
  async setMany(entries: readonly CacheWrite[], releaseFillOf?: Identifier): Promise<void> {
    for (const entry of entries) {
      this.sets.push(entry);
      const now = this.read(entry.identifier);
      if (!now.entry && now.slot === (entry.expectedSlot ?? null)) this.put(entry.identifier, entry.value, entry.ttlSeconds);
    }
    if (releaseFillOf) await this.releaseFill(releaseFillOf);
  }

  async invalidate(identifiers: readonly Identifier[]): Promise<void> {
    for (const identifier of identifiers) {
      this.entries.delete(keyOf(identifier));
      this.invalidations += 1;
      this.tombstones.set(keyOf(identifier), `invalidation-${this.invalidations}`);
    }
  }

  async getOrLockFill(identifier: Identifier, ttlMs: number): Promise<CacheRead & { locked: boolean }> {
    this.getManyCalls.push([identifier]);
    const read = this.read(identifier);
    if (read.entry) return { ...read, locked: false };
    this.lockAttempts.push(identifier);
    if (this.lockHeld(identifier)) return { ...read, locked: false };
    this.locks.set(keyOf(identifier), this.clock.nowMs() + ttlMs);
    return { ...read, locked: true };
  }

  async releaseFill(identifier: Identifier): Promise<void> {
    this.releases.push(identifier);
    this.locks.delete(keyOf(identifier));
  }

  /** Never fails, so one view serves every request. */
  forRequest(): RequestCache {
    return {
      getMany: (identifiers) => this.getMany(identifiers),
      setMany: (entries, releaseFillOf) => this.setMany(entries, releaseFillOf),
      invalidate: (identifiers) => this.invalidate(identifiers),
      invalidateOrThrow: (identifiers) => this.invalidate(identifiers),
      getOrLockFill: (identifier, ttlMs) => this.getOrLockFill(identifier, ttlMs),
      releaseFill: (identifier) => this.releaseFill(identifier),
    };
  }
}

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
  readonly cache: InMemoryLookupCache;
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

export function harness(options: { options?: Partial<LookupOptions>; legacyEnabled?: boolean } = {}): Harness {
  const clock = new ManualClock();
  const outbox = new InMemoryOutbox(clock);
  const repository = new InMemoryMappingRepository(clock, outbox);
  const cache = new InMemoryLookupCache(clock);
  const invalidations: InvalidationDeliveryDeps = { outbox: { store: outbox, log: silentLog }, cache: { invalidateOrThrow: (identifiers) => cache.invalidate(identifiers) } };
  const legacy = new ScriptedLegacy(options.legacyEnabled ?? true);
  const stats = new LookupStats(clock.now());
  const ids = new RecordingIds();
  const sleeps: number[] = [];
  const h: Harness = {
    clock,
    repository,
    cache,
    outbox,
    admin: { repository, invalidations },
    legacy,
    stats,
    ids,
    sleeps,
    onSleep: undefined,
    service: new LookupService({
      repository,
      cache,
      invalidations,
      legacy,
      stats,
      ids,
      log: silentLog,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.advance(ms);
        await h.onSleep?.(sleeps.length);
      },
      options: { ...defaultLookupOptions, ...options.options },
    }),
  };
  return h;
}

/** A Lambda with plenty of time left. */
export const ample: LookupContext = { remainingTimeMs: () => 10_000 };
