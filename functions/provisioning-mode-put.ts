import { presentSystemMode } from "../core/provisioning/presenters";
import { systemModeBodySchema, systemModeChangeResponseSchema } from "../core/provisioning/schemas";
import { switchSystemMode } from "../core/provisioning/system-mode";
import { httpRoute } from "../runtime/http/route";
import { switchModeDeps } from "../runtime/provisioning";

export const handler = httpRoute(
  {
    method: "PUT",
    path: "/v1/admin/system-mode",
    summary: "Switch user creation between async_queue and sync_direct (seen by every container within seconds; records a SWITCH event and alerts the admin chat)",
    auth: ["admin"],
    body: systemModeBodySchema,
    responses: { 200: systemModeChangeResponseSchema },
  },
  async ({ body, principal }) => {
    const { setting, changed } = await switchSystemMode(switchModeDeps(), { mode: body.mode, reason: body.reason, actor: principal.subject });
    return { status: 200, body: { ...presentSystemMode(setting), changed } };
  },
);
