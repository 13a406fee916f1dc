import { getMapping } from "../core/lookups/mapping-admin";
import { presentMapping } from "../core/lookups/presenters";
import { mappingResponseSchema, userIdParamsSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/admin/mappings/{userId}",
    summary: "One identifier mapping",
    auth: ["admin"],
    params: userIdParamsSchema,
    responses: { 200: mappingResponseSchema },
  },
  async ({ params }) => ({ status: 200, body: presentMapping(await getMapping(lookups().admin, params.userId)) }),
);
