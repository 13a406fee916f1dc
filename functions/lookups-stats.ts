import * as z from "zod/mini";
import { readFleetStats } from "../core/lookups/fleet-stats";
import { flushContainerLookupStats, lookupFleetStats } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";
import { lazy } from "../core/validation/lazy";

const statsQuerySchema = /* @__PURE__ */ lazy(() => z.object({
  /** The window: the last N minutes, the current one included. */
  minutes: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1_440)), 60),
}));

const statsResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  window: z.object({ from: z.string(), to: z.string(), minutes: z.number() }),
  containers: z.number(),
  lookups: z.record(z.string(), z.unknown()),
  breakers: z.object({ legacy: z.string(), cache: z.string() }),
  breakerContainers: z.object({ legacy: z.record(z.string(), z.number()), cache: z.record(z.string(), z.number()) }),
}));

/** Fleet-wide figures: every container's per-minute counts in Redis, summed over the window. */
export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/admin/stats",
    summary: "Fleet-wide lookups by tier, hit rate, negative hits, errors and breaker states over the last ?minutes= (default 60)",
    auth: ["admin"],
    query: statsQuerySchema,
    responses: { 200: statsResponseSchema },
  },
  async ({ query }) => {
    await flushContainerLookupStats();
    return { status: 200, body: { ...(await readFleetStats(lookupFleetStats(), query)) } };
  },
);
