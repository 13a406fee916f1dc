import { describe, expect, it } from "vitest";
import { defaultGuardOptions, drawdownOf, statusOf } from "../../core/guards/model";
import { viewLifetimeMs } from "../../core/guards/get-guards";
import { presentGuardView } from "../../core/guards/presenters";
import { DAY_MS } from "../../core/guards/record-equity";

const thresholds = defaultGuardOptions.thresholds;

describe("drawdown guard statuses", () => {
  it("normal below 10 %, warning from 10 % up to and including 15 %, critical above", () => {
    expect(statusOf(0, thresholds)).toBe("normal");
    expect(statusOf(9.999999, thresholds)).toBe("normal");
    expect(statusOf(10, thresholds)).toBe("warning");
    expect(statusOf(12.5, thresholds)).toBe("warning");
    expect(statusOf(15, thresholds)).toBe("warning");
    expect(statusOf(15.000001, thresholds)).toBe("critical");
    expect(statusOf(100, thresholds)).toBe("critical");
  });

  it("computes the boundaries exactly from equity figures that are inexact in binary", () => {
    expect(drawdownOf(100, 90, thresholds)).toEqual({ drawdownPct: 10, status: "warning" });
    expect(drawdownOf(1000, 850, thresholds)).toEqual({ drawdownPct: 15, status: "warning" });
    expect(drawdownOf(1000.1, 850.085, thresholds)).toEqual({ drawdownPct: 15, status: "warning" });
    expect(drawdownOf(0.3, 0.27, thresholds)).toEqual({ drawdownPct: 10, status: "warning" });
    expect(drawdownOf(1000, 900.01, thresholds)).toEqual({ drawdownPct: 9.999, status: "normal" });
    expect(drawdownOf(1000, 849.99, thresholds)).toEqual({ drawdownPct: 15.001, status: "critical" });
  });

  it("has no drawdown at or above the peak, or with a zero peak", () => {
    expect(drawdownOf(1000, 1000, thresholds)).toEqual({ drawdownPct: 0, status: "normal" });
    expect(drawdownOf(0, 0, thresholds)).toEqual({ drawdownPct: 0, status: "normal" });
    expect(drawdownOf(1000, 0, thresholds)).toEqual({ drawdownPct: 100, status: "critical" });
  });

  it("follows configured thresholds", () => {
    const strict = { warningPct: 5, criticalPct: 8 };
    expect(statusOf(4.9, strict)).toBe("normal");
    expect(statusOf(5, strict)).toBe("warning");
    expect(statusOf(8, strict)).toBe("warning");
    expect(statusOf(8.01, strict)).toBe("critical");
  });

  it("a view with no equity reported says normal with nulls, and the peak is never below the current value", () => {
    const since = new Date("2026-11-01T00:00:00Z");
    expect(presentGuardView("okx", { peakEquity: null, peakAt: null, currentEquity: null, currentAt: null }, since, defaultGuardOptions)).toMatchObject({
      drawdownPct: 0,
      peakEquity: null,
      currentEquity: null,
      status: "normal",
      window: { days: 30, since: since.toISOString() },
    });
    // The latest snapshot is older than the window: it is its own peak.
    expect(presentGuardView("okx", { peakEquity: null, peakAt: null, currentEquity: 500, currentAt: since }, since, defaultGuardOptions)).toMatchObject({ peakEquity: 500, currentEquity: 500, drawdownPct: 0 });
  });

  it("a cached view lives the cache's TTL, or until its peak leaves the window when that is sooner", () => {
    const windowMs = 30 * DAY_MS;
    const nowMs = Date.parse("2026-11-30T12:00:00Z");
    const ttlMs = 300_000;
    const peakAt = (msAgo: number) => ({ peakAt: new Date(nowMs - msAgo) });
    expect(viewLifetimeMs({ peakAt: null }, nowMs, windowMs, ttlMs)).toBe(ttlMs);
    expect(viewLifetimeMs(peakAt(DAY_MS), nowMs, windowMs, ttlMs)).toBe(ttlMs);
    expect(viewLifetimeMs(peakAt(windowMs - 60_000), nowMs, windowMs, ttlMs)).toBe(60_000);
    expect(viewLifetimeMs(peakAt(windowMs - 1), nowMs, windowMs, ttlMs)).toBe(1);
    expect(viewLifetimeMs(peakAt(windowMs), nowMs, windowMs, ttlMs)).toBeNull();
  });
});
