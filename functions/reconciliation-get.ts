import { parseUserRef } from "../core/identity/user-ref";
import { getReconciliationSummary } from "../core/reconciliation/get-summary";
import { reconciliationSummarySchema, userRefParamsSchema } from "../core/reconciliation/schemas";
import { cacheMetrics } from "../runtime/cache";
import { httpRoute } from "../runtime/http/route";
import { flushMetrics } from "../runtime/metrics";
import { reconciliationSummaryDeps } from "../runtime/reconciliation";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/users/{ref}/reconciliation",
    summary: "Reconciliation status: total syncs, open positions, unresolved divergences, last sync, the last 5 events (cached 5 s, X-Cache says how)",
    auth: ["user", "service", "admin"],
    params: userRefParamsSchema,
    responses: { 200: reconciliationSummarySchema },
    middlewares: () => [flushMetrics(cacheMetrics().metrics)],
  },
  async ({ params, principal }) => {
    const { summary, cache } = await getReconciliationSummary(reconciliationSummaryDeps(), { principal, ref: parseUserRef(params.ref) });
    return { status: 200, body: summary, headers: { "x-cache": cache } };
  },
);
