import { describe, expect, it } from "vitest";
import { ReadThroughCache, defaultReadThroughOptions } from "../../core/cache/read-through-cache";
import { TagInvalidator } from "../../core/cache/tag-invalidator";
import { UnavailableError } from "../../core/errors";
import { CachedUserDirectory, USER_REF_CACHE } from "../../core/identity/adapters/cached-user-directory";
import type { UserDirectory } from "../../core/identity/user-ref";
import { identifierKey } from "../../core/lookups/identifier";
import { silentLog } from "../../core/observability/log-port";
import { MemoryCacheStore } from "../cache/support/memory-cache-store";

const START = 1_800_000_000_000;
const USER = "0b6c2f4e-52d4-4a8e-9d3c-6f1e2a7b9c01";
const OKX_UID = "518796558012178692";

/** The source of truth: which users are active, changed by the test; every call counted. */
class Users implements UserDirectory {
  readonly active = new Set<string>([USER]);
  calls = 0;
  failing = false;

  async activeUserId(userId: string): Promise<string | null> {
    this.calls += 1;
    if (this.failing) throw new UnavailableError("postgres down");
    return this.active.has(userId) ? userId : null;
  }

  async userIdByOkxUid(okxUid: string): Promise<string | null> {
    this.calls += 1;
    return okxUid === OKX_UID && this.active.has(USER) ? USER : null;
  }
}

/**
 * Containers sharing one Redis (the store) and one clock, each with its own memo: the shared cache
 * keeps a ref 10 min (mapping changes tombstone it) and the memo 30 s, as runtime/user-refs.ts does.
 */
function world(memo: { ttlMs: number; maxEntries: number } = { ttlMs: 30_000, maxEntries: 100 }) {
  const clock = { now: () => new Date(state.now) };
  const state = { now: START };
  const store = new MemoryCacheStore(() => state.now);
  const users = new Users();
  const container = () => {
    const cache = new ReadThroughCache<string>(
      { store, invalidator: new TagInvalidator(store), clock, ids: { uuid: () => "t" }, log: silentLog, sleep: async () => undefined },
      { ...defaultReadThroughOptions, name: USER_REF_CACHE, ttlMs: 600_000, negativeTtlMs: 5_000, staleIfErrorMs: 60_000 },
    );
    return new CachedUserDirectory(users, cache, { clock, ...memo });
  };
  /** What a mapping change does to the shared entries (runtime/lookup-invalidations.ts). */
  const invalidate = () => store.tombstone(USER_REF_CACHE, [identifierKey({ kind: "user_id", value: USER })], "deactivation", 15_000);
  return { state, store, users, container, invalidate };
}

describe("CachedUserDirectory's in-container memo", () => {
  it("answers a found ref from memory, without Redis, within its TTL", async () => {
    const { state, store, users, container } = world();
    const directory = container();
    expect(await directory.activeUserId(USER)).toBe(USER);
    const redisCalls = store.calls;
    state.now += 29_999;
    expect(await directory.activeUserId(USER)).toBe(USER);
    expect(await directory.activeUserId(USER)).toBe(USER);
    expect(store.calls).toBe(redisCalls);
    expect(users.calls).toBe(1);
  });

  it("keeps the bound: a deactivation is seen at once where the ref is not in memory, and within the memo's TTL where it is", async () => {
    const { state, users, container, invalidate } = world();
    const first = container();
    const second = container();
    expect(await first.activeUserId(USER)).toBe(USER);
    state.now += 29_000;
    users.active.delete(USER);
    await invalidate();
    expect(await second.activeUserId(USER)).toBeNull();
    expect(await first.activeUserId(USER)).toBe(USER);
    state.now = START + 30_000;
    expect(await first.activeUserId(USER)).toBeNull();
  });

  it("does not keep unknown refs: a user that appears is found once the negative TTL is over", async () => {
    const { state, users, container } = world();
    const directory = container();
    users.active.clear();
    expect(await directory.userIdByOkxUid(OKX_UID)).toBeNull();
    users.active.add(USER);
    state.now += 5_000;
    expect(await directory.userIdByOkxUid(OKX_UID)).toBe(USER);
  });

  it("does not keep a stale answer served while Postgres fails", async () => {
    const { state, store, users, container } = world();
    const directory = container();
    const other = container();
    await other.activeUserId(USER);
    state.now += 600_000;
    users.failing = true;
    expect(await directory.activeUserId(USER)).toBe(USER);
    const redisCalls = store.calls;
    users.failing = false;
    users.active.delete(USER);
    expect(await directory.activeUserId(USER)).toBeNull();
    expect(store.calls).toBeGreaterThan(redisCalls);
  });

  it("keeps at most maxEntries refs, forgetting the oldest", async () => {
    const { users, container } = world({ ttlMs: 30_000, maxEntries: 1 });
    const directory = container();
    await directory.activeUserId(USER);
    await directory.userIdByOkxUid(OKX_UID);
    const sourceCalls = users.calls;
    // The shared cache still has the first; only the memo forgot it.
    expect(await directory.activeUserId(USER)).toBe(USER);
    expect(await directory.userIdByOkxUid(OKX_UID)).toBe(USER);
    expect(users.calls).toBe(sourceCalls);
  });
});
