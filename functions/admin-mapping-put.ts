import { z } from "zod";
import { putMapping } from "../core/lookups/mapping-admin";
import { presentMapping } from "../core/lookups/presenters";
import { mappingBodySchema, userIdSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

const { admin } = lookups();

export const handler = httpRoute(
  { auth: ["admin"], params: z.object({ userId: userIdSchema }), body: mappingBodySchema },
  async ({ params, body }) => {
    const { mapping, created } = await putMapping(admin, { userId: params.userId, ...body });
    return { status: created ? 201 : 200, body: presentMapping(mapping) };
  },
);
