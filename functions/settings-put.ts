import { etagOf, expectedVersionOf, presentEntry, settingsTypeOf } from "../core/settings/presenters";
import { SETTINGS_MAX_BODY_BYTES } from "../core/settings/model";
import { settingsBodySchema, settingsEntryWireSchema, settingsPathSchema, settingsWriteHeadersSchema } from "../core/settings/wire-schemas";
import { putSettings } from "../core/settings/write-settings";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsUser } from "../runtime/settings";

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
  async ({ params, principal, body, headers }) => {
    const type = settingsTypeOf(params.type);
    const expectedVersion = expectedVersionOf(headers["if-match"]);
    const user = await settingsUser(principal, params.ref);
    const { entry, created } = await putSettings(settings().write, { userId: user.userId, type, body, expectedVersion, actor: principal.subject });
    return { status: created ? 201 : 200, body: presentEntry(entry), headers: { etag: etagOf(entry.version) } };
  },
);
