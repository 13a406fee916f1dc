import { afterEach, describe, expect, it, vi } from "vitest";
import { CacheFill } from "../../core/cache/model";
import type { Filled } from "../../core/cache/model";
import { ReadThroughCache, defaultReadThroughOptions } from "../../core/cache/read-through-cache";
import type { ReadThroughOptions } from "../../core/cache/read-through-cache";
import { TagInvalidator } from "../../core/cache/tag-invalidator";
import { NotFoundError, UnavailableError } from "../../core/errors";
import { silentLog } from "../../core/observability/log-port";
import { MemoryCacheStore } from "./support/memory-cache-store";

interface View {
  readonly n: number;
}

/** One "container": its own cache instance (own single flight) over a store shared with others. */
function world(options: Partial<ReadThroughOptions> = {}) {
  let now = 1_800_000_000_000;
  const store = new MemoryCacheStore(() => now);
  const sleeps: number[] = [];
  let onSleep: () => void = () => undefined;
  let counter = 0;
  const container = () => {
    const invalidator = new TagInvalidator(store);
    const cache = new ReadThroughCache<View>(
      {
        store,
        invalidator,
        clock: { now: () => new Date(now) },
        ids: { uuid: () => `token-${(counter += 1)}` },
        log: silentLog,
        sleep: async (ms) => {
          sleeps.push(ms);
          now += ms;
          onSleep();
          await new Promise((resolve) => setImmediate(resolve));
        },
      },
      { ...defaultReadThroughOptions, name: "views", ...options },
    );
    return { cache, invalidator };
  };
  return {
    store,
    sleeps,
    container,
    advance: (ms: number) => (now += ms),
    whenSleeping: (run: () => void) => (onSleep = run),
  };
}

