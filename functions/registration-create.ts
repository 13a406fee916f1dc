import { presentRegistration } from "../core/registration/presenters";
import { registerUser } from "../core/registration/register-user";
import { registrationBodySchema, registrationResponseSchema } from "../core/registration/schemas";
import { httpRoute } from "../runtime/http/route";
import { registerUserDeps } from "../runtime/registration";

export const handler = httpRoute(
  {
    method: "POST",
    path: "/v1/registrations",
    summary:
      "Register a bot user (the bot's /setapi): in one transaction the user and its identifier mapping, the sealed exchange credentials and " +
      "default settings of every type it lacks. 201 created, 200 when these identifiers already name that user (a replay); 409 when they belong to another",
    auth: ["service"],
    body: registrationBodySchema,
    responses: { 200: registrationResponseSchema, 201: registrationResponseSchema },
  },
  async ({ body, principal }) => {
    const registered = await registerUser(registerUserDeps(), {
      telegramId: body.telegramId,
      okxUid: body.okxUid,
      exchange: body.exchange,
      credentials: { apiKey: body.apiKey, secretKey: body.secret, passphrase: body.passphrase },
      actor: principal.subject,
    });
    return { status: registered.created ? 201 : 200, body: presentRegistration(registered) };
  },
);
