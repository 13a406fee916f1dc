import { putMapping } from "../core/lookups/mapping-admin";
import { presentMapping } from "../core/lookups/presenters";
import { mappingBodySchema, mappingResponseSchema, userIdParamsSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

export const handler = httpRoute(
  {
    method: "PUT",
    path: "/v1/admin/mappings/{userId}",
    summary: "Create (201) or update (200) the identifier mapping of an app user",
    auth: ["admin"],
    params: userIdParamsSchema,
    body: mappingBodySchema,
    responses: { 200: mappingResponseSchema, 201: mappingResponseSchema },
  },
  async ({ params, body }) => {
    const { mapping, created } = await putMapping(lookups().admin, { userId: params.userId, ...body });
    return { status: created ? 201 : 200, body: presentMapping(mapping) };
  },
);
