import { checkHealth } from "../core/health/health";
import { container } from "../runtime/container";
import { healthProbes } from "../runtime/health";
import { httpRoute } from "../runtime/http/route";

const probes = healthProbes(container());

export const handler = httpRoute({ auth: "public" }, async () => {
  const report = await checkHealth({ probes, timeoutMs: 2_000, monotonicNow: () => performance.now() });
  return { status: report.status === "ok" ? 200 : 503, body: report };
});
