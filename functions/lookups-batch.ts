import { presentBatchEntry } from "../core/lookups/presenters";
import { batchBodySchema, batchResponseSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { flushMetrics } from "../runtime/metrics";
import { httpRoute } from "../runtime/http/route";

export const handler = httpRoute(
  {
    method: "POST",
    path: "/v1/lookups/batch",
    summary: "Resolve up to 100 identifiers at once; unknown ones are reported, not errors",
    auth: ["service", "admin"],
    body: batchBodySchema,
    responses: { 200: batchResponseSchema },
    middlewares: () => [flushMetrics(lookups().metrics)],
  },
  async ({ body, remainingTimeMs }) => {
    const entries = await lookups().service.resolveMany(body.identifiers, { remainingTimeMs });
    return { status: 200, body: { results: entries.map(presentBatchEntry) } };
  },
);
