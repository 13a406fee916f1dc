import { expectedVersionOf, settingsTypeOf } from "../core/settings/presenters";
import { settingsPathSchema, settingsWriteHeadersSchema } from "../core/settings/wire-schemas";
import { deleteSettings } from "../core/settings/write-settings";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsUser } from "../runtime/settings";

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
  async ({ params, principal, headers }) => {
    const type = settingsTypeOf(params.type);
    const expectedVersion = expectedVersionOf(headers["if-match"]);
    const user = await settingsUser(principal, params.ref);
    await deleteSettings(settings().write, { userId: user.userId, type, expectedVersion });
    return { status: 204 };
  },
);
