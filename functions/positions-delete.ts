import { parseUserRef } from "../core/identity/user-ref";
import { removePosition } from "../core/positions/remove-position";
import { positionPathSchema } from "../core/positions/schemas";
import { httpRoute } from "../runtime/http/route";
import { removePositionDeps } from "../runtime/positions";

export const handler = httpRoute(
  {
    method: "DELETE",
    path: "/v1/users/{ref}/positions/{exchange}/{symbol}/{side}",
    summary: "A bot reports a position closed: recorded as closed in Postgres, then removed from Redis (204); 404 when it is not open",
    auth: ["service", "admin"],
    params: positionPathSchema,
    responses: { 204: null },
  },
  async ({ params, principal }) => {
    await removePosition(removePositionDeps(), { ...params, principal, ref: parseUserRef(params.ref) });
    return { status: 204 };
  },
);
