import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Identifier } from "../../core/lookups/identifier";
import { PendingInvalidationGate } from "../../core/cache/pending-gate";
import type { PendingInvalidations } from "../../core/cache/pending-gate";
import { identifierKey } from "../../core/lookups/identifier";
import { identifiersIn } from "../../core/lookups/invalidation";
import { defaultLookupOptions, LookupService } from "../../core/lookups/lookup-service";
import { LookupStats } from "../../core/lookups/stats";
import { silentLog } from "../../core/observability/log-port";
import { InMemoryMappingRepository, InMemoryOutbox, LookupRedis, ManualClock, RecordingIds, ScriptedLegacy, ample, lookupCache, owedThrough } from "./support/memory";

const REFRESH_MS = 1_000;

/** The outbox rows of the topic, as PostgresPendingInvalidations reads them; counts the queries. */
class OutboxPending implements PendingInvalidations {
  queries = 0;
  failure: Error | undefined;
  constructor(private readonly outbox: InMemoryOutbox) {}
  async list(limit: number) {
    this.queries += 1;
    if (this.failure) throw this.failure;
    const rows = [...this.outbox.rows.values()];
    return { names: rows.slice(0, limit).flatMap((row) => identifiersIn(row).map(identifierKey)), more: rows.length > limit };
  }
}

function container(clock: ManualClock, repository: InMemoryMappingRepository, redis: LookupRedis, outbox: InMemoryOutbox) {
  const pending = new OutboxPending(outbox);
  const gate = new PendingInvalidationGate(pending, () => clock.nowMs(), silentLog, { refreshMs: REFRESH_MS, checkTimeoutMs: 300, limit: 2 });
  const cache = lookupCache(clock, redis, () => Promise.resolve(), { trust: gate });
  const service = new LookupService({
    repository,
    cache,
    invalidations: { outbox: { store: outbox, log: silentLog }, cache: owedThrough(cache) },
    legacy: new ScriptedLegacy(false),
    stats: new LookupStats(clock.now()),
    ids: new RecordingIds(),
    log: silentLog,
    options: defaultLookupOptions,
  });
  return { service, gate, pending };
}

/** One Redis, one Postgres (with its outbox), and a person cached by id, telegram id and okx uid. */
async function world() {
  const clock = new ManualClock();
  const outbox = new InMemoryOutbox(clock);
  const repository = new InMemoryMappingRepository(clock, outbox);
  const redis = new LookupRedis(clock);
  const person = { userId: randomUUID(), telegramId: "7200000001", okxUid: "518796551000000001", isActive: true };
  repository.seed(person);
  const reader = container(clock, repository, redis, outbox);
  for (const identifier of [person.okxUid, person.telegramId, person.userId]) await reader.service.resolve(identifier, ample);
  expect((await reader.service.resolve(person.okxUid, ample)).source).toBe("cache");
  return { clock, outbox, repository, redis, person, reader };
}

const okx = (value: string): Identifier => ({ kind: "okx_uid", value });

afterEach(() => {
  vi.useRealTimers();
});

describe("no stale answer while an invalidation is undelivered", () => {
  it("reads the entries it names as absent (Postgres answers), writes nothing over them, and trusts them again once delivered", async () => {
    const { clock, outbox, repository, redis, person, reader } = await world();
    // Changed while Redis could not take the invalidation: the row stays in the outbox, the entries in Redis.
    const change = await repository.patch(person.userId, { telegramId: "7200000002" }, "admin");
    expect(change?.invalidation).not.toBeNull();
    expect(redis.peek(okx(person.okxUid))).toMatchObject({ telegramId: person.telegramId });

    clock.advance(REFRESH_MS);
    const fresh = container(clock, repository, redis, outbox);
    for (const lookups of [reader.service, fresh.service]) {
      expect(await lookups.resolve(person.okxUid, ample)).toMatchObject({ telegramId: "7200000002", source: "database" });
      expect(await lookups.resolve(person.userId, ample)).toMatchObject({ telegramId: "7200000002", source: "database" });
    }
    // The old telegram id no longer maps to the person: not its cached user any more.
    expect(await reader.service.resolve(person.telegramId, ample)).toMatchObject({ userId: null, source: "direct" });
    expect(redis.peek(okx(person.okxUid))).toMatchObject({ telegramId: person.telegramId });

    // Delivered (by the drain): the entries are gone, and the next fill caches the new state.
    await redis.invalidate(identifiersIn(change?.invalidation ?? { payload: {} }));
    outbox.rows.clear();
    clock.advance(REFRESH_MS);
    expect(await reader.service.resolve(person.okxUid, ample)).toMatchObject({ telegramId: "7200000002", source: "database" });
    expect(await reader.service.resolve(person.okxUid, ample)).toMatchObject({ telegramId: "7200000002", source: "cache" });
  });

  it("checks the pending list before trusting an entry: at a cold start, after a cache failure, and once its copy is older than the interval", async () => {
    const { clock, person, reader } = await world();
    expect(reader.pending.queries).toBe(1); // the first hit of the container
    await reader.service.resolve(person.okxUid, ample);
    clock.advance(REFRESH_MS - 1);
    await reader.service.resolve(person.okxUid, ample);
    expect(reader.pending.queries).toBe(1);
    clock.advance(1);
    await reader.service.resolve(person.okxUid, ample);
    expect(reader.pending.queries).toBe(2);
    reader.gate.markSuspect();
    await reader.service.resolve(person.okxUid, ample);
    expect(reader.pending.queries).toBe(3);
  });

  it("distrusts every entry while more invalidations are pending than it reads", async () => {
    const { clock, repository, person, reader } = await world();
    for (const n of [1, 2, 3]) {
      const other = { userId: randomUUID(), telegramId: `720000010${n}`, okxUid: null, isActive: true };
      await repository.upsert(other, "admin");
    }
    clock.advance(REFRESH_MS);
    expect((await reader.service.resolve(person.okxUid, ample)).source).toBe("database");
  });

  it("waits a bounded time for a slow check, then goes on with what it knew", async () => {
    vi.useFakeTimers();
    const { clock, person, reader } = await world();
    reader.pending.list = () => new Promise(() => undefined);
    clock.advance(REFRESH_MS);
    const read = reader.service.resolve(person.okxUid, ample);
    await vi.advanceTimersByTimeAsync(300);
    expect((await read).source).toBe("cache");
  });
});
