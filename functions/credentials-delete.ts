import { deleteCredentials } from "../core/credentials/delete-credentials";
import { credentialsParamsSchema } from "../core/credentials/schemas";
import { parseUserRef } from "../core/identity/user-ref";
import { credentialsSummaryDeps } from "../runtime/credentials";
import { httpRoute } from "../runtime/http/route";

export const handler = httpRoute(
  {
    method: "DELETE",
    path: "/v1/users/{ref}/credentials/{exchange}",
    summary: "Delete a user's exchange credentials (204; 404 when none are stored)",
    auth: ["user", "service", "admin"],
    params: credentialsParamsSchema,
    responses: { 204: null },
  },
  async ({ params, principal }) => {
    await deleteCredentials(credentialsSummaryDeps(), { principal, ref: parseUserRef(params.ref), exchange: params.exchange });
    return { status: 204 };
  },
);
