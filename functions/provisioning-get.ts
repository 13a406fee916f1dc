import { getProvisioning } from "../core/provisioning/get-provisioning";
import { presentProvisioning } from "../core/provisioning/presenters";
import { provisioningParamsSchema, provisioningResponseSchema } from "../core/provisioning/schemas";
import { httpRoute } from "../runtime/http/route";
import { provisioningStore } from "../runtime/provisioning";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/provisioning/{id}",
    summary: "The state of a queued user creation: pending, done (with userId) or failed (with error)",
    auth: ["service", "admin"],
    params: provisioningParamsSchema,
    responses: { 200: provisioningResponseSchema },
  },
  async ({ params }) => ({ status: 200, body: presentProvisioning(await getProvisioning(provisioningStore(), params.id)) }),
);
