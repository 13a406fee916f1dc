import { getPosition } from "../core/positions/get-position";
import { presentPosition } from "../core/positions/presenters";
import { positionIdParamsSchema, positionResponseSchema } from "../core/positions/schemas";
import { httpRoute } from "../runtime/http/route";
import { getPositionDeps } from "../runtime/positions";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/positions/{id}",
    summary: "One position by id, open (Redis) or closed (Postgres); another user's is 404 to a user token",
    auth: ["user", "service", "admin"],
    params: positionIdParamsSchema,
    responses: { 200: positionResponseSchema },
  },
  async ({ params, principal }) => ({ status: 200, body: presentPosition(await getPosition(getPositionDeps(), { principal, id: params.id })) }),
);
