import { NotFoundError } from "../core/errors";
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
  async ({ params }) => {
    const record = await provisioningStore().getProvisioning(params.id);
    if (!record) throw new NotFoundError(`no provisioning record ${params.id}`);
    return { status: 200, body: presentProvisioning(record) };
  },
);
