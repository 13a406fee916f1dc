import { getGuards } from "../core/guards/get-guards";
import { guardViewSchema, guardsQuerySchema } from "../core/guards/schemas";
import { parseUserRef } from "../core/identity/user-ref";
import { userRefParamsSchema } from "../core/reconciliation/schemas";
import { cacheMetrics } from "../runtime/cache";
import { guardViewDeps } from "../runtime/guards";
import { httpRoute } from "../runtime/http/route";
import { flushMetrics } from "../runtime/metrics";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/users/{ref}/guards",
    summary: "Drawdown guard: peak equity over the window, current equity, drawdown % and status normal | warning | critical (cached 5 s, X-Cache says how)",
    auth: ["user", "service", "admin"],
    params: userRefParamsSchema,
    query: guardsQuerySchema,
    responses: { 200: guardViewSchema },
    middlewares: () => [flushMetrics(cacheMetrics().metrics)],
  },
  async ({ params, query, principal }) => {
    const { view, cache } = await getGuards(guardViewDeps(), { principal, ref: parseUserRef(params.ref), exchange: query.exchange });
    return { status: 200, body: view, headers: { "x-cache": cache } };
  },
);
