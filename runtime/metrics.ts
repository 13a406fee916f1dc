import type middy from "@middy/core";
import type { MetricsSink } from "../core/lookups/stats";

/**
 * Counts for CloudWatch as Embedded Metric Format lines (one JSON line per invocation, which the
 * Lambda log pipeline turns into metrics). Written by hand rather than with Powertools Metrics:
 * the format is one object, and the library cost 13.7 KB of every lookups handler's bundle.
 * `POWERTOOLS_METRICS_DISABLED=true` (tests, the dev server, the bench) turns it off, as before.
 */
export class EmfMetrics {
  private readonly values = new Map<string, number[]>();

  constructor(
    private readonly namespace: string,
    private readonly serviceName: string,
  ) {}

  add(name: string, value: number): void {
    const recorded = this.values.get(name);
    if (recorded) recorded.push(value);
    else this.values.set(name, [value]);
  }

  hasStoredMetrics(): boolean {
    return this.values.size > 0;
  }

  /** One EMF line with every value recorded since the last one (CloudWatch sums them), then forgets them. */
  publishStoredMetrics(): void {
    const names = [...this.values.keys()];
    const line = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [{ Namespace: this.namespace, Dimensions: [["service"]], Metrics: names.map((name) => ({ Name: name, Unit: "Count" })) }],
      },
      service: this.serviceName,
      ...Object.fromEntries([...this.values].map(([name, values]) => [name, values.length === 1 ? values[0] : values])),
    };
    this.values.clear();
    if (process.env.POWERTOOLS_METRICS_DISABLED?.toLowerCase() === "true") return;
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

/** Metrics (CloudWatch EMF), flushed after each invocation that recorded any. */
export function createMetrics(serviceName: string): { metrics: EmfMetrics; sink: MetricsSink } {
  const metrics = new EmfMetrics("botstate", serviceName);
  return { metrics, sink: { count: (name, value = 1) => metrics.add(name, value) } };
}

export function flushMetrics(metrics: EmfMetrics): middy.MiddlewareObj {
  const flush = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}
