import { etagOf, expectedVersionOf, presentEntry, settingsTypeOf } from "../core/settings/presenters";
import { SETTINGS_MAX_BODY_BYTES } from "../core/settings/model";
import { MERGE_PATCH_CONTENT_TYPE, settingsBodySchema, settingsEntryWireSchema, settingsPathSchema, settingsWriteHeadersSchema } from "../core/settings/wire-schemas";
import { patchSettings } from "../core/settings/write-settings";
import { httpRoute } from "../runtime/http/route";
import { settings, settingsUser } from "../runtime/settings";

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
  async ({ params, principal, body, headers }) => {
    const type = settingsTypeOf(params.type);
    const expectedVersion = expectedVersionOf(headers["if-match"]);
    const user = await settingsUser(principal, params.ref);
    const { entry } = await patchSettings(settings().write, { userId: user.userId, type, patch: body, expectedVersion, actor: principal.subject });
    return { status: 200, body: presentEntry(entry), headers: { etag: etagOf(entry.version) } };
  },
);
