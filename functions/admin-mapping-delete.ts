import { z } from "zod";
import { deactivateMapping } from "../core/lookups/mapping-admin";
import { presentMapping } from "../core/lookups/presenters";
import { userIdSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

const { admin } = lookups();

/** Deactivates (never deletes): the row stays for audit and can be re-activated with PUT. */
export const handler = httpRoute({ auth: ["admin"], params: z.object({ userId: userIdSchema }) }, async ({ params }) => ({
  status: 200,
  body: presentMapping(await deactivateMapping(admin, params.userId)),
}));
