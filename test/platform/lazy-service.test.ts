import { describe, expect, it } from "vitest";
import { lazyService } from "../../runtime/lazy-service";

interface Greeter {
  greet(name: string): Promise<string>;
  count(): Promise<number>;
}

class Impl implements Greeter {
  private calls = 0;
  async greet(name: string): Promise<string> {
    this.calls += 1;
    return `hi ${name}`;
  }
  async count(): Promise<number> {
    return this.calls;
  }
}

describe("lazyService", () => {
  it("loads nothing until a method is called, then loads once and calls through (with `this`)", async () => {
    let loads = 0;
    const service = lazyService<Greeter>(async () => {
      loads += 1;
      return new Impl();
    }, { greet: true, count: true });
    expect(loads).toBe(0);
    const [a, b] = await Promise.all([service.greet("a"), service.greet("b")]);
    expect([a, b]).toEqual(["hi a", "hi b"]);
    expect(await service.count()).toBe(2);
    expect(loads).toBe(1);
  });

  it("does not keep a failed load: the next call loads again", async () => {
    let loads = 0;
    const service = lazyService<Greeter>(async () => {
      loads += 1;
      if (loads === 1) throw new Error("chunk failed to load");
      return new Impl();
    }, { greet: true, count: true });
    await expect(service.greet("a")).rejects.toThrow("chunk failed to load");
    expect(await service.greet("a")).toBe("hi a");
    expect(loads).toBe(2);
  });
});
