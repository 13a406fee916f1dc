import { afterEach, describe, expect, it, vi } from "vitest";

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("lookup metrics", () => {
  it("publishes the counts recorded during an invocation as one EMF line", async () => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    const { createMetrics, flushMetrics } = await import("../../runtime/metrics");
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    const { metrics, sink } = createMetrics("botstate-test");
    sink.count("LookupTier_cache");
    sink.count("LookupTier_cache");
    sink.count("LookupNotFound");
    const middleware = flushMetrics(metrics);
    await middleware.after?.({} as never);
    const emf = lines.map((line) => line.trim()).filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emf).toHaveLength(1);
    // EMF keeps each recorded value; CloudWatch sums them.
    expect(emf[0]).toMatchObject({ LookupTier_cache: [1, 1], LookupNotFound: 1, service: "botstate-test" });
    lines.length = 0;
    await middleware.after?.({} as never);
    expect(lines.filter((line) => line.includes("LookupTier"))).toEqual([]);
  });
});
