import { deactivateMapping } from "../core/lookups/mapping-admin";
import { presentMapping } from "../core/lookups/presenters";
import { mappingResponseSchema, userIdParamsSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

/** Deactivates (never deletes): the row stays for audit and can be re-activated with PUT. */
export const handler = httpRoute(
  {
    method: "DELETE",
    path: "/v1/admin/mappings/{userId}",
    summary: "Deactivate a mapping: none of its identifiers resolves any more",
    auth: ["admin"],
    params: userIdParamsSchema,
    responses: { 200: mappingResponseSchema },
  },
  async ({ params }) => ({ status: 200, body: presentMapping(await deactivateMapping(lookups().admin, params.userId)) }),
);
