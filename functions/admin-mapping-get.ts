import { z } from "zod";
import { getMapping } from "../core/lookups/mapping-admin";
import { presentMapping } from "../core/lookups/presenters";
import { userIdSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

const { admin } = lookups();

export const handler = httpRoute({ auth: ["admin"], params: z.object({ userId: userIdSchema }) }, async ({ params }) => ({
  status: 200,
  body: presentMapping(await getMapping(admin, params.userId)),
}));
