import type { Clock } from "../clock";
import { errorMessage } from "../errors";
import type { LogPort } from "../observability/log-port";
import { withTimeout } from "../resilience/timeout";
import { isStatCounter, snapshotOf, zeroCounts } from "./stats";
import type { LookupStatsSnapshot, StatCounter, StatCounts } from "./stats";
import type { BreakerName, BreakerStates, ContainerMinute, FleetStatsStore } from "./ports";

/**
 * Fleet-wide lookup figures. Lambda runs `/v1/admin/stats` in a container of its own, so the
 * counters of the containers that served lookups must meet somewhere: Redis, one hash per minute.
 * Each container writes its own absolute counts for the minute (fields named by container), so a
 * flush is idempotent and a retried or late one never counts twice; the reader sums the fields.
 * Counting stays in memory on the hot path: a flush is started (never awaited by a lookup) once per
 * interval, bounded by a timeout, and what it could not write is written by the next one.
 */

export interface FleetStatsOptions {
  /** At most one flush per this interval per container. */
  readonly flushIntervalMs: number;
  /** Longest a flush may take before it is given up (its minutes are written by the next one). */
  readonly flushTimeoutMs: number;
  /** Lifetime of a minute's hash; also the longest window the stats route can read. */
  readonly retentionMinutes: number;
  /** Minutes kept in memory while Redis is unreachable; older ones are dropped (and logged). */
  readonly maxPendingMinutes: number;
}

export const defaultFleetStatsOptions: FleetStatsOptions = {
  flushIntervalMs: 1_000,
  flushTimeoutMs: 1_000,
  retentionMinutes: 24 * 60,
  maxPendingMinutes: 60,
};

export interface FleetStatsRecorderDeps {
  readonly store: FleetStatsStore;
  readonly clock: Clock;
  readonly log: LogPort;
  /** This container's id (drawn once per cold start). */
  readonly container: string;
  readonly breakers: () => BreakerStates;
  readonly options: FleetStatsOptions;
}

export const minuteOf = (date: Date): number => Math.floor(date.getTime() / 60_000);

/** This container's counts per minute, flushed to the store in the background. */
export class FleetStatsRecorder {
  private readonly buckets = new Map<number, StatCounts>();
  private readonly dirty = new Set<number>();
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<void> | null = null;
  private warnedDrop = false;
  private trailing: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly deps: FleetStatsRecorderDeps) {}

  /** Hot path: one increment in memory; starts a background flush when one is due. */
  record(counter: StatCounter): void {
    const now = this.deps.clock.now();
    const minute = minuteOf(now);
    let bucket = this.buckets.get(minute);
    if (!bucket) {
      bucket = zeroCounts();
      this.buckets.set(minute, bucket);
      this.dropOverflow();
    }
    bucket[counter] += 1;
    this.dirty.add(minute);
    const wait = this.lastFlushAt + this.deps.options.flushIntervalMs - now.getTime();
    if (this.inFlight === null && wait <= 0) void this.flush();
    else this.scheduleTrailing(Math.max(wait, 0));
  }

  /** The last counts of a burst go out after the interval even if no lookup follows (unref'd: never keeps a process alive). */
  private scheduleTrailing(ms: number): void {
    if (this.trailing !== undefined) return;
    this.trailing = setTimeout(() => {
      this.trailing = undefined;
      if (this.dirty.size > 0) void this.flush();
    }, ms);
    this.trailing.unref?.();
  }

  /** Stops the trailing timer (tests, scripts). */
  stop(): void {
    clearTimeout(this.trailing);
    this.trailing = undefined;
  }

  /** Writes what is pending (and the breakers' states) now; resolves when written or given up, never rejects. */
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight.then(() => this.flush());
    this.inFlight = this.writePending().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async writePending(): Promise<void> {
    this.stop();
    const now = this.deps.clock.now();
    this.lastFlushAt = now.getTime();
    const current = minuteOf(now);
    const minutes = [...new Set([...this.dirty, current])].sort((a, b) => a - b);
    this.dirty.clear();
    const entries: ContainerMinute[] = minutes.map((minute) => ({
      minute,
      container: this.deps.container,
      counts: { ...(this.buckets.get(minute) ?? {}) },
      ...(minute === current ? { breakers: { stampMs: now.getTime(), states: this.deps.breakers() } } : {}),
    }));
    const { flushTimeoutMs, retentionMinutes } = this.deps.options;
    try {
      await withTimeout(this.deps.store.write(entries, retentionMinutes * 60 + 120), flushTimeoutMs, "lookup stats flush");
      // A closed minute, once written, is final for this container.
      for (const minute of minutes) if (minute < current && !this.dirty.has(minute)) this.buckets.delete(minute);
    } catch (error) {
      for (const minute of minutes) if (this.buckets.has(minute)) this.dirty.add(minute);
      this.deps.log.warn("lookup stats not written; kept for the next flush", { minutes: minutes.length, reason: errorMessage(error) });
    }
  }

  private dropOverflow(): void {
    while (this.buckets.size > this.deps.options.maxPendingMinutes) {
      const oldest = Math.min(...this.buckets.keys());
      this.buckets.delete(oldest);
      this.dirty.delete(oldest);
      if (!this.warnedDrop) {
        this.warnedDrop = true;
        this.deps.log.error("lookup stats: Redis unreachable for too long, oldest minutes dropped", { kept: this.deps.options.maxPendingMinutes });
      }
    }
  }
}

