import { describe, expect, it } from "vitest";
import { checkHealth } from "../../core/health/health";

const clock = () => {
  let now = 0;
  return () => (now += 5);
};

describe("checkHealth", () => {
  it("is ok when every probe answers", async () => {
    const report = await checkHealth({
      probes: [{ name: "redis", check: async () => undefined }],
      timeoutMs: 100,
      monotonicNow: clock(),
    });
    expect(report.status).toBe("ok");
    expect(report.checks.redis).toEqual({ status: "ok", latencyMs: 5 });
  });

  it("is degraded when one probe fails or hangs past the timeout, and keeps the reason", async () => {
    const report = await checkHealth({
      probes: [
        { name: "redis", check: async () => undefined },
        { name: "postgres", check: async () => Promise.reject(new Error("connection refused")) },
        { name: "queue", check: () => new Promise<void>(() => undefined) },
      ],
      timeoutMs: 20,
      monotonicNow: clock(),
    });
    expect(report.status).toBe("degraded");
    expect(report.checks.postgres).toMatchObject({ status: "failing", error: "connection refused" });
    expect(report.checks.queue).toMatchObject({ status: "failing", error: "queue did not answer within 20 ms" });
    expect(report.checks.redis?.status).toBe("ok");
  });
});
