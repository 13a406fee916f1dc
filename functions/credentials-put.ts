import { credentialsBodySchema, credentialsParamsSchema } from "../core/credentials/schemas";
import { putCredentials } from "../core/credentials/put-credentials";
import { parseUserRef } from "../core/identity/user-ref";
import { putCredentialsDeps } from "../runtime/credentials";
import { httpRoute } from "../runtime/http/route";

export const handler = httpRoute(
  {
    method: "PUT",
    path: "/v1/users/{ref}/credentials/{exchange}",
    summary: "Store a user's exchange API credentials, each value sealed with AES-256-GCM (204); replaces what was stored",
    auth: ["user", "service", "admin"],
    params: credentialsParamsSchema,
    body: credentialsBodySchema,
    responses: { 204: null },
  },
  async ({ params, body, principal }) => {
    const credentials = { apiKey: body.apiKey, secretKey: body.secret, passphrase: body.passphrase };
    await putCredentials(putCredentialsDeps(), { principal, ref: parseUserRef(params.ref), exchange: params.exchange, credentials });
    return { status: 204 };
  },
);
