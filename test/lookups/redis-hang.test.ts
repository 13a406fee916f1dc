import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CacheProbe } from "../../core/cache/model";
import type { CacheStore } from "../../core/cache/ports";
import { ReadThroughCache } from "../../core/cache/read-through-cache";
import type { Identifier } from "../../core/lookups/identifier";
import { defaultLookupCacheOptions, defaultLookupOptions, LookupService } from "../../core/lookups/lookup-service";
import type { LookupValue } from "../../core/lookups/lookup-service";
import { LookupStats } from "../../core/lookups/stats";
import { silentLog } from "../../core/observability/log-port";
import { InMemoryMappingRepository, InMemoryOutbox, ManualClock, RecordingIds, ScriptedLegacy, ample, owedThrough } from "./support/memory";

const TIMEOUT_MS = 100;

/** A Redis that takes every call and never answers (SIGSTOP), counting them. */
class HangingStore implements CacheStore {
  calls = 0;
  private hang<T>(): Promise<T> {
    this.calls += 1;
    return new Promise<T>(() => undefined);
  }
  probe(): Promise<CacheProbe> {
    return this.hang();
  }
  probeMany(): Promise<CacheProbe[]> {
    return this.hang();
  }
  write(): Promise<boolean[]> {
    return this.hang();
  }
  release(): Promise<void> {
    return this.hang();
  }
  tombstone(): Promise<void> {
    return this.hang();
  }
  bumpTags(): Promise<void> {
    return this.hang();
  }
}

/** The lookup service over the lookups' cache (core/cache) on a hung Redis, on real (faked) time. */
function service(store: CacheStore, openAfterFailures = 3) {
  const clock = new ManualClock();
  const repository = new InMemoryMappingRepository(clock, new InMemoryOutbox(clock));
  const stats = new LookupStats(clock.now());
  const cache = new ReadThroughCache<LookupValue>(
    { store, clock: { now: () => new Date() }, ids: { uuid: () => randomUUID() }, log: silentLog, sleep: () => Promise.resolve() },
    { ...defaultLookupCacheOptions, storeTimeoutMs: TIMEOUT_MS, storeFailuresToOpen: openAfterFailures, storeCooldownMs: 2_000 },
  );
  const lookups = new LookupService({
    repository,
    cache,
    invalidations: { outbox: { store: new InMemoryOutbox(clock), log: silentLog }, cache: owedThrough(cache) },
    legacy: new ScriptedLegacy(false),
    stats,
    ids: new RecordingIds(),
    log: silentLog,
    options: defaultLookupOptions,
  });
  return { repository, cache, lookups };
}

/** Resolves `work` under fake timers, returning the fake time it took. */
async function fakeElapsed<T>(work: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const started = Date.now();
  let doneAt: number | undefined;
  const running = work().finally(() => (doneAt = Date.now()));
  for (let step = 0; step < 40 && doneAt === undefined; step++) await vi.advanceTimersByTimeAsync(TIMEOUT_MS / 10);
  return { value: await running, elapsedMs: (doneAt ?? Number.POSITIVE_INFINITY) - started };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Redis down costs one bounded timeout, once", () => {
  it("a lookup on a hung Redis waits for one cache call, not for the read and then the fill's write", async () => {
    vi.useFakeTimers();
    const hanging = new HangingStore();
    const { repository, lookups } = service(hanging, 100);
    const person = repository.seed({ userId: randomUUID(), telegramId: "7100000001", okxUid: "518796550000000001", isActive: true });

    const single = await fakeElapsed(() => lookups.resolve(person.okxUid ?? "", ample));
    expect(single.value).toMatchObject({ telegramId: person.telegramId, source: "database" });
    expect(hanging.calls).toBe(1);
    expect(single.elapsedMs).toBeLessThan(2 * TIMEOUT_MS);

    const batch = await fakeElapsed(() => lookups.resolveMany([person.telegramId, "518796550000000009"], ample));
    expect(batch.value.map((entry) => entry.found)).toEqual([true, false]);
    expect(hanging.calls).toBe(2);
    expect(batch.elapsedMs).toBeLessThan(2 * TIMEOUT_MS);
  });

  it("opens the breaker after three failing requests, then costs no cache call at all", async () => {
    vi.useFakeTimers();
    const hanging = new HangingStore();
    const { repository, cache, lookups } = service(hanging);
    const person = repository.seed({ userId: randomUUID(), telegramId: "7100000002", okxUid: null, isActive: true });
    for (let request = 1; request <= 3; request++) {
      expect(cache.breakerState()).toBe("closed");
      await fakeElapsed(() => lookups.resolve(person.telegramId, ample));
    }
    expect(cache.breakerState()).toBe("open");
    const open = await fakeElapsed(() => lookups.resolve(person.userId, ample));
    expect(open.value.source).toBe("database");
    expect(open.elapsedMs).toBe(0);
    expect(hanging.calls).toBe(3);
  });

  it("an owed invalidation is refused (not swallowed) when Redis cannot take it", async () => {
    vi.useFakeTimers();
    const { cache } = service(new HangingStore());
    const id: Identifier = { kind: "okx_uid", value: "518796550000000003" };
    const owed = owedThrough(cache).invalidateOrThrow([id]).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(await owed).toBeInstanceOf(Error);
  });
});