/** Worst first: what the fleet's breaker is, when containers disagree. */
const BREAKER_SEVERITY = ["open", "half-open", "closed", "disabled"] as const;

export interface FleetStats {
  readonly window: { readonly from: string; readonly to: string; readonly minutes: number };
  /** Containers that reported in the window. */
  readonly containers: number;
  readonly lookups: LookupStatsSnapshot;
  /** The worst state any container reported in the last two minutes ("none": no container did). */
  readonly breakers: BreakerStates;
  /** How many containers report each state, per breaker. */
  readonly breakerContainers: Readonly<Record<BreakerName, Readonly<Record<string, number>>>>;
}

export interface FleetStatsDeps {
  readonly store: FleetStatsStore;
  readonly clock: Clock;
}

/** The fleet's figures over the last `minutes` minutes (the current one included). */
export async function readFleetStats(deps: FleetStatsDeps, input: { readonly minutes: number }): Promise<FleetStats> {
  const now = deps.clock.now();
  const current = minuteOf(now);
  const minutes = Array.from({ length: input.minutes }, (_, i) => current - input.minutes + 1 + i);
  const reports = await deps.store.read(minutes);
  const totals = zeroCounts();
  for (const report of reports) {
    for (const [name, value] of Object.entries(report.counts)) if (isStatCounter(name)) totals[name] += value ?? 0;
  }
  const from = new Date((current - input.minutes + 1) * 60_000);
  const { breakers, breakerContainers } = fleetBreakers(reports.filter((report) => report.minute >= current - 1));
  return {
    window: { from: from.toISOString(), to: now.toISOString(), minutes: input.minutes },
    containers: new Set(reports.map((report) => report.container)).size,
    lookups: snapshotOf(totals, from),
    breakers,
    breakerContainers,
  };
}

/** Each container's latest report, then the worst state per breaker and the number of containers in each. */
function fleetBreakers(reports: readonly ContainerMinute[]): Pick<FleetStats, "breakers" | "breakerContainers"> {
  const latest = new Map<string, { stampMs: number; states: BreakerStates }>();
  for (const { container, breakers } of reports) {
    if (breakers && (latest.get(container)?.stampMs ?? -1) < breakers.stampMs) latest.set(container, breakers);
  }
  const tally = (name: BreakerName) => {
    const counts: Record<string, number> = {};
    for (const { states } of latest.values()) counts[states[name]] = (counts[states[name]] ?? 0) + 1;
    return counts;
  };
  const worst = (counts: Record<string, number>) => BREAKER_SEVERITY.find((state) => (counts[state] ?? 0) > 0) ?? Object.keys(counts)[0] ?? "none";
  const legacy = tally("legacy");
  const cache = tally("cache");
  return { breakers: { legacy: worst(legacy), cache: worst(cache) }, breakerContainers: { legacy, cache } };
}
