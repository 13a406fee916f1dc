import { parseUserRef } from "../core/identity/user-ref";
import { listPositions } from "../core/positions/list-positions";
import { presentPosition } from "../core/positions/presenters";
import { listPositionsQuerySchema, positionListResponseSchema, userRefParamsSchema } from "../core/positions/schemas";
import { httpRoute } from "../runtime/http/route";
import { listPositionsDeps } from "../runtime/positions";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/users/{ref}/positions",
    summary:
      "A user's positions: status=open (default) from Redis, every exchange unless one is named; status=closed from Postgres, newest close first; " +
      "limit (1-200, default 50) and cursor (nextCursor) page both",
    auth: ["user", "service", "admin"],
    params: userRefParamsSchema,
    query: listPositionsQuerySchema,
    responses: { 200: positionListResponseSchema },
  },
  async ({ params, query, principal }) => {
    const page = await listPositions(listPositionsDeps(), { principal, ref: parseUserRef(params.ref), ...query });
    return { status: 200, body: { positions: page.positions.map(presentPosition), nextCursor: page.nextCursor } };
  },
);
