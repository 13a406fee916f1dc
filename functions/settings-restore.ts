import { etagOf, expectedVersionOf, presentEntry, settingsTypeOf } from "../core/settings/presenters";
import { SETTINGS_MAX_BODY_BYTES } from "../core/settings/model";
import { restoreBodySchema, settingsEntryWireSchema, settingsPathSchema, settingsWriteHeadersSchema } from "../core/settings/wire-schemas";
import { restoreSettings } from "../core/settings/write-settings";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsUser } from "../runtime/settings";

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
  async ({ params, principal, body, headers }) => {
    const type = settingsTypeOf(params.type);
    const expectedVersion = expectedVersionOf(headers["if-match"]);
    const user = await settingsUser(principal, params.ref);
    const { entry } = await restoreSettings(settings().write, { userId: user.userId, type, version: body.version, expectedVersion, actor: principal.subject });
    return { status: 200, body: presentEntry(entry), headers: { etag: etagOf(entry.version) } };
  },
);
