import { getSettings } from "../core/settings/get-settings";
import { settingsTypeOf } from "../core/settings/presenters";
import { settingsEntryWireSchema, settingsPathSchema } from "../core/settings/wire-schemas";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsEntryResult, settingsUser } from "../runtime/settings";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/users/{ref}/settings/{type}",
    summary: "One settings type (preferences, params, dual_side) with ETag \"v{version}\"; 404 when absent or deleted",
    auth: ["user", "service", "admin"],
    params: settingsPathSchema,
    responses: { 200: settingsEntryWireSchema },
  },
  async ({ params, principal }) => {
    const type = settingsTypeOf(params.type);
    const user = await settingsUser(principal, params.ref);
    const entry = await getSettings(settings().read, { ...user, type });
    return settingsEntryResult(entry);
  },
);
