import { describe, expect, it } from "vitest";
import { emptyCounts } from "../../core/sync/model";
import type { SyncSummary } from "../../core/sync/model";
import { EmfSyncMetrics } from "../../runtime/sync";

const summary = (lagSeconds: number | null): SyncSummary => ({
  source: "settings",
  dryRun: false,
  counts: { ...emptyCounts(), scanned: 10, written: 4, conflicts: 1, invalid: 2 },
  problems: [],
  problemsLeftOut: 0,
  failures: [],
  conflicts: [],
  stop: "done",
  elapsedMs: 100,
  rowsPerSecond: 50,
  lagSeconds,
  passCompleted: true,
});

describe("sync metrics", () => {
  it("one EMF line per run: rows written, conflicts, invalid, failed and the lag, by source", () => {
    const lines: string[] = [];
    const previous = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = "false";
    try {
      new EmfSyncMetrics("botstate", { now: () => new Date(1_000) }, (line) => lines.push(line)).publish(summary(42));
      new EmfSyncMetrics("botstate", { now: () => new Date(1_000) }, (line) => lines.push(line)).publish(summary(null));
    } finally {
      process.env.POWERTOOLS_METRICS_DISABLED = previous;
    }
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } });
    expect(first).toMatchObject({ service: "botstate", source: "settings", SyncRowsWritten: 4, SyncConflicts: 1, SyncInvalid: 2, SyncFailed: 0, SyncLagSeconds: 42 });
    expect(first?._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: "botstate", Dimensions: [["service", "source"]] });
    expect(first?._aws.CloudWatchMetrics[0]?.Metrics).toContainEqual({ Name: "SyncLagSeconds", Unit: "Seconds" });
    expect(second).not.toHaveProperty("SyncLagSeconds");
  });
});
