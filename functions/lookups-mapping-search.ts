import { searchMappings } from "../core/lookups/mapping-admin";
import { presentMapping } from "../core/lookups/presenters";
import { mappingListResponseSchema, mappingSearchSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/admin/mappings",
    summary: "Mappings by telegramId or okxUid",
    auth: ["admin"],
    query: mappingSearchSchema,
    responses: { 200: mappingListResponseSchema },
  },
  async ({ query }) => ({ status: 200, body: { mappings: (await searchMappings(lookups().admin, query)).map(presentMapping) } }),
);
