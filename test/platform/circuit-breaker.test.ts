import { afterEach, describe, expect, it, vi } from "vitest";
import { breakerStateOf, isBreakerOpen } from "../../core/resilience/breaker";
import { BreakerTimeoutError, CircuitBreaker } from "../../core/resilience/circuit-breaker";
import type { CircuitBreakerOptions } from "../../core/resilience/circuit-breaker";

/** A clock the test moves. */
function manualClock(startMs = 1_000_000) {
  let now = startMs;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const fail = () => Promise.reject(new Error("down"));
const succeed = () => Promise.resolve("ok");
const options: CircuitBreakerOptions = { timeoutMs: false, errorThresholdPercentage: 50, volumeThreshold: 5, resetTimeoutMs: 2_000 };

async function failures(breaker: CircuitBreaker, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await expect(breaker.fire(fail)).rejects.toThrow("down");
}

afterEach(() => {
  vi.useRealTimers();
});

describe("circuit breaker", () => {
  it("opens after N failures in a row even when the window is full of successes", async () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker({ ...options, openAfterConsecutiveFailures: 3 }, clock.now);
    for (let i = 0; i < 100; i++) await breaker.fire(succeed);
    await failures(breaker, 2);
    expect(breakerStateOf(breaker)).toBe("closed");
    await failures(breaker, 1);
    expect(breakerStateOf(breaker)).toBe("open");
    const refused = await breaker.fire(succeed).catch((error: unknown) => error);
    expect(isBreakerOpen(refused)).toBe(true);
  });

  it("opens on the failure rate of the rolling window once the volume is reached", async () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker(options, clock.now);
    await breaker.fire(succeed);
    await breaker.fire(succeed);
    await failures(breaker, 2);
    expect(breaker.opened).toBe(false); // 2 of 4 calls: not above 50 %, and under the volume
    await failures(breaker, 1);
    expect(breaker.opened).toBe(true); // 3 of 5
  });

  it("forgets calls older than the rolling window", async () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker({ ...options, rollingWindowMs: 1_000 }, clock.now);
    await failures(breaker, 4);
    clock.advance(1_500);
    await breaker.fire(succeed);
    await failures(breaker, 1);
    expect(breaker.opened).toBe(false); // 1 failure of 2 calls in the window
  });

  it("is half-open after the reset timeout, lets one trial through, and closes when it succeeds", async () => {
    const clock = manualClock();
    const closed = vi.fn();
    const breaker = new CircuitBreaker({ ...options, volumeThreshold: 1, onClose: closed }, clock.now);
    await failures(breaker, 1);
    clock.advance(1_999);
    expect(breakerStateOf(breaker)).toBe("open");
    clock.advance(1);
    expect(breakerStateOf(breaker)).toBe("half-open");
    let finishTrial = (_value: string) => undefined as void;
    const trial = breaker.fire(() => new Promise<string>((resolve) => (finishTrial = resolve)));
    // While the trial runs, other calls are refused at once (no pile-up on a dependency just back).
    expect(isBreakerOpen(await breaker.fire(succeed).catch((error: unknown) => error))).toBe(true);
    finishTrial("back");
    expect(await trial).toBe("back");
    expect(breakerStateOf(breaker)).toBe("closed");
    expect(closed).toHaveBeenCalledTimes(1);
  });

  it("opens again for a whole reset timeout when the trial fails", async () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker({ ...options, volumeThreshold: 1 }, clock.now);
    await failures(breaker, 1);
    clock.advance(2_000);
    await failures(breaker, 1);
    expect(breakerStateOf(breaker)).toBe("open");
    clock.advance(1_999);
    expect(breakerStateOf(breaker)).toBe("open");
  });

  it("fails a call that outlives its timeout", async () => {
    vi.useFakeTimers();
    const breaker = new CircuitBreaker({ ...options, timeoutMs: 100 });
    const hung = breaker.fire(() => new Promise<string>(() => undefined)).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    expect(await hung).toBeInstanceOf(BreakerTimeoutError);
  });
});
