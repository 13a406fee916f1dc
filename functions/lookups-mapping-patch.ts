import { patchMapping } from "../core/lookups/mapping-admin";
import { presentMapping } from "../core/lookups/presenters";
import { MERGE_PATCH_CONTENT_TYPE, mappingPatchSchema, mappingResponseSchema, userIdParamsSchema } from "../core/lookups/schemas";
import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

/** Partial change (JSON merge patch): fields left out stay as they are; PUT replaces the whole mapping. */
export const handler = httpRoute(
  {
    method: "PATCH",
    path: "/v1/admin/mappings/{userId}",
    summary: "Change some fields of a mapping (JSON merge patch: null removes okxUid)",
    auth: ["admin"],
    params: userIdParamsSchema,
    body: mappingPatchSchema,
    bodyContentTypes: [MERGE_PATCH_CONTENT_TYPE, "application/json"],
    responses: { 200: mappingResponseSchema },
  },
  async ({ params, body }) => ({ status: 200, body: presentMapping(await patchMapping(lookups().admin, params.userId, body)) }),
);
