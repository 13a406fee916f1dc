import * as z from "zod/mini";
import { checkHealth } from "../core/health/health";
import { healthProbes } from "../runtime/health";
import { platform } from "../runtime/platform";
import { httpRoute } from "../runtime/http/route";
import { lazy } from "../core/validation/lazy";

const healthResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  status: z.enum(["ok", "degraded"]),
  checks: z.record(z.string(), z.object({ status: z.enum(["ok", "failing"]), latencyMs: z.number() })),
}));

/** Public: says which dependency fails, never why (the reason may name hosts); that goes to the logs. */
export const handler = httpRoute(
  {
    method: "GET",
    path: "/health",
    summary: "Redis, Postgres and queue status; 200 when all are ok, 503 otherwise",
    auth: "public",
    responses: { 200: healthResponseSchema, 503: healthResponseSchema },
  },
  async () => {
    const report = await checkHealth({ probes: healthProbes(), timeoutMs: 2_000, monotonicNow: () => performance.now() });
    const checks = Object.fromEntries(
      Object.entries(report.checks).map(([name, { status, latencyMs, error }]) => {
        if (error) platform().logger.error("health check failing", { check: name, reason: error });
        return [name, { status, latencyMs }];
      }),
    );
    return { status: report.status === "ok" ? 200 : 503, body: { status: report.status, checks } };
  },
);
