import type { BotRegistration, RegistrationInput } from "../telegram/ports";
import { registerUser } from "./register-user";
import type { RegisterUserDeps } from "./register-user";

/** The bot's /setapi through the same use case as POST /v1/registrations (OKX keys, verified by the command first). */
export function botRegistration(deps: RegisterUserDeps): BotRegistration {
  return {
    async register(input: RegistrationInput) {
      const registered = await registerUser(deps, { ...input, exchange: "okx", actor: `telegram:${input.telegramId}` });
      return { userId: registered.userId, created: registered.created };
    },
  };
}
