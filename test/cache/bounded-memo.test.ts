import { describe, expect, it } from "vitest";
import { BoundedMemo } from "../../core/cache/bounded-memo";

describe("BoundedMemo", () => {
  it("answers before the deadline and forgets at it", () => {
    const memo = new BoundedMemo<string>(10);
    memo.set("a", "one", 1_000);
    expect(memo.get("a", 999)).toBe("one");
    expect(memo.get("a", 1_000)).toBeUndefined();
    expect(memo.size).toBe(0);
  });

  it("keeps at most maxEntries, dropping the oldest; setting a key again makes it the newest", () => {
    const memo = new BoundedMemo<number>(2);
    memo.set("a", 1, 100);
    memo.set("b", 2, 100);
    memo.set("a", 3, 100);
    memo.set("c", 4, 100);
    expect(memo.size).toBe(2);
    expect(memo.get("b", 0)).toBeUndefined();
    expect(memo.get("a", 0)).toBe(3);
    expect(memo.get("c", 0)).toBe(4);
  });

  it("forgets a deleted key", () => {
    const memo = new BoundedMemo<number>(2);
    memo.set("a", 1, 100);
    memo.delete("a");
    expect(memo.get("a", 0)).toBeUndefined();
  });
});
