import { describe, expect, it, vi } from "vitest";
import { ReadThroughCache, defaultReadThroughOptions } from "../../core/cache/read-through-cache";
import { TagInvalidator } from "../../core/cache/tag-invalidator";
import { CachedUserDirectory } from "../../core/identity/adapters/cached-user-directory";
import type { UserDirectory } from "../../core/identity/user-ref";
import { silentLog } from "../../core/observability/log-port";
import { MemoryCacheStore } from "./support/memory-cache-store";

describe("CachedUserDirectory", () => {
  it("resolves a known ref once per TTL and an unknown one once per negative TTL", async () => {
    let now = 1_800_000_000_000;
    const store = new MemoryCacheStore(() => now);
    const cache = new ReadThroughCache<string>(
      { store, invalidator: new TagInvalidator(store), clock: { now: () => new Date(now) }, ids: { uuid: () => "t" }, log: silentLog, sleep: async () => undefined },
      { ...defaultReadThroughOptions, name: "user-refs", ttlMs: 60_000, negativeTtlMs: 5_000 },
    );
    const inner: UserDirectory = {
      activeUserId: vi.fn(async (id: string) => (id === "u1" ? "u1" : null)),
      userIdByOkxUid: vi.fn(async (uid: string) => (uid === "518796558012178692" ? "u1" : null)),
    };
    const directory = new CachedUserDirectory(inner, cache);
    expect(await directory.activeUserId("u1")).toBe("u1");
    expect(await directory.activeUserId("u1")).toBe("u1");
    expect(await directory.userIdByOkxUid("518796558012178692")).toBe("u1");
    expect(await directory.activeUserId("u2")).toBeNull();
    expect(await directory.activeUserId("u2")).toBeNull();
    expect(inner.activeUserId).toHaveBeenCalledTimes(2);
    now += 5_000;
    expect(await directory.activeUserId("u2")).toBeNull();
    expect(await directory.activeUserId("u1")).toBe("u1");
    expect(inner.activeUserId).toHaveBeenCalledTimes(3);
    now += 55_000;
    await directory.activeUserId("u1");
    expect(inner.activeUserId).toHaveBeenCalledTimes(4);
  });
});
