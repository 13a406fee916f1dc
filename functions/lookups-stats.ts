import * as z from "zod/mini";
import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

const statsResponseSchema = z.object({
  lookups: z.record(z.string(), z.unknown()),
  breakers: z.object({ legacy: z.string(), cache: z.string() }),
});

/** Counts of this container since it started; fleet-wide figures are the CloudWatch metrics. */
export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/admin/stats",
    summary: "Lookups by tier, hit rate, negative hits and breaker states",
    auth: ["admin"],
    responses: { 200: statsResponseSchema },
  },
  async () => {
    const { stats, legacy, cache } = lookups();
    return { status: 200, body: { lookups: { ...stats.snapshot() }, breakers: { legacy: legacy.breakerState(), cache: cache.breakerState() } } };
  },
);
