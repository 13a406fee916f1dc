import { batchBodySchema } from "../core/lookups/schemas";
import { presentBatchEntry } from "../core/lookups/presenters";
import { lookups } from "../runtime/lookups";
import { flushMetrics } from "../runtime/metrics";
import { httpRoute } from "../runtime/http/route";

const { service, metrics } = lookups();

export const handler = httpRoute(
  { auth: ["service", "admin"], body: batchBodySchema, middlewares: [flushMetrics(metrics)] },
  async ({ body, remainingTimeMs }) => {
    const entries = await service.resolveMany(body.identifiers, { remainingTimeMs });
    return { status: 200, body: { results: entries.map(presentBatchEntry) } };
  },
);
