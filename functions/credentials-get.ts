import { getCredentialsSummary } from "../core/credentials/get-credentials-summary";
import { presentSummary } from "../core/credentials/presenters";
import { credentialsParamsSchema, credentialsSummarySchema } from "../core/credentials/schemas";
import { parseUserRef } from "../core/identity/user-ref";
import { credentialsSummaryDeps } from "../runtime/credentials";
import { httpRoute } from "../runtime/http/route";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/users/{ref}/credentials/{exchange}",
    summary: "Which exchange credentials a user has, masked: the api key's last 4 characters and when they changed; never a secret",
    auth: ["user", "service", "admin"],
    params: credentialsParamsSchema,
    responses: { 200: credentialsSummarySchema },
  },
  async ({ params, principal }) => {
    const summary = await getCredentialsSummary(credentialsSummaryDeps(), { principal, ref: parseUserRef(params.ref), exchange: params.exchange });
    return { status: 200, body: presentSummary(summary) };
  },
);
