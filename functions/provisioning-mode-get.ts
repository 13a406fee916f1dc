import { presentSystemMode } from "../core/provisioning/presenters";
import { systemModeResponseSchema } from "../core/provisioning/schemas";
import { httpRoute } from "../runtime/http/route";
import { systemModeStore } from "../runtime/provisioning";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/admin/system-mode",
    summary: "The system mode in force (from Postgres, the truth): async_queue or sync_direct, with its version and who set it",
    auth: ["admin"],
    responses: { 200: systemModeResponseSchema },
  },
  async () => ({ status: 200, body: presentSystemMode(await systemModeStore().read()) }),
);
