import { SETTINGS_MAX_BODY_BYTES } from "../core/settings/model";
import { MERGE_PATCH_CONTENT_TYPE, settingsBodySchema, settingsEntryWireSchema, settingsPathSchema, settingsWriteHeadersSchema } from "../core/settings/wire-schemas";
import { patchSettings } from "../core/settings/write-settings";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsEntryResult, settingsWriteTarget } from "../runtime/settings";

/** RFC 7396: members given replace, null removes, members left out stay; validated after merging. */
export const handler = httpRoute(
  {
    method: "PATCH",
    path: "/v1/users/{ref}/settings/{type}",
    summary: "Change some keys (JSON merge patch: null removes a key), validated after merging; If-Match \"v{version}\" or 412",
    auth: ["user", "service", "admin"],
    params: settingsPathSchema,
    requestHeaders: settingsWriteHeadersSchema,
    body: settingsBodySchema,
    bodyContentTypes: [MERGE_PATCH_CONTENT_TYPE, "application/json"],
    maxBodyBytes: SETTINGS_MAX_BODY_BYTES,
    responses: { 200: settingsEntryWireSchema },
  },
  async (request) => {
    const { entry } = await patchSettings(settings().write, { ...(await settingsWriteTarget(request)), patch: request.body });
    return settingsEntryResult(entry);
  },
);
