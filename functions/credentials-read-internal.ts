import { presentOpened } from "../core/credentials/presenters";
import { readCredentials } from "../core/credentials/read-credentials";
import { credentialsParamsSchema, openedCredentialsSchema } from "../core/credentials/schemas";
import { parseUserRef } from "../core/identity/user-ref";
import { readCredentialsDeps } from "../runtime/credentials";
import { httpRoute } from "../runtime/http/route";

export const handler = httpRoute(
  {
    method: "GET",
    path: "/v1/internal/users/{ref}/credentials/{exchange}",
    summary: "Decrypted exchange credentials for the trading engine (service tokens only); every read is audit-logged (who, when, whose; never the values)",
    auth: ["service"],
    params: credentialsParamsSchema,
    responses: { 200: openedCredentialsSchema },
  },
  async ({ params, principal, requestId }) => {
    const opened = await readCredentials(readCredentialsDeps(), { principal, ref: parseUserRef(params.ref), exchange: params.exchange, requestId });
    return { status: 200, body: presentOpened(opened) };
  },
);
