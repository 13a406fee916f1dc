import { afterEach, describe, expect, it, vi } from "vitest";
import { FleetStatsRecorder, defaultFleetStatsOptions, readFleetStats } from "../../core/lookups/fleet-stats";
import type { FleetStatsOptions } from "../../core/lookups/fleet-stats";
import type { ContainerMinute, FleetStatsStore } from "../../core/lookups/ports";
import { silentLog } from "../../core/observability/log-port";

/** Keeps the larger count per field, as the Redis script does. */
class MemoryStore implements FleetStatsStore {
  readonly writes: ContainerMinute[][] = [];
  readonly fields = new Map<string, number>();
  hang = false;

  write(minutes: readonly ContainerMinute[]): Promise<void> {
    if (this.hang) return new Promise(() => undefined);
    this.writes.push([...minutes]);
    for (const report of minutes) {
      for (const [counter, value] of Object.entries(report.counts)) {
        const field = `${report.minute}|${report.container}|${counter}`;
        this.fields.set(field, Math.max(this.fields.get(field) ?? 0, value ?? 0));
      }
    }
    return Promise.resolve();
  }

  read(minutes: readonly number[]): Promise<ContainerMinute[]> {
    const reports = new Map<string, { minute: number; container: string; counts: Record<string, number> }>();
    for (const [field, value] of this.fields) {
      const [minute, container, counter] = field.split("|") as [string, string, string];
      if (!minutes.includes(Number(minute))) continue;
      const report = reports.get(`${minute}|${container}`) ?? { minute: Number(minute), container, counts: {} };
      report.counts[counter] = value;
      reports.set(`${minute}|${container}`, report);
    }
    return Promise.resolve([...reports.values()]);
  }
}

const clock = { now: () => new Date() };

function recorder(store: FleetStatsStore, container: string, options: Partial<FleetStatsOptions> = {}) {
  return new FleetStatsRecorder({
    store,
    clock,
    log: silentLog,
    container,
    breakers: () => ({ legacy: "closed", cache: "closed" }),
    options: { ...defaultFleetStatsOptions, ...options },
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("FleetStatsRecorder", () => {
  it("batches: a thousand counts within the interval make one write after the first, and the trailing one sends the rest", async () => {
    vi.useFakeTimers({ now: new Date("2026-11-30T10:00:05Z") });
    const store = new MemoryStore();
    const fleet = recorder(store, "a", { flushIntervalMs: 1_000 });
    for (let i = 0; i < 1_000; i++) fleet.record("tier.cache");
    await vi.advanceTimersByTimeAsync(0);
    expect(store.writes).toHaveLength(1); // the first count found no flush for an interval
    await vi.advanceTimersByTimeAsync(1_000);
    expect(store.writes).toHaveLength(2);
    const totals = await readFleetStats({ store, clock }, { minutes: 1 });
    expect(totals.lookups.byTier.cache).toBe(1_000);
  });

  it("never makes a count wait for Redis: a hanging store is given up after the timeout and the counts go out later", async () => {
    vi.useFakeTimers({ now: new Date("2026-11-30T10:00:05Z") });
    const store = new MemoryStore();
    store.hang = true;
    const fleet = recorder(store, "a", { flushIntervalMs: 1_000, flushTimeoutMs: 500 });
    const started = performance.now();
    for (let i = 0; i < 10; i++) fleet.record("tier.database"); // synchronous: nothing to await
    expect(performance.now() - started).toBeLessThan(50);
    const flushed = fleet.flush(); // after the one the first count started
    await vi.advanceTimersByTimeAsync(1_000);
    await flushed; // both given up, not rejected
    store.hang = false;
    fleet.record("tier.database");
    await vi.advanceTimersByTimeAsync(1_000);
    await fleet.flush();
    expect((await readFleetStats({ store, clock }, { minutes: 1 })).lookups.byTier.database).toBe(11);
    fleet.stop();
  });

  it("sums containers and minutes over the window, and keeps a closed minute's count", async () => {
    vi.useFakeTimers({ now: new Date("2026-11-30T10:00:50Z") });
    const store = new MemoryStore();
    const [a, b] = [recorder(store, "a"), recorder(store, "b")];
    a.record("tier.legacy");
    b.record("tier.legacy");
    await vi.advanceTimersByTimeAsync(20_000); // the next minute
    a.record("tier.legacy");
    b.record("notFound");
    await Promise.all([a.flush(), b.flush()]);
    expect((await readFleetStats({ store, clock }, { minutes: 2 })).lookups).toMatchObject({ lookups: 4, notFound: 1, byTier: { legacy: 3 } });
    expect((await readFleetStats({ store, clock }, { minutes: 1 })).lookups).toMatchObject({ lookups: 2 });
    a.stop();
    b.stop();
  });

  it("holds at most maxPendingMinutes in memory while Redis is away", async () => {
    vi.useFakeTimers({ now: new Date("2026-11-30T10:00:00Z") });
    const store = new MemoryStore();
    store.hang = true;
    const fleet = recorder(store, "a", { maxPendingMinutes: 3, flushTimeoutMs: 10 });
    for (let minute = 0; minute < 10; minute++) {
      fleet.record("tier.cache");
      await vi.advanceTimersByTimeAsync(60_000);
    }
    store.hang = false;
    await fleet.flush();
    expect(store.writes.at(-1)?.filter((report) => Object.keys(report.counts).length > 0).length).toBeLessThanOrEqual(3);
    fleet.stop();
  });
});
