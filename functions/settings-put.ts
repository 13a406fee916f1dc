import { SETTINGS_MAX_BODY_BYTES } from "../core/settings/model";
import { settingsBodySchema, settingsEntryWireSchema, settingsPathSchema, settingsWriteHeadersSchema } from "../core/settings/wire-schemas";
import { putSettings } from "../core/settings/write-settings";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsEntryResult, settingsWriteTarget } from "../runtime/settings";

export const handler = httpRoute(
  {
    method: "PUT",
    path: "/v1/users/{ref}/settings/{type}",
    summary: "Replace a settings document (the bare document as body): 201 created, 200 replaced; If-Match \"v{version}\" or 412",
    auth: ["user", "service", "admin"],
    params: settingsPathSchema,
    requestHeaders: settingsWriteHeadersSchema,
    body: settingsBodySchema,
    maxBodyBytes: SETTINGS_MAX_BODY_BYTES,
    responses: { 200: settingsEntryWireSchema, 201: settingsEntryWireSchema },
  },
  async (request) => {
    const { entry, created } = await putSettings(settings().write, { ...(await settingsWriteTarget(request)), body: request.body });
    return settingsEntryResult(entry, created ? 201 : 200);
  },
);
