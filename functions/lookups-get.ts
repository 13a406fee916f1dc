import { ForbiddenError, NotFoundError } from "../core/errors";
import { identifierOf } from "../core/lookups/identifier";
import { presentLookup } from "../core/lookups/presenters";
import { identifierParamsSchema, lookupQuerySchema, lookupResponseSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { flushMetrics } from "../runtime/metrics";
import { httpRoute } from "../runtime/http/route";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/lookups/{identifier}",
    summary: "The Telegram id (and user id, okx uid) for a user id, okx uid or Telegram id; ?kind= names which",
    auth: ["service", "admin", "user"],
    params: identifierParamsSchema,
    query: lookupQuerySchema,
    responses: { 200: lookupResponseSchema },
    middlewares: () => [flushMetrics(lookups().metrics)],
  },
  async ({ params, query, principal, remainingTimeMs }) => {
    const identifier = identifierOf(params.identifier, query.kind, "path.identifier");
    const resolving = lookups().service.lookup(identifier, { remainingTimeMs });
    if (principal.role !== "user") return { status: 200, body: presentLookup(params.identifier, identifier.kind, await resolving) };
    // A user may only resolve themselves; unknown identifiers look the same as others' to them.
    const result = await resolving.catch((error: unknown) => {
      if (error instanceof NotFoundError) return null;
      throw error;
    });
    if (result?.userId !== principal.userId) throw new ForbiddenError("users may only look up themselves");
    return { status: 200, body: presentLookup(params.identifier, identifier.kind, result) };
  },
);
