import { getAllSettings } from "../core/settings/get-settings";
import { presentAll } from "../core/settings/presenters";
import { allSettingsWireSchema, settingsRefPathSchema } from "../core/settings/wire-schemas";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsUser } from "../runtime/settings";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/users/{ref}/settings",
    summary: "All three settings types of a user ({ref}: me, a user id or an OKX UID); null for a type the user lacks",
    auth: ["user", "service", "admin"],
    params: settingsRefPathSchema,
    responses: { 200: allSettingsWireSchema },
  },
  async ({ params, principal }) => {
    const user = await settingsUser(principal, params.ref);
    return { status: 200, body: presentAll(await getAllSettings(settings().read, user)) };
  },
);
