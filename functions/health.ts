import { checkHealth } from "../core/health/health";
import { container } from "../runtime/container";
import { healthProbes } from "../runtime/health";
import { httpRoute } from "../runtime/http/route";

const deps = container();
const probes = healthProbes(deps);

/** Public: says which dependency fails, never why (the reason may name hosts); that goes to the logs. */
export const handler = httpRoute({ auth: "public" }, async () => {
  const report = await checkHealth({ probes, timeoutMs: 2_000, monotonicNow: () => performance.now() });
  const checks = Object.fromEntries(
    Object.entries(report.checks).map(([name, { status, latencyMs, error }]) => {
      if (error) deps.logger.error("health check failing", { check: name, reason: error });
      return [name, { status, latencyMs }];
    }),
  );
  return { status: report.status === "ok" ? 200 : 503, body: { status: report.status, checks } };
});
