/**
 * `bun:test` for the @upstash/redis repository's tests run under vitest
 * (scripts/conformance/upstash-redis.ts): vitest's functions with Bun's call shapes where they
 * differ (options as the third argument of test(), toThrow() awaiting an async function), plus
 * the few Bun matchers the tests use.
 */
import { describe as vitestDescribe, expect as vitestExpect, it as vitestIt, test as vitestTest } from "vitest";

export { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

type Callable = (...args: unknown[]) => unknown;

/** Bun takes `test(name, fn, options)`; vitest 4 only `test(name, options, fn)`. */
function optionsSecond<T extends object>(original: T): T {
  const call = original as unknown as Callable;
  const wrapped = (name: unknown, second: unknown, third: unknown) =>
    typeof third === "object" && third !== null ? call(name, third, second) : call(name, second, third);
  return new Proxy(wrapped, { get: (_, property) => Reflect.get(original, property) }) as unknown as T;
}

export const test = optionsSecond(vitestTest);
export const it = optionsSecond(vitestIt);
export const describe = optionsSecond(vitestDescribe);

/** Bun's toThrow() also fails on what an async function rejects with; vitest's only on what it throws. */
function awaitingToThrow(actual: unknown, message?: string): ReturnType<typeof vitestExpect> {
  const assertion = vitestExpect(actual, message);
  if (typeof actual !== "function") return assertion;
  const toThrow = (...expected: unknown[]) => {
    let result: unknown;
    try {
      result = (actual as Callable)();
    } catch (error) {
      return vitestExpect(() => {
        throw error;
      }, message).toThrow(...(expected as [undefined]));
    }
    if (result instanceof Promise) return vitestExpect(result, message).rejects.toThrow(...(expected as [undefined]));
    return vitestExpect(() => result, message).toThrow(...(expected as [undefined]));
  };
  return new Proxy(assertion, {
    get: (target, property) => (property === "toThrow" || property === "toThrowError" ? toThrow : Reflect.get(target, property)),
  });
}

export const expect = Object.assign(awaitingToThrow, vitestExpect) as unknown as typeof vitestExpect;

vitestExpect.extend({
  toBeTrue: (received: unknown) => ({ pass: received === true, message: () => `expected ${String(received)} to be true` }),
  toBeFalse: (received: unknown) => ({ pass: received === false, message: () => `expected ${String(received)} to be false` }),
  toStartWith: (received: unknown, prefix: string) => ({
    pass: typeof received === "string" && received.startsWith(prefix),
    message: () => `expected ${String(received)} to start with ${prefix}`,
  }),
});
