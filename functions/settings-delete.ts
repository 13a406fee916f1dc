import { settingsPathSchema, settingsWriteHeadersSchema } from "../core/settings/wire-schemas";
import { deleteSettings } from "../core/settings/write-settings";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsWriteTarget } from "../runtime/settings";

export const handler = httpRoute(
  {
    method: "DELETE",
    path: "/v1/users/{ref}/settings/{type}",
    summary: "Soft-delete a settings type (history kept, fast copy removed); 404 when absent; If-Match honoured",
    auth: ["user", "service", "admin"],
    params: settingsPathSchema,
    requestHeaders: settingsWriteHeadersSchema,
    responses: { 204: null },
  },
  async (request) => {
    await deleteSettings(settings().write, await settingsWriteTarget(request));
    return { status: 204 };
  },
);
