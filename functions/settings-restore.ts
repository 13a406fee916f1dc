import { SETTINGS_MAX_BODY_BYTES } from "../core/settings/model";
import { restoreBodySchema, settingsEntryWireSchema, settingsPathSchema, settingsWriteHeadersSchema } from "../core/settings/wire-schemas";
import { restoreSettings } from "../core/settings/write-settings";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsEntryResult, settingsWriteTarget } from "../runtime/settings";

export const handler = httpRoute(
  {
    method: "POST",
    path: "/v1/users/{ref}/settings/{type}/restore",
    summary: "Write an earlier version again as a new version ({\"version\": N}); 404 for an unknown version",
    auth: ["user", "service", "admin"],
    params: settingsPathSchema,
    requestHeaders: settingsWriteHeadersSchema,
    body: restoreBodySchema,
    maxBodyBytes: SETTINGS_MAX_BODY_BYTES,
    responses: { 200: settingsEntryWireSchema },
  },
  async (request) => {
    const { entry } = await restoreSettings(settings().write, { ...(await settingsWriteTarget(request)), version: request.body.version });
    return settingsEntryResult(entry);
  },
);
