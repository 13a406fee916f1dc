import { z } from "zod";
import { ForbiddenError, NotFoundError } from "../core/errors";
import { presentLookup } from "../core/lookups/presenters";
import { lookups } from "../runtime/lookups";
import { flushMetrics } from "../runtime/metrics";
import { httpRoute } from "../runtime/http/route";

const { service, metrics } = lookups();

export const handler = httpRoute(
  {
    auth: ["service", "admin", "user"],
    params: z.object({ identifier: z.string().max(64, "is too long") }),
    middlewares: [flushMetrics(metrics)],
  },
  async ({ params, principal, remainingTimeMs }) => {
    if (principal.role !== "user") {
      const result = await service.resolve(params.identifier, { remainingTimeMs }, "path.identifier");
      return { status: 200, body: presentLookup(params.identifier, result) };
    }
    // A user may only resolve themselves; unknown identifiers look the same as others' to them.
    const result = await service.resolve(params.identifier, { remainingTimeMs }, "path.identifier").catch((error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
    if (!result || result.userId !== principal.userId) throw new ForbiddenError("users may only look up themselves");
    return { status: 200, body: presentLookup(params.identifier, result) };
  },
);
