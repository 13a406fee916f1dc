import { afterEach, describe, expect, it, vi } from "vitest";
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

const request = (key: string, fill: () => Promise<View | null>, tags: readonly string[] = ["user/a"]) => ({ key, tags, fill });

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
