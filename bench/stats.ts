export interface Summary {
  readonly samples: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly opsPerSec: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function summarize(latenciesMs: readonly number[], elapsedMs: number): Summary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    samples: sorted.length,
    medianMs: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    opsPerSec: Math.round((sorted.length / elapsedMs) * 1000),
  };
}

/** Runs `op` sequentially: warm-up first, then `iterations` timed calls. */
export async function measureSequential(op: () => Promise<unknown>, iterations: number, warmup = Math.ceil(iterations / 10)): Promise<Summary> {
  for (let i = 0; i < warmup; i += 1) await op();
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < iterations; i += 1) {
    const t0 = performance.now();
    await op();
    latencies.push(performance.now() - t0);
  }
  return summarize(latencies, performance.now() - started);
}

/**
 * Runs `subject` and `floor` alternately, each first every other time (after a warm-up of both), so
 * a floor is measured at the same moments as what it bounds; the summaries of each.
 */
export async function measureAlternating(subject: (i: number) => Promise<unknown>, floor: (i: number) => Promise<unknown>, iterations: number): Promise<{ subject: Summary; floor: Summary }> {
  for (let i = 0; i < Math.ceil(iterations / 10); i++) {
    await floor(i);
    await subject(i);
  }
  const times = { subject: [] as number[], floor: [] as number[] };
  let spent = { subject: 0, floor: 0 };
  for (let i = 0; i < iterations; i++) {
    for (const [side, op] of (i % 2 === 0 ? [["floor", floor], ["subject", subject]] : [["subject", subject], ["floor", floor]]) as [keyof typeof times, (i: number) => Promise<unknown>][]) {
      const started = performance.now();
      await op(i);
      const took = performance.now() - started;
      times[side].push(took);
      spent = { ...spent, [side]: spent[side] + took };
    }
  }
  return { subject: summarize(times.subject, spent.subject), floor: summarize(times.floor, spent.floor) };
}

/** The bounds of a median's confidence interval (medianInterval). */
export interface MedianInterval {
  readonly low: number;
  readonly high: number;
}

export type IntervalVerdict = "ok" | "MISS" | "too close to call";

/**
 * A distribution-free confidence interval of the median of `values`: the order statistics
 * x(k) and x(n+1-k) for the largest k such that Binomial(n, ½) puts at most (1 - confidence) / 2
 * below k. It assumes nothing of the distribution (round-to-round ratios are skewed by the
 * machine's pauses); with 20 values and 95 %, it is the 6th and the 15th.
 */
export function medianInterval(values: readonly number[], confidence = 0.95): MedianInterval {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { low: Number.NaN, high: Number.NaN };
  const tail = (1 - confidence) / 2;
  let below = 0; // P(X < k) for X ~ Binomial(n, 1/2), for k = 1 upward
  let mass = 0.5 ** n; // P(X = k - 1)
  let k = 0;
  for (let next = 1; next <= Math.floor(n / 2); next += 1) {
    below += mass;
    if (below > tail) break;
    k = next;
    mass = (mass * (n - next + 1)) / next;
  }
  return k === 0 ? { low: sorted[0] ?? Number.NaN, high: sorted[n - 1] ?? Number.NaN } : { low: sorted[k - 1] ?? Number.NaN, high: sorted[n - k] ?? Number.NaN };
}

/**
 * A ratio's verdict against `target` from the 95 % interval of its median rather than the median
 * alone: a median whose interval holds the target is above or below it by the chance of one run.
 */
export function intervalVerdict(interval: MedianInterval, target: number): IntervalVerdict {
  if (interval.high <= target) return "ok";
  if (interval.low > target) return "MISS";
  return "too close to call";
}
