import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type middy from "@middy/core";
import type { MetricsSink } from "../core/lookups/stats";

/** Powertools metrics (CloudWatch EMF), flushed after each invocation that recorded any. */
export function createMetrics(serviceName: string): { metrics: Metrics; sink: MetricsSink } {
  const metrics = new Metrics({ namespace: "botstate", serviceName });
  return { metrics, sink: { count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value) } };
}

export function flushMetrics(metrics: Metrics): middy.MiddlewareObj {
  const flush = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}
