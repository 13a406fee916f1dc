import { describe, expect, it } from "vitest";
import { CACHE_BUMP_TOPIC, cacheBumpMessage, cacheOutboxHandlers } from "../../core/cache/outbox";
import { TagInvalidator } from "../../core/cache/tag-invalidator";
import { MemoryCacheStore } from "./support/memory-cache-store";

describe("cache tag bumps through the outbox", () => {
  it("a committed write's message bumps its tags when delivered, and again when redelivered", async () => {
    const store = new MemoryCacheStore(() => 0);
    const handlers = cacheOutboxHandlers(new TagInvalidator(store));
    const message = cacheBumpMessage({ uuid: () => "m1" }, ["user/b", "user/a"]);
    expect(message).toEqual({ id: "m1", topic: CACHE_BUMP_TOPIC, key: "user/a,user/b", payload: { tags: ["user/b", "user/a"] } });
    await handlers[CACHE_BUMP_TOPIC]?.(message);
    await handlers[CACHE_BUMP_TOPIC]?.(message);
    expect(Object.fromEntries(store.tags)).toEqual({ "user/a": 2, "user/b": 2 });
  });

  it("refuses a message without a tag list (left in the outbox, logged by the drain)", async () => {
    const handlers = cacheOutboxHandlers(new TagInvalidator(new MemoryCacheStore(() => 0)));
    await expect(handlers[CACHE_BUMP_TOPIC]?.({ id: "m2", topic: CACHE_BUMP_TOPIC, key: "x", payload: { tags: "user/a" } })).rejects.toThrow("tag list");
  });

  it("a bump while Redis is down fails, so the row stays for a drain", async () => {
    const store = new MemoryCacheStore(() => 0);
    store.failing = new Error("ECONNREFUSED");
    const handlers = cacheOutboxHandlers(new TagInvalidator(store));
    await expect(handlers[CACHE_BUMP_TOPIC]?.(cacheBumpMessage({ uuid: () => "m3" }, ["user/a"]))).rejects.toThrow("ECONNREFUSED");
  });
});
