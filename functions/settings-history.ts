import { listHistory } from "../core/settings/list-history";
import { presentHistory, settingsTypeOf } from "../core/settings/presenters";
import { historyQuerySchema, historyWireSchema, settingsPathSchema } from "../core/settings/wire-schemas";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsUser } from "../runtime/settings";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/users/{ref}/settings/{type}/history",
    summary: "Versions of a settings type, newest first: ?limit=1..100 (20)&beforeVersion=N",
    auth: ["user", "service", "admin"],
    params: settingsPathSchema,
    query: historyQuerySchema,
    responses: { 200: historyWireSchema },
  },
  async ({ params, principal, query }) => {
    const type = settingsTypeOf(params.type);
    const user = await settingsUser(principal, params.ref);
    const versions = await listHistory(settings().read, { userId: user.userId, type, limit: query.limit, beforeVersion: query.beforeVersion });
    return { status: 200, body: presentHistory(versions) };
  },
);