function deferred<T>() {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

const request = (key: string, fill: () => Promise<Filled<View>>, tags: readonly string[] = ["user/a"]) => ({ key, tags, fill });

afterEach(() => {
  vi.useRealTimers();
});

describe("ReadThroughCache", () => {
  it("fills a miss once, answers hits until the TTL, then fills again", async () => {
    const w = world();
    const { cache } = w.container();
    const fill = vi.fn(async () => ({ n: fill.mock.calls.length }));
    expect(await cache.get(request("a", fill))).toEqual({ value: { n: 1 }, outcome: "miss" });
    expect(await cache.get(request("a", fill))).toEqual({ value: { n: 1 }, outcome: "hit" });
    w.advance(defaultReadThroughOptions.ttlMs - 1);
    expect((await cache.get(request("a", fill))).outcome).toBe("hit");
    w.advance(1);
    expect(await cache.get(request("a", fill))).toEqual({ value: { n: 2 }, outcome: "miss" });
    expect(fill).toHaveBeenCalledTimes(2);
    expect(cache.metrics.snapshot()).toMatchObject({ reads: 4, hits: 2, misses: 2, fills: 2, hitRate: 0.5 });
  });

  it("caches 'does not exist' for the negative TTL only", async () => {
    const w = world({ negativeTtlMs: 1_000 });
    const { cache } = w.container();
    const fill = vi.fn(async () => null);
    expect(await cache.get(request("gone", fill))).toEqual({ value: null, outcome: "miss" });
    expect(await cache.get(request("gone", fill))).toEqual({ value: null, outcome: "hit" });
    w.advance(1_000);
    expect((await cache.get(request("gone", fill))).outcome).toBe("miss");
    expect(fill).toHaveBeenCalledTimes(2);
  });

  it("shares one fill among concurrent reads of a key in a container", async () => {
    const w = world();
    const { cache } = w.container();
    const source = deferred<View>();
    const fill = vi.fn(() => source.promise);
    const reads = Array.from({ length: 10 }, () => cache.get(request("a", fill)));
    source.resolve({ n: 7 });
    const answers = await Promise.all(reads);
    expect(fill).toHaveBeenCalledTimes(1);
    expect(answers.every((answer) => answer.value?.n === 7)).toBe(true);
    expect(cache.metrics.snapshot()).toMatchObject({ reads: 10, fills: 1, misses: 1, hits: 9 });
  });

  it("waits for another container's fill instead of querying the source too", async () => {
    const w = world();
    const first = w.container();
    const second = w.container();
    const source = deferred<View>();
    const filling = first.cache.get(request("a", () => source.promise));
    await new Promise((resolve) => setImmediate(resolve));
    w.whenSleeping(() => source.resolve({ n: 1 }));
    const otherFill = vi.fn(async () => ({ n: 99 }));
    expect(await second.cache.get(request("a", otherFill))).toEqual({ value: { n: 1 }, outcome: "hit" });
    expect(await filling).toEqual({ value: { n: 1 }, outcome: "miss" });
    expect(otherFill).not.toHaveBeenCalled();
    expect(second.cache.metrics.snapshot()).toMatchObject({ lockWaits: 1, fills: 0, hits: 1 });
  });

  it("fills itself when the lock holder does not answer within the wait", async () => {
    const w = world({ fillWaitMs: 60, fillPollMs: 20 });
    const first = w.container();
    const second = w.container();
    const stuck = first.cache.get(request("a", () => new Promise<View>(() => undefined)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await second.cache.get(request("a", async () => ({ n: 2 })))).toEqual({ value: { n: 2 }, outcome: "miss" });
    expect(w.sleeps).toEqual([20, 20, 20]);
    void stuck;
  });

  it("a tag bump invalidates every entry of that tag at once, and only those", async () => {
    const w = world();
    const { cache } = w.container();
    let version = 1;
    const fill = async () => ({ n: version });
    await cache.get(request("reconciliation", fill, ["user/a"]));
    await cache.get(request("guards", fill, ["user/a"]));
    await cache.get(request("other", fill, ["user/b"]));
    version = 2;
    await cache.invalidate(["user/a"]);
    expect(await cache.get(request("reconciliation", fill, ["user/a"]))).toEqual({ value: { n: 2 }, outcome: "miss" });
    expect(await cache.get(request("guards", fill, ["user/a"]))).toEqual({ value: { n: 2 }, outcome: "miss" });
    expect(await cache.get(request("other", fill, ["user/b"]))).toEqual({ value: { n: 1 }, outcome: "hit" });
  });

  it("a fill that read the source before a bump neither writes back nor is joined after it", async () => {
    const w = world();
    const { cache } = w.container();
    const before = deferred<View>();
    const early = cache.get(request("a", () => before.promise));
    await new Promise((resolve) => setImmediate(resolve));
    await cache.invalidate(["user/a"]);
    const fresh = vi.fn(async () => ({ n: 2 }));
    const late = cache.get(request("a", fresh));
    before.resolve({ n: 1 });
    expect((await early).value).toEqual({ n: 1 });
    expect((await late).value).toEqual({ n: 2 });
    expect(fresh).toHaveBeenCalledTimes(1);
    expect(await cache.get(request("a", fresh))).toEqual({ value: { n: 2 }, outcome: "hit" });
  });

  it("serves the last value when the source is unavailable, within the stale window only", async () => {
    const w = world({ ttlMs: 5_000, staleIfErrorMs: 30_000 });
    const { cache } = w.container();
    await cache.get(request("a", async () => ({ n: 1 })));
    w.advance(5_000 + 29_000);
    const down = async (): Promise<View> => {
      throw new UnavailableError("database unreachable");
    };
    expect(await cache.get(request("a", down))).toEqual({ value: { n: 1 }, outcome: "stale", staleForMs: 29_000 });
    expect(cache.metrics.snapshot()).toMatchObject({ staleServes: 1 });
    w.advance(1_001);
    await expect(cache.get(request("a", down))).rejects.toBeInstanceOf(UnavailableError);
  });

  it("never serves stale after an invalidation or for an error that is not an outage", async () => {
    const w = world();
    const { cache } = w.container();
    await cache.get(request("a", async () => ({ n: 1 })));
    w.advance(6_000);
    await expect(cache.get(request("a", async () => Promise.reject(new NotFoundError("no such user"))))).rejects.toBeInstanceOf(NotFoundError);
    await cache.invalidate(["user/a"]);
    await expect(cache.get(request("a", async () => Promise.reject(new UnavailableError("down"))))).rejects.toBeInstanceOf(UnavailableError);
    expect(w.store.locks.size).toBe(0);
  });

  it("reads the source when Redis fails, then skips Redis for the cooldown", async () => {
    const w = world({ storeCooldownMs: 1_000 });
    const { cache } = w.container();
    w.store.failing = new Error("ECONNREFUSED");
    const fill = vi.fn(async () => ({ n: 1 }));
    expect(await cache.get(request("a", fill))).toEqual({ value: { n: 1 }, outcome: "bypass" });
    const callsAfterFailure = w.store.calls;
    expect(await cache.get(request("a", fill))).toEqual({ value: { n: 1 }, outcome: "bypass" });
    expect(w.store.calls).toBe(callsAfterFailure);
    w.store.failing = null;
    w.advance(1_000);
    expect((await cache.get(request("a", fill))).outcome).toBe("miss");
    expect(cache.metrics.snapshot()).toMatchObject({ bypasses: 2, storeErrors: 1, misses: 1 });
  });

  it("bounds a hanging Redis by the store timeout", async () => {
    vi.useFakeTimers();
    const w = world({ storeTimeoutMs: 50 });
    const { cache } = w.container();
    w.store.probe = () => new Promise(() => undefined);
    const answer = cache.get(request("a", async () => ({ n: 3 })));
    await vi.advanceTimersByTimeAsync(50);
    expect(await answer).toEqual({ value: { n: 3 }, outcome: "bypass" });
  });

  it("a failed bump throws (the writer's outbox retries it)", async () => {
    const w = world();
    const { invalidator } = w.container();
    w.store.failing = new Error("ECONNREFUSED");
    await expect(invalidator.bump(["user/a"])).rejects.toThrow("ECONNREFUSED");
  });
});

describe("ReadThroughCache: per-key invalidation, fill lifetimes, batches, trust and the breaker", () => {
  it("a per-key invalidation keeps a fill that read before it from writing back, and is not joined after it", async () => {
    const w = world();
    const { cache } = w.container();
    const before = deferred<View>();
    const early = cache.get(request("k", () => before.promise, []));
    await new Promise((resolve) => setImmediate(resolve));
    await cache.invalidateKeys(["k"]);
    const fresh = vi.fn(async () => ({ n: 2 }));
    const late = cache.get(request("k", fresh, []));
    before.resolve({ n: 1 });
    expect((await early).value).toEqual({ n: 1 });
    expect((await late).value).toEqual({ n: 2 });
    expect(await cache.get(request("k", fresh, []))).toEqual({ value: { n: 2 }, outcome: "hit" });
    expect(fresh).toHaveBeenCalledTimes(1);
  });

  it("another container's invalidation refuses this container's racing fill too", async () => {
    const w = world();
    const filler = w.container();
    const writer = w.container();
    const before = deferred<View>();
    const early = filler.cache.get(request("k", () => before.promise, []));
    await new Promise((resolve) => setImmediate(resolve));
    await writer.cache.invalidateKeys(["k"]);
    before.resolve({ n: 1 });
    await early;
    expect(await filler.cache.get(request("k", async () => ({ n: 2 }), []))).toEqual({ value: { n: 2 }, outcome: "miss" });
  });

  it("stores a fill for its own lifetime, or not at all", async () => {
    const w = world({ ttlMs: 60_000 });
    const { cache } = w.container();
    let n = 0;
    const brief = async () => new CacheFill<View>({ n: (n += 1) }, 1_000);
    expect((await cache.get(request("brief", brief, []))).value).toEqual({ n: 1 });
    expect((await cache.get(request("brief", brief, []))).outcome).toBe("hit");
    w.advance(1_000);
    expect((await cache.get(request("brief", brief, []))).value).toEqual({ n: 2 });
    const none = vi.fn(async () => new CacheFill<View>({ n: 9 }, null));
    expect(await cache.get(request("none", none, []))).toEqual({ value: { n: 9 }, outcome: "miss" });
    expect(await cache.get(request("none", none, []))).toEqual({ value: { n: 9 }, outcome: "miss" });
    expect(none).toHaveBeenCalledTimes(2);
    expect(w.store.locks.size).toBe(0);
  });

  it("reads a batch with one probe and one fill, writes it back at once, and joins reads under way", async () => {
    const w = world();
    const { cache } = w.container();
    await cache.get(request("a", async () => ({ n: 1 }), []));
    const single = deferred<View>();
    const joined = cache.get(request("b", () => single.promise, []));
    const fillMany = vi.fn(async (keys: readonly string[]) => new Map(keys.map((key) => [key, key === "d" ? null : { n: 3 }] as const)));
    const batch = cache.getMany(["a", "b", "c", "d", "c"], fillMany);
    single.resolve({ n: 2 });
    await joined;
    const answers = await batch;
    expect(Object.fromEntries([...answers].map(([key, answer]) => [key, answer]))).toEqual({
      a: { value: { n: 1 }, outcome: "hit" },
      b: { value: { n: 2 }, outcome: "miss" },
      c: { value: { n: 3 }, outcome: "miss" },
      d: { value: null, outcome: "miss" },
    });
    expect(fillMany.mock.calls).toEqual([[["c", "d"]]]);
    expect(w.store.probes.at(-1)).toEqual(["a", "c", "d"]);
    expect(w.store.lockAttempts).not.toContain("c");
    const again = await cache.getMany(["c", "d"], fillMany);
    expect([...again.values()].map((answer) => answer.outcome)).toEqual(["hit", "hit"]);
    expect(fillMany).toHaveBeenCalledTimes(1);
  });

  it("an untrusted entry reads as absent, is filled at once without waiting for a lock, and is not overwritten", async () => {
    const w = world();
    let distrusted = new Set<string>();
    const { cache: plain } = w.container();
    await plain.get(request("k", async () => ({ n: 1 }), []));
    const cache = new ReadThroughCache<View>(
      { store: w.store, invalidator: new TagInvalidator(w.store), clock: { now: () => new Date(w.advance(0)) }, ids: { uuid: () => "t" }, log: silentLog, sleep: async () => undefined, trust: { trusted: async () => (key) => !distrusted.has(key) } },
      { ...defaultReadThroughOptions, name: "views" },
    );
    distrusted = new Set(["k"]);
    expect(await cache.get(request("k", async () => ({ n: 2 }), []))).toEqual({ value: { n: 2 }, outcome: "miss" });
    expect((await cache.getMany(["k"], async () => new Map([["k", { n: 3 }]]))).get("k")).toEqual({ value: { n: 3 }, outcome: "miss" });
    distrusted = new Set();
    expect(await cache.get(request("k", async () => ({ n: 4 }), []))).toEqual({ value: { n: 1 }, outcome: "hit" });
  });

  it("makes one failing store call per read, opens its breaker after the configured failures in a row, and reports its state", async () => {
    const w = world({ storeFailuresToOpen: 3, storeCooldownMs: 2_000 });
    const { cache } = w.container();
    w.store.failing = new Error("ECONNREFUSED");
    for (let read = 1; read <= 3; read++) {
      expect(cache.breakerState()).toBe("closed");
      const calls = w.store.calls;
      expect((await cache.get(request(`k${read}`, async () => ({ n: read }), []))).outcome).toBe("bypass");
      expect(w.store.calls - calls).toBe(1);
    }
    expect(cache.breakerState()).toBe("open");
    const calls = w.store.calls;
    await cache.getMany(["x", "y"], async (keys) => new Map(keys.map((key) => [key, { n: 0 }])));
    expect(w.store.calls).toBe(calls);
    await expect(cache.invalidateKeys(["x"])).rejects.toThrow();
    expect(cache.metrics.snapshot()).toMatchObject({ storeErrors: 3, storeSkips: 2 });
    w.store.failing = null;
    w.advance(2_000);
    expect(cache.breakerState()).toBe("half-open");
    expect((await cache.get(request("k1", async () => ({ n: 1 }), []))).outcome).toBe("miss");
    expect(cache.breakerState()).toBe("closed");
  });

  it("tells its entry trust of each failed store call (the gate then re-reads the owed invalidations), not of calls its breaker skipped", async () => {
    const now = 1_800_000_000_000;
    const store = new MemoryCacheStore(() => now);
    const markSuspect = vi.fn();
    const cache = new ReadThroughCache<View>(
      { store, clock: { now: () => new Date(now) }, ids: { uuid: () => "t" }, log: silentLog, sleep: async () => undefined, trust: { trusted: async () => () => true, markSuspect } },
      { ...defaultReadThroughOptions, name: "views", storeFailuresToOpen: 1 },
    );
    store.failing = new Error("ECONNREFUSED");
    expect((await cache.get({ key: "k", tags: [], fill: async () => ({ n: 1 }) })).outcome).toBe("bypass");
    expect(markSuspect).toHaveBeenCalledTimes(1);
    expect((await cache.get({ key: "k", tags: [], fill: async () => ({ n: 1 }) })).outcome).toBe("bypass");
    expect(cache.metrics.snapshot().storeSkips).toBe(1);
    expect(markSuspect).toHaveBeenCalledTimes(1);
  });
});
