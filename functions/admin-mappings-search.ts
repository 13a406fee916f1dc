import { searchMappings } from "../core/lookups/mapping-admin";
import { presentMapping } from "../core/lookups/presenters";
import { mappingSearchSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

const { admin } = lookups();

export const handler = httpRoute({ auth: ["admin"], query: mappingSearchSchema }, async ({ query }) => ({
  status: 200,
  body: { mappings: (await searchMappings(admin, query)).map(presentMapping) },
}));
