import { bulkPositions } from "../core/positions/bulk-positions";
import { asOpen, presentPosition } from "../core/positions/presenters";
import type { PositionBody } from "../core/positions/presenters";
import { bulkBodySchema, bulkResponseSchema } from "../core/positions/schemas";
import { httpRoute } from "../runtime/http/route";
import { positionStore } from "../runtime/positions";

export const handler = httpRoute(
  {
    method: "POST",
    path: "/v1/positions/bulk",
    summary: "Open positions of up to 1,000 users (userIds), optionally one exchange, symbol and side, in one Redis pipeline; every user id answers, [] when none",
    auth: ["service", "admin"],
    body: bulkBodySchema,
    responses: { 200: bulkResponseSchema },
  },
  async ({ body }) => {
    const found = await bulkPositions({ store: positionStore() }, body);
    const users: Record<string, PositionBody[]> = {};
    for (const [userId, positions] of found) users[userId] = positions.map((position) => presentPosition(asOpen(position)));
    return { status: 200, body: { users } };
  },
);
