import { parseUserRef } from "../core/identity/user-ref";
import { presentPosition } from "../core/positions/presenters";
import { putPosition } from "../core/positions/put-position";
import { positionBodySchema, positionPathSchema, positionResponseSchema } from "../core/positions/schemas";
import { httpRoute } from "../runtime/http/route";
import { putPositionDeps } from "../runtime/positions";

export const handler = httpRoute(
  {
    method: "PUT",
    path: "/v1/users/{ref}/positions/{exchange}/{symbol}/{side}",
    summary:
      "A bot reports the whole state of one position (size and entry_price required): 201 when it opens (the server sets id and opened_at), " +
      "200 when it updates (id and opened_at kept); hash, index and exchange set written atomically in one Redis round trip",
    auth: ["service", "admin"],
    params: positionPathSchema,
    body: positionBodySchema,
    responses: { 200: positionResponseSchema, 201: positionResponseSchema },
  },
  async ({ params, body, principal }) => {
    const { created, position } = await putPosition(putPositionDeps(), { ...params, principal, ref: parseUserRef(params.ref), body });
    return { status: created ? 201 : 200, body: presentPosition(position) };
  },
);
