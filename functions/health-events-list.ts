import { listHealthEvents } from "../core/health-events/list-health-events";
import { presentHealthEvent } from "../core/health-events/presenters";
import { healthEventListResponseSchema, healthEventQuerySchema } from "../core/health-events/schemas";
import { httpRoute } from "../runtime/http/route";
import { healthEvents } from "../runtime/health-events";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/admin/health-events",
    summary: "Recent health events, newest first: ?level=INFO|WARNING|ERROR|SWITCH|CRITICAL&since=<ISO date-time>&limit=1..500",
    auth: ["admin"],
    query: healthEventQuerySchema,
    responses: { 200: healthEventListResponseSchema },
  },
  async ({ query }) => {
    const events = await listHealthEvents(healthEvents().log, query);
    return { status: 200, body: { events: events.map(presentHealthEvent) } };
  },
);
